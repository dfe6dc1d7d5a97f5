"""Property-based tests of the OAuth endpoints over real HTTP: whatever query, form or body reaches
authorize, token, register or revoke (from a stranger or from a signed-in user), the answer is never a 5xx."""

from __future__ import annotations

import string
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import make_tenant, make_user
from tests.oauth_support import CALLBACK, PASSWORD, Browser, pkce_pair, register

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])
NAMES = ["response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method",
         "resource", "grant_type", "code", "code_verifier", "refresh_token", "token", "token_type_hint", "access",
         "allow", "deny", "tenants", "prompt", "iss"]
text = st.text(max_size=80) | st.text(alphabet=string.printable, max_size=300)


class Target:
    def __init__(self, url: str) -> None:
        tenant = make_tenant("Acme")
        make_user("analyst", tenants=[tenant, make_tenant("Globex")], password=PASSWORD)
        self.client_id = register(url).json()["client_id"]
        self.verifier, self.challenge = pkce_pair()
        self.anonymous = httpx.Client(base_url=url, timeout=30, follow_redirects=False)
        self.browser = Browser(url, "analyst")
        assert self.browser.open("/profile/api-keys/").status_code == 200  # logs in
        assert self.browser.http.cookies.get("csrftoken")

    def values(self) -> st.SearchStrategy[str]:
        known = [self.client_id, CALLBACK, "code", "S256", "plain", self.challenge, self.verifier, "cases:read",
                 "cases:read cases:write", "authorization_code", "refresh_token", "read_write", "read",
                 "https://127.0.0.1:1/client.json", "http://[::1", "https://[zz]/x"]
        return st.sampled_from(known) | text

    def params(self) -> st.SearchStrategy[list[tuple[str, str]]]:
        return st.lists(st.tuples(st.sampled_from(NAMES) | st.text(max_size=10), self.values()), max_size=10)


def assert_answered(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:500])


@pytest.fixture
def target(live_url, transactional_db) -> Target:
    return Target(live_url)


@FUZZ
@given(data=st.data(), signed_in=st.booleans(), method=st.sampled_from(["GET", "POST", "PUT", "HEAD"]))
def test_authorize_never_fails_with_a_server_error(target, data, signed_in, method):
    params = data.draw(target.params())
    http = target.browser.http if signed_in else target.anonymous
    form = data.draw(target.params()) if method == "POST" else None
    if signed_in and method == "POST":
        # With the session's CSRF token, so the form itself is reached, not only the CSRF check.
        form = [*(form or []), ("csrfmiddlewaretoken", http.cookies.get("csrftoken") or "")]
        http.headers["Referer"] = str(http.base_url)
    body = urlencode(form).encode() if form is not None else None
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if form is not None else {}
    assert_answered(http.request(method, "/oauth/authorize", params=params, content=body, headers=headers))


@FUZZ
@given(data=st.data(), path=st.sampled_from(["/oauth/token", "/oauth/revoke", "/oauth/register"]),
       content_type=st.sampled_from(["application/x-www-form-urlencoded", "application/json", "text/plain",
                                     "multipart/form-data; boundary=x"]))
def test_token_revoke_and_register_never_fail_with_a_server_error(target, data, path, content_type):
    if data.draw(st.booleans()):
        body = "&".join(f"{quote(k)}={quote(v)}" for k, v in data.draw(target.params())).encode()
    else:
        body = data.draw(st.binary(max_size=400) | text.map(str.encode))
    response = target.anonymous.post(path, content=body, headers={"Content-Type": content_type})
    assert_answered(response)
    assert response.headers.get("content-type", "").startswith("application/json") or not response.content


@FUZZ
@given(metadata=st.dictionaries(st.sampled_from(["redirect_uris", "client_name", "grant_types", "response_types",
                                                 "token_endpoint_auth_method", "scope", "client_uri"]),
                                st.recursive(st.none() | st.booleans() | st.integers() | text,
                                             lambda inner: st.lists(inner, max_size=4), max_leaves=8)))
def test_any_registration_document_is_answered(target, metadata):
    response = target.anonymous.post("/oauth/register", json=metadata)
    assert_answered(response)
    assert response.status_code in (201, 400, 429), response.text


# Malformed authorities only: a host of brackets, colons and the like never reaches a DNS server or a socket.
client_id_urls = st.builds(lambda scheme, host, port, path: f"{scheme}://{host}{port}{path}",
                           st.sampled_from(["https", "http", "HTTPS", "ftp"]),
                           st.text(alphabet="[]:%@.", max_size=8),
                           st.sampled_from(["", ":", ":0", ":443", ":99999", ":x"]),
                           st.sampled_from(["", "/", "/client.json", "/a b", "#frag", "?q=1"]))


@FUZZ
@given(client_id=client_id_urls, signed_in=st.booleans())
def test_any_client_id_url_is_answered(target, client_id, signed_in):
    http = target.browser.http if signed_in else target.anonymous
    response = http.get("/oauth/authorize", params={"client_id": client_id, "response_type": "code"})
    assert_answered(response)
    assert response.status_code == 400, response.text[:300]
