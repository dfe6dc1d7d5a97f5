"""Profile | API Keys in a real browser, as an analyst uses it: log in, create a read-only key, copy it,
reload (the key is not shown again), revoke it; with the keyboard only; every field labelled."""

from __future__ import annotations

import re

import httpx

from accounts.models import ApiKey
from tests.browser import log_in, unlabelled_fields, own_live_url  # noqa: F401  (own_live_url: this module's live_url)
from tests.factories import make_tenant, make_user

PASSWORD = "correct horse battery staple"
KEY = re.compile(r"sk-stellar-[A-Za-z0-9]+")


def test_an_analyst_creates_copies_and_revokes_a_key(browser_page, live_url):
    make_user("analyst", tenants=[make_tenant("Acme"), make_tenant("Globex")], password=PASSWORD)
    page = browser_page
    log_in(page, "analyst", PASSWORD, path="/profile/api-keys/")
    assert page.url.endswith("/profile/api-keys/")
    assert unlabelled_fields(page) == []

    page.get_by_label("Name").fill("Claude Code on my laptop")
    page.get_by_label("Read only").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Create API Key").click()
    plaintext = KEY.search(page.locator("code.api-key").inner_text())[0]
    assert f'--header "Authorization: Bearer {plaintext}"' in page.locator("pre").first.inner_text()
    assert '"Authorization": "Bearer ' + plaintext in page.locator("pre").nth(1).inner_text()

    page.get_by_role("button", name=re.compile("Copy the API key")).click()
    page.get_by_text("Copied.").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == plaintext

    # The key works, read-only; a reload shows the list, not the key, and creates nothing.
    assert httpx.post(f"{live_url}/mcp/", json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                      headers={"Authorization": f"Bearer {plaintext}"}).status_code == 200
    page.reload()
    assert plaintext not in page.content() and "Claude Code on my laptop" in page.content()
    assert ApiKey.objects.count() == 1 and ApiKey.objects.get().scope == "read"

    with page.expect_navigation():
        page.get_by_role("button", name="Revoke").click()
    assert "is revoked" in page.content()
    assert httpx.post(f"{live_url}/mcp/", json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                      headers={"Authorization": f"Bearer {plaintext}"}).status_code == 401


def test_the_profile_page_works_with_the_keyboard_alone(browser_page, live_url):
    make_user("analyst", tenants=[make_tenant("Acme")], password=PASSWORD)
    page = browser_page
    log_in(page, "analyst", PASSWORD, path="/profile/api-keys/")
    page.get_by_label("Name").focus()
    page.keyboard.type("keyboard key")
    # Tab to the submit button and press it: nothing on the way needs a mouse.
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.value") == "Create API Key":
            break
    else:
        raise AssertionError("Create API Key cannot be reached with Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert KEY.search(page.content()) and ApiKey.objects.get().name == "keyboard key"
