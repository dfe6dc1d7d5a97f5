"""The operator's console in a real browser: the Activity Log (filter, a row, CSV export), the dashboard's
charts, revoking and rotating a key, and the MCP feature switch, as an operator clicks through them."""

from __future__ import annotations

import csv
import io

import httpx

from accounts.models import ApiKey
from accounts.services import api_key_create
from tests.browser import log_in, unlabelled_fields, own_live_url  # noqa: F401  (own_live_url: this module's live_url)
from tests.factories import make_case, make_tenant, make_user
from tests.mcp_helpers import RawMcp

PASSWORD = "correct horse battery staple"


def operator(page) -> None:
    make_user("boss", root=True, is_staff=True, is_superuser=True, password=PASSWORD)
    log_in(page, "boss", PASSWORD, path="/admin/login/?next=/admin/")


def ping(url: str, key: str) -> int:
    return httpx.post(f"{url}/mcp/", json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                      headers={"Authorization": f"Bearer {key}"}).status_code


def test_the_activity_log_filters_opens_a_row_and_exports(browser_page, live_url):
    acme = make_tenant("Acme")
    case = make_case(acme, name="Phishing wave")
    analyst = make_user("analyst", tenants=[acme])
    raw = RawMcp(live_url, api_key_create(user=analyst, name="laptop")[1])
    raw.call("listCases", {"created_within": "1d"})
    raw.call("getCaseDetail", {"_id": case.stellar_id})
    RawMcp(live_url, api_key_create(user=make_user("other", tenants=[acme]), name="x")[1]).call("listTenant")
    page = browser_page
    operator(page)
    page.get_by_role("link", name="Activity Log").first.click()
    page.locator("#changelist-filter").get_by_role("link", name="analyst", exact=True).click()
    page.locator("#changelist-filter").get_by_role("link", name="Public API access", exact=True).click()
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 2 and "other" not in page.locator("#result_list").inner_text()
    assert "getCaseDetail" in rows.first.inner_text()
    with page.expect_navigation():
        rows.first.locator("th a, td a").first.click()
    assert "getCaseDetail" in page.content() and case.stellar_id in page.content()
    size = page.locator(".field-response_bytes .readonly").inner_text()
    assert int(size) > 100  # the case detail's JSON, as the client received it
    # The row links to the case it touched.
    with page.expect_navigation():
        page.get_by_role("link", name=case.stellar_id).click()
    assert "Phishing wave" in page.locator("#result_list").inner_text()
    page.go_back()
    page.go_back()
    page.locator("#action-toggle").check()
    page.locator("select[name=action]").select_option("export_csv")
    with page.expect_download() as download:
        page.get_by_role("button", name="Go").click()
    exported = list(csv.DictReader(io.StringIO(open(download.value.path()).read())))
    assert sorted(r["tool"] for r in exported) == ["getCaseDetail", "listCases"]
    assert {r["username"] for r in exported} == {"analyst"}


def test_the_dashboard_draws_every_chart_with_data(browser_page, live_url):
    acme = make_tenant("Acme")
    raw = RawMcp(live_url, api_key_create(user=make_user("analyst", tenants=[acme]), name="k")[1])
    for tool in ("listTenant", "listCases", "listTenant"):
        raw.call(tool, {})
    RawMcp(live_url, "sk-stellar-not-a-key").call("listTenant")  # refused: the refused calls' charts
    read_only = RawMcp(live_url, api_key_create(user=make_user("viewer", tenants=[acme]), name="ro", scope="read")[1])
    read_only.call("updateCase", {"_id": "0" * 24, "severity": "Low"})
    page = browser_page
    operator(page)
    page.goto("/admin/audit/publicapiaccess/dashboard/")
    charts = page.locator("svg.audit-chart")
    assert charts.count() >= 4
    for n in range(charts.count()):
        drawn = charts.nth(n).locator("rect, path, polyline, circle")
        assert drawn.count() > 0, f"chart {n} is empty"


def test_an_operator_rotates_with_a_grace_period_then_revokes(browser_page, live_url):
    old_key = api_key_create(user=make_user("analyst", tenants=[make_tenant("Acme")]), name="laptop")[1]
    page = browser_page
    operator(page)
    page.goto("/admin/accounts/apikey/")
    page.locator("input[name=_selected_action]").first.check()
    page.locator("select[name=action]").select_option("rotate_keys")
    page.get_by_role("button", name="Go").click()
    assert unlabelled_fields(page) == []
    page.get_by_label("Grace period (minutes)").fill("30")
    with page.expect_navigation():
        page.get_by_role("button", name="Rotate").click()
    new_key = page.locator("code.api-key").inner_text()
    assert new_key.startswith("sk-stellar-") and new_key != old_key
    assert ping(live_url, old_key) == 200 and ping(live_url, new_key) == 200  # the old one works 30 minutes more

    page.goto("/admin/accounts/apikey/?state=active")
    new_row = ApiKey.objects.get(rotated_from__isnull=False)
    page.locator(f"input[name=_selected_action][value='{new_row.pk}']").check()
    page.locator("select[name=action]").select_option("revoke_keys")
    page.get_by_role("button", name="Go").click()
    page.get_by_label("Reason").fill("laptop lost")
    with page.expect_navigation():
        page.get_by_role("button", name="Revoke").click()
    assert "Revoked 1 API key" in page.content()
    assert ping(live_url, new_key) == 401


def test_an_operator_switches_the_mcp_server_off_and_on(browser_page, live_url):
    key = api_key_create(user=make_user("analyst", tenants=[make_tenant("Acme")]), name="k")[1]
    page = browser_page
    operator(page)
    page.goto("/admin/features/featuresettings/")
    with page.expect_navigation():
        page.locator("#result_list tbody a").first.click()
    assert unlabelled_fields(page) == []
    page.get_by_label("MCP server enabled").uncheck()
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    assert ping(live_url, key) == 503
    page.goto("/admin/features/featuresettings/")
    with page.expect_navigation():
        page.locator("#result_list tbody a").first.click()
    page.get_by_label("MCP server enabled").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    assert ping(live_url, key) == 200


def test_the_dashboards_period_is_selectable(browser_page, live_url):
    acme = make_tenant("Acme")
    RawMcp(live_url, api_key_create(user=make_user("analyst", tenants=[acme]), name="k")[1]).call("listTenant")
    page = browser_page
    operator(page)
    page.goto("/admin/audit/publicapiaccess/dashboard/")
    assert "Last 7 days" in page.content()
    for link, words in (("24 hours", "Last 24 hours"), ("30 days", "Last 30 days")):
        with page.expect_navigation():
            page.get_by_role("link", name=link, exact=True).click()
        assert words in page.content() and page.get_by_text(link, exact=True).get_attribute("aria-current") == "page"
        assert page.locator("svg.audit-chart").first.locator("rect").count() >= 1


def test_key_lists_show_each_keys_calls_in_the_last_24_hours(browser_page, live_url):
    analyst = make_user("analyst", tenants=[make_tenant("Acme")], password=PASSWORD)
    busy = api_key_create(user=analyst, name="busy")[1]
    api_key_create(user=analyst, name="quiet")  # listed with no call
    for _ in range(3):
        RawMcp(live_url, busy).call("listTenant")
    RawMcp(live_url, busy[:-4] + "xxxx").call("listTenant")  # a refused guess at the key is not its call
    page = browser_page
    operator(page)
    page.goto("/admin/accounts/apikey/")
    header = [h.strip().lower() for h in page.locator("#result_list thead th").all_inner_texts()]
    column = header.index("calls (24 h)")
    for name, calls in (("busy", "3"), ("quiet", "0")):
        row = page.locator("#result_list tbody tr", has_text=name)
        assert row.locator("th, td").nth(column).inner_text().strip() == calls, name
    page.context.clear_cookies()
    log_in(page, "analyst", PASSWORD, path="/profile/api-keys/")
    row = page.locator("tr", has_text="busy")
    assert "3" in row.locator("td").nth(7).inner_text()


def tab_to(page, test: str, limit: int = 80) -> None:
    """Press Tab until the focused element passes `test` (a JavaScript expression over `e`)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(e => {test})(document.activeElement)"):
            return
    raise AssertionError(f"nothing matching {test} can be reached with Tab")


def test_the_operators_pages_work_with_the_keyboard_alone(browser_page, live_url):
    key = api_key_create(user=make_user("analyst", tenants=[make_tenant("Acme")]), name="k")[1]
    RawMcp(live_url, key).call("listTenant")
    page = browser_page
    operator(page)
    # The Activity Log, filtered by its user, from the console's index.
    tab_to(page, "e.textContent.trim() === 'Activity Log'")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    tab_to(page, "e.closest('#changelist-filter') && e.textContent.trim() === 'analyst'")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("#result_list tbody tr").count() == 1
    # The MCP switch, off with the keyboard.
    page.goto("/admin/features/featuresettings/")
    tab_to(page, "e.closest('#result_list tbody') && e.tagName === 'A'")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    tab_to(page, "e.name === 'mcp_enabled'")
    page.keyboard.press("Space")
    tab_to(page, "e.type === 'submit' && e.value === 'Save'")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert ping(live_url, key) == 503
