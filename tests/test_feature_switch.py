"""The operator's switches: `manage.py feature`, the admin page, and the environment kill switch."""

from __future__ import annotations

from io import StringIO

import httpx
import pytest
from django.core.management import CommandError, call_command

from accounts.services import api_key_create
from features.models import FeatureSettings
from tests.conftest import LiveServer
from tests.factories import make_tenant, make_user


def feature(*args: str) -> str:
    out = StringIO()
    call_command("feature", *args, stdout=out)
    return out.getvalue()


def test_command_shows_and_switches(db):
    oauth = "dcr: on\ncimd: on\n"
    assert feature() == "mcp: on\nai_summary: on\n" + oauth
    assert feature("mcp", "off") == "mcp: off\nai_summary: on\n" + oauth
    assert feature("ai_summary", "off") == "mcp: off\nai_summary: off\n" + oauth
    assert feature("dcr", "off").endswith("dcr: off\ncimd: on\n")
    assert feature("cimd", "off").endswith("dcr: off\ncimd: off\n")
    row = FeatureSettings.objects.get()
    assert (row.mcp_enabled, row.ai_summary_enabled, row.oauth_dcr_enabled, row.oauth_cimd_enabled) == (False,) * 4
    assert feature("mcp", "on").startswith("mcp: on")
    with pytest.raises(CommandError, match="on or off"):
        call_command("feature", "mcp")
    with pytest.raises(CommandError):
        call_command("feature", "coffee", "on")


def test_admin_edits_the_single_row(admin_client):
    page = admin_client.get("/admin/features/featuresettings/")
    assert page.status_code == 200
    row = FeatureSettings.objects.get()
    response = admin_client.post(f"/admin/features/featuresettings/{row.pk}/change/",
                                 {"mcp_enabled": "", "ai_summary_enabled": "on"})
    assert response.status_code == 302
    assert FeatureSettings.objects.get().mcp_enabled is False
    assert admin_client.get("/admin/features/featuresettings/add/").status_code == 403
    assert admin_client.post(f"/admin/features/featuresettings/{row.pk}/delete/").status_code == 403


def test_environment_kill_switch_wins(transactional_db, django_db_blocker):
    user = make_user(tenants=[make_tenant()])
    _, key = api_key_create(user=user, name="kill switch")
    with django_db_blocker.unblock():
        server = LiveServer({"MCP_ENABLED": "false"}, workers=1)
    try:
        response = httpx.post(f"{server.url}/mcp/", json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                              headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 503
        assert "disabled on this instance" in response.json()["error"]["message"]
    finally:
        server.stop()
    assert "keeps the MCP server off" not in feature()  # this process has no kill switch
