"""What the authorization server and the resource refuse, and how: PKCE S256 only, exact redirect URIs,
this resource only (RFC 8707), no implicit or password grants, single-use codes and refresh tokens (a
second use disconnects the grant), tokens of another audience, kind or age, and registrations with unsafe
redirect URIs. Each refusal is an OAuth error (a redirect to the client once the client and its redirect
URI are trusted, a page before that), never a 5xx."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from accounts.models import ApiKey, ApiKeyKind
from accounts.services import api_key_create
from accounts.tokens import access_token_encode, oauth_token_encode
from oauth.models import AuthorizationCode
from tests.factories import make_case, make_tenant, make_user
from tests.mcp_helpers import RawMcp
from tests.oauth_support import CALLBACK, PASSWORD, Browser, authorize_url, connect, exchange, pkce_pair, query_of, \
    register


@pytest.fixture
def analyst(transactional_db):
    tenant = make_tenant("Acme")
    make_case(tenant, name="A case")
    return make_user("analyst", tenants=[tenant], password=PASSWORD)


@pytest.fixture
def client_id(live_url) -> str:
    answer = register(live_url)
    assert answer.status_code == 201, answer.text
    return answer.json()["client_id"]


def _redirect_error(answer: httpx.Response) -> dict[str, str]:
    assert answer.status_code == 302, (answer.status_code, answer.text[:300])
    assert answer.headers["location"].startswith(CALLBACK)
    return query_of(answer.headers["location"])


# --- discovery ---------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/.well-known/oauth-protected-resource/mcp/", "/.well-known/oauth-protected-resource/mcp",
                                  "/.well-known/oauth-protected-resource"])
def test_protected_resource_metadata(live_url, path):
    answer = httpx.get(live_url + path)
    assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == "*"
    assert answer.json() == {"resource": f"{live_url}/mcp/", "authorization_servers": [f"{live_url}/"],
                             "scopes_supported": ["cases:read", "cases:write"], "bearer_methods_supported": ["header"],
                             "resource_name": "Stellar Cyber MCP Server"}


def test_authorization_server_metadata(live_url):
    metadata = httpx.get(f"{live_url}/.well-known/oauth-authorization-server").json()
    assert metadata["issuer"] == f"{live_url}/"
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert metadata["client_id_metadata_document_supported"] is True
    assert metadata["registration_endpoint"] == f"{live_url}/oauth/register"
    assert metadata["token_endpoint_auth_methods_supported"] == ["none"]
    preflight = httpx.options(f"{live_url}/oauth/token", headers={"Origin": "https://claude.ai",
                                                                  "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204 and preflight.headers["access-control-allow-origin"] == "*"


def test_the_public_url_setting_names_the_issuer_and_resource_behind_a_proxy(start_server):
    server = start_server(MCP_PUBLIC_URL="https://mcp.example.com")
    assert httpx.get(f"{server.url}/.well-known/oauth-authorization-server").json()["issuer"] == "https://mcp.example.com/"
    challenge = httpx.post(f"{server.url}/mcp/", json={}).headers["www-authenticate"]
    assert 'resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp/"' in challenge


# --- authorization requests ----------------------------------------------------------------------
def test_the_authorization_response_carries_the_issuer_and_state(live_url, analyst, client_id):
    _, challenge = pkce_pair()
    answer = Browser(live_url, "analyst").sign_in(authorize_url(live_url, client_id, challenge=challenge, state="xyz"))
    assert answer["iss"] == f"{live_url}/" and answer["state"] == "xyz" and answer["code"]


@pytest.mark.parametrize("pkce, description", [
    ({}, "missing"),  # no code_challenge at all
    ({"method": "plain"}, "plain"),
    ({"method": None}, "no method (plain by default)"),
])
def test_pkce_s256_is_required(live_url, analyst, client_id, pkce, description):
    _, challenge = pkce_pair()
    url = authorize_url(live_url, client_id, challenge=None if not pkce else challenge, **pkce)
    answer = _redirect_error(httpx.get(url))
    assert answer["error"] == "invalid_request", description
    assert answer["iss"] == f"{live_url}/" and answer["state"] == "s1"


@pytest.mark.parametrize("response_type", ["token", "code token", "id_token"])
def test_no_implicit_grant(live_url, analyst, client_id, response_type):
    _, challenge = pkce_pair()
    answer = _redirect_error(httpx.get(authorize_url(live_url, client_id, challenge=challenge,
                                                     response_type=response_type)))
    assert answer["error"] in ("unsupported_response_type", "unauthorized_client")


def test_an_unregistered_redirect_uri_gets_a_page_not_a_redirect(live_url, analyst, client_id):
    _, challenge = pkce_pair()
    for uri in ("https://attacker.example/cb", CALLBACK + "/more", "http://127.0.0.1:1/callback"):
        page = httpx.get(authorize_url(live_url, client_id, challenge=challenge, redirect_uri=uri))
        assert page.status_code == 400 and "location" not in page.headers
        assert "not valid" in page.text


def test_an_unknown_client_gets_a_page(live_url, analyst):
    page = httpx.get(authorize_url(live_url, "mcp_nobody", challenge="x" * 43))
    assert page.status_code == 400 and "unknown client_id" in page.text


def test_another_resource_is_refused(live_url, analyst, client_id):
    _, challenge = pkce_pair()
    answer = _redirect_error(httpx.get(authorize_url(live_url, client_id, challenge=challenge,
                                                     resource="https://other.example/mcp/")))
    assert answer["error"] == "invalid_target"


def test_denying_sends_access_denied_back(live_url, analyst, client_id):
    _, challenge = pkce_pair()
    url = authorize_url(live_url, client_id, challenge=challenge)
    answer = _redirect_error(Browser(live_url, "analyst").consent(url, deny=True))
    assert (answer["error"], answer["state"], answer["iss"]) == ("access_denied", "s1", f"{live_url}/")
    assert not ApiKey.objects.filter(kind=ApiKeyKind.OAUTH).exists()


def test_read_write_is_offered_only_when_the_client_asks_to_write(live_url, analyst, client_id):
    _, challenge = pkce_pair()
    browser = Browser(live_url, "analyst")
    page = browser.open(authorize_url(live_url, client_id, challenge=challenge, scope="cases:read"))
    assert page.status_code == 200 and 'value="read_write"' not in page.text
    refused = browser.consent(authorize_url(live_url, client_id, challenge=challenge, scope="cases:read"),
                              access="read_write")
    assert refused.status_code == 200  # the form again, with its error; nothing granted
    assert not AuthorizationCode.objects.exists()


# --- the token endpoint ----------------------------------------------------------------------------
def _code(live_url: str, client_id: str) -> tuple[str, str]:
    verifier, challenge = pkce_pair()
    answer = Browser(live_url, "analyst").sign_in(authorize_url(live_url, client_id, challenge=challenge))
    return answer["code"], verifier


def test_the_code_needs_its_verifier_redirect_uri_and_client(live_url, analyst, client_id):
    code, verifier = _code(live_url, client_id)
    other_client = register(live_url).json()["client_id"]
    for form, error in [({"code_verifier": pkce_pair()[0]}, "invalid_grant"),
                        ({}, "invalid_request"),  # no verifier
                        ({"code_verifier": verifier, "redirect_uri": "http://127.0.0.1:2/cb"}, "invalid_request"),
                        ({"code_verifier": verifier, "client_id": other_client}, "invalid_grant"),
                        ({"code_verifier": verifier, "resource": "https://other.example/mcp/"}, "invalid_target")]:
        answer = exchange(live_url, **{"code": code, "client_id": client_id, **form})
        assert answer.status_code == 400 and answer.json()["error"] == error, (form, answer.text)
        assert answer.headers["cache-control"] == "no-store"
    assert exchange(live_url, code=code, code_verifier=verifier, client_id=client_id).status_code == 200


def test_a_code_used_twice_disconnects_what_it_gave(live_url, analyst, client_id):
    code, verifier = _code(live_url, client_id)
    first = exchange(live_url, code=code, code_verifier=verifier, client_id=client_id).json()
    assert RawMcp(live_url, first["access_token"]).legacy("tools/list").status_code == 200
    again = exchange(live_url, code=code, code_verifier=verifier, client_id=client_id)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert RawMcp(live_url, first["access_token"]).legacy("tools/list").status_code == 401


def test_an_expired_code_is_refused(live_url, analyst, client_id):
    code, verifier = _code(live_url, client_id)
    AuthorizationCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    answer = exchange(live_url, code=code, code_verifier=verifier, client_id=client_id)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("grant_type", ["password", "client_credentials", "implicit",
                                        "urn:ietf:params:oauth:grant-type:device_code"])
def test_only_code_and_refresh_grants(live_url, analyst, client_id, grant_type):
    answer = httpx.post(f"{live_url}/oauth/token", data={"grant_type": grant_type, "client_id": client_id,
                                                         "username": "analyst", "password": PASSWORD})
    assert answer.status_code == 400 and answer.json()["error"] == "unsupported_grant_type"


def test_a_refresh_token_used_twice_disconnects_the_grant(live_url, analyst):
    token = connect(live_url, "analyst")
    form = {"grant_type": "refresh_token", "client_id": token["client_id"], "refresh_token": token["refresh_token"]}
    fresh = httpx.post(f"{live_url}/oauth/token", data=form)
    assert fresh.status_code == 200
    new = fresh.json()
    assert new["refresh_token"] != token["refresh_token"] and new["scope"] == "cases:read cases:write"
    assert RawMcp(live_url, new["access_token"]).legacy("tools/list").status_code == 200
    stolen = httpx.post(f"{live_url}/oauth/token", data=form)
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    assert RawMcp(live_url, new["access_token"]).legacy("tools/list").status_code == 401
    assert httpx.post(f"{live_url}/oauth/token", data={**form, "refresh_token": new["refresh_token"]}).status_code == 400


def test_a_refresh_cannot_widen_the_scope(live_url, analyst):
    token = connect(live_url, "analyst", access="read")
    answer = httpx.post(f"{live_url}/oauth/token", data={
        "grant_type": "refresh_token", "client_id": token["client_id"], "refresh_token": token["refresh_token"],
        "scope": "cases:read cases:write"})
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_scope"


# --- the resource: which tokens it takes -------------------------------------------------------------
def test_tokens_of_another_audience_kind_or_age_are_401(live_url, analyst):
    token = connect(live_url, "analyst")
    grant = ApiKey.objects.get(kind=ApiKeyKind.OAUTH)
    key, plaintext = api_key_create(user=analyst, name="pasted key")
    soon, resource = int(time.time()) + 300, f"{live_url}/mcp/"
    assert RawMcp(live_url, token["access_token"]).legacy("tools/list").status_code == 200
    refused = {
        "another audience": oauth_token_encode(grant.public_id, soon, "https://other.example/mcp/"),
        "expired": oauth_token_encode(grant.public_id, int(time.time()) - 1, resource),
        "an API key's id in an OAuth token": oauth_token_encode(key.public_id, soon, resource),
        "a grant's id in an API key token": access_token_encode(grant.public_id, soon),
        "a refresh token": token["refresh_token"],
    }
    for what, bearer in refused.items():
        answer = RawMcp(live_url, bearer).legacy("tools/list")
        assert answer.status_code == 401, what
        assert 'resource_metadata="' in answer.headers["www-authenticate"], what
    # The pasted key keeps working as before; the Public API takes no OAuth token (it is not this resource).
    assert RawMcp(live_url, plaintext).legacy("tools/list").status_code == 200
    rest = httpx.get(f"{live_url}/connect/api/v1/cases", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert rest.status_code == 401


def test_revoking_the_access_token_disconnects_the_grant(live_url, analyst):
    token = connect(live_url, "analyst")
    other_client = register(live_url).json()["client_id"]
    # Another client cannot revoke it.
    httpx.post(f"{live_url}/oauth/revoke", data={"token": token["access_token"], "client_id": other_client})
    assert RawMcp(live_url, token["access_token"]).legacy("tools/list").status_code == 200
    answer = httpx.post(f"{live_url}/oauth/revoke", data={"token": token["access_token"], "client_id": token["client_id"]})
    assert answer.status_code == 200
    assert RawMcp(live_url, token["access_token"]).legacy("tools/list").status_code == 401


def test_an_oauth_grant_cannot_mint_api_key_tokens(live_url, analyst):
    token = connect(live_url, "analyst")
    answer = RawMcp(live_url, token["access_token"]).legacy("tools/call", {"name": "get_access_token", "arguments": {}})
    assert answer.status_code == 200 and answer.json()["result"]["isError"] is True


# --- registration ----------------------------------------------------------------------------------
@pytest.mark.parametrize("metadata, error", [
    ({"redirect_uris": ["http://app.example/cb"]}, "invalid_redirect_uri"),
    ({"redirect_uris": ["javascript:alert(1)"]}, "invalid_redirect_uri"),
    ({"redirect_uris": ["https://app.example/cb#frag"]}, "invalid_redirect_uri"),
    ({"redirect_uris": ["https://user:pw@app.example/cb"]}, "invalid_redirect_uri"),
    ({"redirect_uris": []}, "invalid_redirect_uri"),
    ({"redirect_uris": "https://app.example/cb"}, "invalid_redirect_uri"),
    ({"grant_types": ["authorization_code", "password"]}, "invalid_client_metadata"),
    ({"response_types": ["token"]}, "invalid_client_metadata"),
    ({"client_name": ["x"]}, "invalid_client_metadata"),
])
def test_registration_refuses_unsafe_metadata(live_url, metadata, error):
    answer = register(live_url, **metadata)
    assert answer.status_code == 400 and answer.json()["error"] == error, answer.text


def test_registration_answers_a_public_client(live_url):
    answer = register(live_url, redirect_uris=["https://app.example/cb", "http://localhost:9/cb", "http://[::1]:9/cb"],
                      token_endpoint_auth_method="client_secret_basic")
    assert answer.status_code == 201
    body = answer.json()
    assert body["token_endpoint_auth_method"] == "none" and "client_secret" not in body
    assert body["redirect_uris"] == ["https://app.example/cb", "http://localhost:9/cb", "http://[::1]:9/cb"]


def test_registration_is_limited_per_address(live_url, settings):
    from django.conf import settings as django_settings

    for _ in range(django_settings.OAUTH_REGISTRATIONS_PER_HOUR):
        assert register(live_url).status_code == 201
    refused = register(live_url)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0


@pytest.mark.parametrize("body", [b"not json", b"[" * 5000, b"[]", b'"x"', b"{}"])
def test_registration_refuses_what_is_not_metadata(live_url, body):
    answer = httpx.post(f"{live_url}/oauth/register", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400


def test_oversized_requests_are_413(live_url):
    for path in ("/oauth/register", "/oauth/token", "/oauth/revoke"):
        assert httpx.post(live_url + path, content=b"a=" + b"x" * 20_000).status_code == 413


# --- client metadata documents: public HTTPS only ------------------------------------------------
@pytest.mark.parametrize("client_id, words", [
    ("http://127.0.0.1:9/client.json", "https"),
    ("http://app.example/client.json", "https"),
    ("https://127.0.0.1:9/client.json", "not a public address"),
    ("https://localhost:9/client.json", "not a public address"),
    ("https://10.0.0.1/client.json", "not a public address"),
    ("https://[::1]/client.json", "not a public address"),
    ("https://169.254.169.254/latest/meta-data.json", "not a public address"),
    ("https://app.example/", "path"),
    ("https://[zz]/client.json", "not a valid URL"),
    ("http://[::1", "not a valid URL"),
    ("https://app.example:99999/client.json", "not a valid URL"),
    ("https://a b/client.json", "does not resolve"),
])
def test_metadata_documents_come_from_public_https_hosts_only(live_url, client_id, words):
    page = httpx.get(authorize_url(live_url, client_id, challenge="x" * 43))
    assert page.status_code == 400 and words in page.text
