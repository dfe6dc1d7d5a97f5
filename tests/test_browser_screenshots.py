"""Screenshots of the pages a reviewer looks at (the profile page, the Activity Log, the dashboard, the
consent page), in the light and the dark theme, on demo data: `make screenshots` writes them to
.run/screenshots/ (or SCREENSHOTS_DIR); in `make test` they are written too and checked to be images."""

from __future__ import annotations

import os
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management import call_command

from accounts.services import api_key_create
from tests.browser import ROOT, log_in, own_live_url  # noqa: F401  (own_live_url: this module's live_url)
from tests.mcp_helpers import RawMcp
from tests.oauth_support import authorize_url, pkce_pair, register

PASSWORD = "correct horse battery staple"


def test_screenshots_of_the_console(browser_page, live_url):
    out = Path(os.environ.get("SCREENSHOTS_DIR") or ROOT / ".run" / "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    call_command("seed_demo", tenants=3, cases=120, alerts_per_case=3, days=3, seed=5, verbosity=0)
    admin = get_user_model().objects.get(username="soc-admin")
    admin.set_password(PASSWORD)
    admin.is_staff = admin.is_superuser = True
    admin.save()
    raw = RawMcp(live_url, api_key_create(user=admin, name="Claude Code on my laptop")[1])
    for tool, arguments in [("listTenant", {}), ("listCases", {"created_within": "3d"}), ("listCases", {})] * 3:
        raw.call(tool, arguments)
    RawMcp(live_url, "sk-stellar-not-a-key").call("listTenant")
    client_id = register(live_url, client_name="claude.ai").json()["client_id"]
    page = browser_page
    log_in(page, "soc-admin", PASSWORD, path="/admin/login/?next=/admin/")
    pages = {"profile": "/profile/api-keys/", "activity-log": "/admin/audit/publicapiaccess/",
             "dashboard": "/admin/audit/publicapiaccess/dashboard/", "console": "/admin/",
             "consent": authorize_url(live_url, client_id, challenge=pkce_pair()[1])}
    written = []
    for theme in ("light", "dark"):
        page.emulate_media(color_scheme=theme)
        for name, path in pages.items():
            page.goto(path)
            target = out / f"{name}-{theme}.png"
            page.screenshot(path=str(target), full_page=True)
            written.append(target)
    for target in written:
        assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and target.stat().st_size > 10_000, target
    print(f"\nscreenshots: {out}")
