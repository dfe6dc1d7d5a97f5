"""A hosted MCP client connects with the URL alone: the official `mcp` client's OAuth provider discovers the
authorization server from the 401, registers (or names its metadata document), sends the user to sign in
and consent, exchanges the code with PKCE, calls tools, refreshes, and is refused once revoked."""

from __future__ import annotations

import io
import time

import httpx
import pytest
from django.core.management import call_command

from accounts.models import ApiKey, ApiKeyKind
from audit.models import PublicApiAccess
from features.switches import set_switch
from oauth.models import OAuthClient, Registration
from tests.conftest import LiveServer
from tests.factories import make_case, make_tenant, make_user
from tests.mcp_helpers import RawMcp
from tests.oauth_support import PASSWORD, Browser, MetadataHost, OfficialClient, connect

ACCESS_SECONDS = 3


@pytest.fixture(scope="module")
def metadata_host(tmp_path_factory) -> MetadataHost:
    host = MetadataHost(tmp_path_factory.mktemp("cimd"))
    yield host
    host.stop()


def oauth_env(metadata_host: MetadataHost) -> dict[str, str]:
    """Access tokens that live ACCESS_SECONDS (so a test sees a refresh), and client metadata documents
    fetched from the loopback HTTPS server (a test aid: outside tests, public HTTPS hosts only)."""
    return {"OAUTH_ACCESS_TOKEN_SECONDS": str(ACCESS_SECONDS), "OAUTH_CLIENT_METADATA_ALLOW_LOOPBACK": "true",
            "OAUTH_CLIENT_METADATA_CA_BUNDLE": str(metadata_host.ca_path),
            "OAUTH_CLIENT_METADATA_TIMEOUT_SECONDS": "1.5"}


@pytest.fixture(scope="module")
def oauth_server(django_db_setup, django_db_blocker, metadata_host):
    with django_db_blocker.unblock():
        server = LiveServer(oauth_env(metadata_host))
    yield server
    server.stop()


@pytest.fixture
def admin_site(start_server, metadata_host) -> str:
    """A server of the test's own, for a test that changes things in the admin: the admin logs each change
    with a content type id its workers cache, and the flush between tests re-creates those under new ids."""
    from django.core.cache import cache

    cache.clear()
    return start_server(**oauth_env(metadata_host)).url


@pytest.fixture
def site(oauth_server, transactional_db) -> str:
    from django.core.cache import cache

    cache.clear()
    return oauth_server.url


@pytest.fixture
def world(transactional_db):
    acme, globex = make_tenant("Acme"), make_tenant("Globex")
    case = make_case(acme, name="Phishing wave", severity="Medium")
    make_case(globex, name="Globex case")
    analyst = make_user("analyst", tenants=[acme, globex], password=PASSWORD)
    return {"acme": acme, "globex": globex, "case": case, "analyst": analyst}


async def _tools_and_a_call(client):
    tools = sorted(tool.name for tool in (await client.list_tools()).tools)
    listing = await client.call_tool("listCases", {"limit": 5})
    return tools, listing


def test_a_client_with_the_url_alone_signs_in_registers_and_calls_tools(site, world):
    client = OfficialClient(site, Browser(site, "analyst"))
    tools, listing = client.session(_tools_and_a_call)
    assert client.sign_ins == 1
    assert "updateCase" in tools and "listCases" in tools
    assert not listing.is_error
    assert {c["name"] for c in listing.structured_content["cases"]} == {"Phishing wave", "Globex case"}

    registered = OAuthClient.objects.get()
    assert (registered.name, registered.registration) == ("Test MCP client", Registration.DCR)
    grant = ApiKey.objects.get(kind=ApiKeyKind.OAUTH)
    assert (grant.user, grant.name, grant.scope, grant.restricted) == (world["analyst"], "Test MCP client",
                                                                      "read_write", False)
    # The audit names the user and the grant, with the app's name.
    row = PublicApiAccess.objects.filter(tool="listCases").latest("id")
    assert (row.username, row.key_public_id, row.key_name) == ("analyst", grant.public_id, "Test MCP client")
    assert client.storage.tokens.access_token.startswith("soa-")
    assert client.storage.tokens.refresh_token.startswith("sor-")

    # Past the access token's lifetime, the client refreshes (a new refresh token each time) without the user.
    first_refresh = client.storage.tokens.refresh_token
    time.sleep(ACCESS_SECONDS + 0.5)
    tools_again, _ = client.session(_tools_and_a_call)
    assert tools_again == tools and client.sign_ins == 1
    assert client.storage.tokens.refresh_token != first_refresh

    # The client revokes its refresh token (RFC 7009): every token of the grant stops at once.
    access = client.storage.tokens.access_token
    assert RawMcp(site, access).legacy("tools/list").status_code == 200
    answer = httpx.post(f"{site}/oauth/revoke", data={"token": client.storage.tokens.refresh_token,
                                                      "client_id": registered.client_id})
    assert answer.status_code == 200
    refused = RawMcp(site, access).legacy("tools/list")
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]
    again = httpx.post(f"{site}/oauth/token", data={"grant_type": "refresh_token", "client_id": registered.client_id,
                                                    "refresh_token": client.storage.tokens.refresh_token})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_a_client_known_by_its_metadata_document_signs_in_without_registering(site, world, metadata_host):
    url = metadata_host.url("/client.json")
    client = OfficialClient(site, Browser(site, "analyst"), metadata_url=url)
    tools, listing = client.session(_tools_and_a_call)
    assert not listing.is_error and "listCases" in tools
    known = OAuthClient.objects.get()
    assert (known.client_id, known.name, known.registration) == (url, "Hosted client", Registration.CIMD)
    assert ApiKey.objects.get(kind=ApiKeyKind.OAUTH).name == "Hosted client"
    # Cached: a second sign-in does not fetch the document again.
    fetched = metadata_host.requests.count("/client.json")
    OfficialClient(site, Browser(site, "analyst"), metadata_url=url).session(_tools_and_a_call)
    assert metadata_host.requests.count("/client.json") == fetched


def test_a_read_only_grant_hides_and_refuses_update_case(site, world):
    client = OfficialClient(site, Browser(site, "analyst"), choices={"access": "read"})
    tools, _ = client.session(_tools_and_a_call)
    assert "updateCase" not in tools
    raw = RawMcp(site, client.storage.tokens.access_token)
    called = raw.legacy("tools/call", {"name": "updateCase", "arguments": {
        "case_id": world["case"].stellar_id, "severity": "High"}}).json()
    assert "read-only" in str(called).lower()
    world["case"].refresh_from_db()
    assert world["case"].severity == "Medium"
    assert client.storage.tokens.scope == "cases:read"


def test_a_grant_limited_to_one_tenant_sees_only_that_tenant(site, world):
    client = OfficialClient(site, Browser(site, "analyst"), choices={"tenants": [world["acme"].pk]})
    _, listing = client.session(_tools_and_a_call)
    assert {c["name"] for c in listing.structured_content["cases"]} == {"Phishing wave"}
    grant = ApiKey.objects.get(kind=ApiKeyKind.OAUTH)
    assert grant.restricted and [t.cust_id for t in grant.tenants.all()] == [world["acme"].cust_id]


def test_the_profile_page_lists_connected_apps_and_revokes_them(site, world):
    token = connect(site, "analyst")
    raw = RawMcp(site, token["access_token"])
    assert raw.legacy("tools/list").status_code == 200
    browser = Browser(site, "analyst")
    page = browser.open("/profile/api-keys/")
    assert "Connected apps" in page.text and "Manual client" in page.text
    grant = ApiKey.objects.get(kind=ApiKeyKind.OAUTH)
    csrf = browser._csrf(page)
    done = browser.http.post(f"/profile/api-keys/{grant.public_id}/revoke/", data={"csrfmiddlewaretoken": csrf})
    assert done.status_code == 302
    assert raw.legacy("tools/list").status_code == 401
    after = browser.open("/profile/api-keys/").text
    assert "Manual client is disconnected" in after and "No app is connected" in after


def test_deactivating_the_user_refuses_every_token_of_the_grant(site, world):
    token = connect(site, "analyst")
    world["analyst"].is_active = False
    world["analyst"].save()
    assert RawMcp(site, token["access_token"]).legacy("tools/list").status_code == 401
    refresh = httpx.post(f"{site}/oauth/token", data={"grant_type": "refresh_token", "client_id": token["client_id"],
                                                      "refresh_token": token["refresh_token"]})
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"


def test_deleting_an_app_in_the_admin_disconnects_its_users(admin_site, world):
    token = connect(admin_site, "analyst")
    make_user("boss", root=True, is_staff=True, is_superuser=True, password=PASSWORD)
    browser = Browser(admin_site, "boss")
    client = OAuthClient.objects.get()
    page = browser.open(f"/admin/oauth/oauthclient/{client.pk}/delete/")
    assert page.status_code == 200, page.text[:300]
    done = browser.http.post(f"/admin/oauth/oauthclient/{client.pk}/delete/",
                             data={"csrfmiddlewaretoken": browser._csrf(page), "post": "yes"})
    assert done.status_code == 302
    assert not OAuthClient.objects.exists()
    assert RawMcp(admin_site, token["access_token"]).legacy("tools/list").status_code == 401
    assert ApiKey.objects.get(kind=ApiKeyKind.OAUTH).revoked_at is not None


def test_switched_off_registration_and_metadata_documents_are_refused_and_not_advertised(site, world, metadata_host):
    set_switch(name="dcr", enabled=False)
    set_switch(name="cimd", enabled=False)
    metadata = httpx.get(f"{site}/.well-known/oauth-authorization-server").json()
    assert "registration_endpoint" not in metadata
    assert metadata["client_id_metadata_document_supported"] is False
    refused = httpx.post(f"{site}/oauth/register", json={"redirect_uris": ["https://app.example/cb"]})
    assert refused.status_code == 403
    page = httpx.get(f"{site}/oauth/authorize", params={"client_id": metadata_host.url("/client.json"),
                                                        "response_type": "code"})
    assert page.status_code == 400 and "switched them off" in page.text


@pytest.mark.parametrize("path, words", [
    ("/big.json", "larger than 5120 bytes"),
    ("/slow.json", "took too long"),
    ("/redirect.json", "redirects elsewhere"),
    ("/wrong-id.json", "must name its own URL"),
    ("/bad-redirect.json", "must use https"),
    ("/missing.json", "HTTP 404"),
])
def test_an_unusable_metadata_document_is_refused_with_a_reason(site, world, metadata_host, path, words):
    started = time.monotonic()
    page = httpx.get(f"{site}/oauth/authorize", params={"client_id": metadata_host.url(path), "response_type": "code"},
                     timeout=30)
    assert page.status_code == 400 and words in page.text, page.text[-800:]
    assert time.monotonic() - started < 5  # the fetch gave up at its deadline (1.5 s here)
    assert not OAuthClient.objects.exists()


def test_operators_see_grants_with_the_keys_and_revoke_them(admin_site, world):
    token = connect(admin_site, "analyst")
    grant = ApiKey.objects.get(kind=ApiKeyKind.OAUTH)
    out = io.StringIO()
    call_command("list_api_keys", stdout=out)
    line = next(line for line in out.getvalue().splitlines() if line.startswith(grant.public_id))
    assert line.split()[1] == "oauth" and "Manual client" in line and "analyst" in line

    make_user("boss", root=True, is_staff=True, is_superuser=True, password=PASSWORD)
    browser = Browser(admin_site, "boss")
    listing = browser.open("/admin/accounts/apikey/?kind__exact=oauth")
    assert listing.status_code == 200 and grant.public_id in listing.text
    csrf = browser._csrf(listing)
    # A grant is not a key: it cannot be rotated into one.
    rotate = browser.http.post("/admin/accounts/apikey/", data={
        "csrfmiddlewaretoken": csrf, "action": "rotate_keys", "_selected_action": [str(grant.pk)], "confirm": "yes",
        "grace_minutes": "0"})
    assert "OAuth sign-in, not a key" in rotate.text and "sk-stellar-" not in rotate.text
    assert not ApiKey.objects.filter(kind=ApiKeyKind.API_KEY).exists()
    confirm = browser.http.post("/admin/accounts/apikey/", data={
        "csrfmiddlewaretoken": csrf, "action": "revoke_keys", "_selected_action": [str(grant.pk)]})
    assert confirm.status_code == 200 and "reason" in confirm.text
    done = browser.http.post("/admin/accounts/apikey/", data={
        "csrfmiddlewaretoken": csrf, "action": "revoke_keys", "_selected_action": [str(grant.pk)], "confirm": "yes",
        "reason": "app no longer approved"})
    assert done.status_code == 302
    assert RawMcp(admin_site, token["access_token"]).legacy("tools/list").status_code == 401
