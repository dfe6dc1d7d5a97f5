"""Signing an app in, in a real browser: the login, the consent page (labelled, keyboard-usable), the
redirect back with the code, and the app under Profile | Connected apps until revoked. And the console's
own name and its System section."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.browser import log_in, unlabelled_fields, own_live_url  # noqa: F401  (own_live_url: this module's live_url)
from tests.factories import make_tenant, make_user
from tests.mcp_helpers import RawMcp
from tests.oauth_support import CALLBACK, PASSWORD, authorize_url, exchange, pkce_pair, register


def test_an_analyst_connects_an_app_read_only_and_disconnects_it(browser_page, live_url):
    make_user("analyst", tenants=[make_tenant("Acme"), make_tenant("Globex")], password=PASSWORD)
    client_id = register(live_url, client_name="Claude").json()["client_id"]
    verifier, challenge = pkce_pair()
    page = browser_page
    page.goto(authorize_url(live_url, client_id, challenge=challenge))
    page.get_by_label("Username").fill("analyst")
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_label("Password").press("Enter")
    assert "Connect Claude" in page.content() and "127.0.0.1:33418" in page.content()
    assert unlabelled_fields(page) == []
    page.get_by_label("Read only").check()
    page.get_by_label("Acme").check()
    # The browser is sent back to the app's loopback address (nothing listens there in this test).
    with page.expect_request(lambda request: request.url.startswith(CALLBACK)) as callback:
        page.get_by_role("button", name="Allow").click()
    answer = {k: v[0] for k, v in parse_qs(urlsplit(callback.value.url).query).items()}
    assert answer["iss"] == f"{live_url}/" and answer["state"] == "s1"
    token = exchange(live_url, code=answer["code"], code_verifier=verifier, client_id=client_id).json()
    assert token["scope"] == "cases:read"
    raw = RawMcp(live_url, token["access_token"])
    assert [t["cust_name"] for t in raw.call("listTenant")["result"]["structuredContent"]["tenants"]] == ["Acme"]

    page.goto("/profile/api-keys/")
    apps = page.locator("#connected-apps")
    assert "Claude" in apps.inner_text() and "Read only" in apps.inner_text() and "Acme" in apps.inner_text()
    with page.expect_navigation():
        apps.get_by_role("button", name="Revoke").click()
    assert "Claude is disconnected" in page.content()
    assert raw.legacy("tools/list").status_code == 401


def test_the_console_carries_the_products_name_and_groups_the_system(browser_page, live_url):
    make_user("boss", root=True, is_staff=True, is_superuser=True, password=PASSWORD)
    page = browser_page
    log_in(page, "boss", PASSWORD, path="/admin/login/?next=/admin/")
    assert page.title().endswith("Stellar Cyber MCP Server")
    assert page.locator("#site-name").inner_text() == "Stellar Cyber MCP Server"
    system = page.locator(".app-system")
    names = [n.strip() for n in system.locator("th[scope=row]").all_inner_texts()]
    assert names == ["Users", "Tenant access", "API keys", "Activity Log", "Feature settings", "OAuth clients"]
    with page.expect_navigation():
        system.get_by_role("link", name="Activity Log").click()
    assert "/admin/audit/publicapiaccess/" in page.url
