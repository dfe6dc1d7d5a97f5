"""A real browser for the console's tests: Playwright driving the distribution's Chromium (installed by
scripts/run_tests.sh through the system package manager; Playwright downloads no browser).

`browser_page` gives a fresh page (its own cookies) on the live server; when the test fails, a screenshot
and the page's HTML are written under .run/browser/ and their path printed.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / ".run" / "browser"


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "Chromium is missing: scripts/run_tests.sh installs it (apt-get install chromium)"
    return path


@pytest.fixture(name="live_url")
def own_live_url(start_server) -> str:
    """A server of the browser test's own (a browser module imports this to replace the shared one). Its
    workers cache content types by id, and the flush between tests re-creates them under new ids (SQLite's
    AUTOINCREMENT): a worker kept from an earlier test writes the admin's log rows with a stale id."""
    from django.core.cache import cache

    cache.clear()
    return start_server().url


@pytest.fixture
def chromium(monkeypatch) -> Iterator:
    """One browser per test: Playwright's sync API runs an event loop on this thread while it is open,
    which the other tests' own event loops (the official client's asyncio.run) must not meet."""
    from django.db import connections
    from playwright.sync_api import sync_playwright

    # The test's ORM calls meanwhile are still synchronous, one at a time: Django's guard against async
    # contexts does not apply to them. Only for this test (a deployment check must never see it).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True,
                                             args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield browser
        browser.close()
        # While Playwright's event loop runs on this thread, Django gives the test's ORM calls connections
        # of their own (asgiref keeps a thread's connections per async context there). Close them before
        # the loop stops, or they outlive the test and keep the test database from being dropped.
        connections.close_all()


@pytest.fixture
def browser_page(chromium, live_url, request) -> Iterator:
    context = chromium.new_context(base_url=live_url, viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-150:]
        try:
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
            (ARTIFACTS / f"{name}.html").write_text(page.content())
            print(f"\nbrowser artifacts: {ARTIFACTS / name}.png and .html")
        except Exception as exc:  # the page may be gone; the test's own failure is what matters
            print(f"\nno browser artifacts: {exc}")
    context.close()


def log_in(page, username: str, password: str, *, path: str = "/accounts/login/") -> None:
    """Log in through the login form, with the keyboard (as a person without a mouse would)."""
    page.goto(path)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_label("Password").press("Enter")


def unlabelled_fields(page) -> list[str]:
    """The form fields of the page that no <label> (or aria-label) names."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('input, select, textarea'))
        .filter(e => !['hidden', 'submit', 'button'].includes(e.type))
        .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
        .map(e => e.name || e.id || e.outerHTML.slice(0, 80))""")
