"""Every tool call through /mcp/ leaves exactly one Public API access row, whatever its outcome."""

from __future__ import annotations

import time

import pytest
from django.db import connections

from accounts.models import ApiKey
from accounts.services import api_key_create, api_key_revoke
from audit.models import PublicApiAccess
from features import switches as features
from stellar_mcp_site.db_router import audit_database
from tests.factories import make_alert, make_case, make_tenant, make_user
from tests.mcp_helpers import McpSession, RawMcp

ENDPOINTS = {
    "get_access_token": "POST /connect/api/v1/access_token",
    "listCases": "GET /connect/api/v1/cases",
    "getCaseDetail": "GET /connect/api/v1/cases/{id}",
    "getCaseAlerts": "GET /connect/api/v1/cases/{id}/alerts",
    "updateCase": "PUT /connect/api/v1/cases/{id}",
    "getAlertDetail": "GET /connect/api/data/aella-ser-*/_search",
    "listTenant": "GET /connect/api/v1/tenants",
    "getTenantDetail": "GET /connect/api/v1/tenants/{id}",
}


@pytest.fixture
def world(live_url):
    tenant = make_tenant("Acme")
    user = make_user("alice", tenants=[tenant])
    case = make_case(tenant, name="Beacon", status="New")
    alert = make_alert(case)
    key_row, key = api_key_create(user=user, name="audited")
    ro_row, ro_key = api_key_create(user=user, name="read only", scope="read")
    return {"tenant": tenant, "user": user, "case": case, "alert": alert, "key": key, "key_row": key_row,
            "ro_key": ro_key, "ro_row": ro_row, "base": live_url, "url": f"{live_url}/mcp/"}


def rows():
    return list(PublicApiAccess.objects.order_by("id"))


def test_one_success_row_per_tool_with_endpoint_and_ids(world):
    case, alert, tenant = world["case"], world["alert"], world["tenant"]
    calls = {
        "get_access_token": {}, "listCases": {}, "getCaseDetail": {"_id": case.stellar_id},
        "getCaseAlerts": {"_id": case.stellar_id}, "updateCase": {"_id": case.stellar_id, "status": "In Progress"},
        "getAlertDetail": {"alert_id": alert.stellar_uuid}, "listTenant": {},
        "getTenantDetail": {"cust_id": tenant.cust_id},
    }
    sizes = {}
    with McpSession(world["url"], world["key"]) as mcp:
        for tool, arguments in calls.items():
            result = mcp.call(tool, arguments)
            assert not result.is_error
            sizes[tool] = len(result.content[0].text.encode())
    recorded = rows()
    assert [r.tool for r in recorded] == list(calls)
    for row in recorded:
        assert row.outcome == "success" and row.http_status == 200
        assert row.endpoint == ENDPOINTS[row.tool]
        assert row.user_id == world["user"].pk and row.username == "alice"
        assert row.api_key_id == world["key_row"].pk and row.key_public_id == world["key_row"].public_id
        assert row.activity_type == "Public API access" and row.source == "MCP"
        assert row.protocol_version == "2026-07-28" and row.request_id and row.duration_ms > 0
        assert row.client_ip == "127.0.0.1" and row.user_agent
        assert row.response_bytes == sizes[row.tool] > 0  # the result's JSON, as the client got it
    by_tool = {r.tool: r for r in recorded}
    for tool in ("getCaseDetail", "getCaseAlerts", "updateCase"):
        assert case.stellar_id in by_tool[tool].case_ids and tenant.cust_id in by_tool[tool].tenant_ids
    assert alert.stellar_uuid in by_tool["getAlertDetail"].alert_ids
    assert by_tool["updateCase"].changes == [{"field": "status", "from": "New", "to": "In Progress"}]
    assert by_tool["updateCase"].arguments == {"_id": case.stellar_id, "status": "In Progress"}


def test_each_outcome_leaves_one_row(world):
    case = world["case"]
    raw = RawMcp(world["base"], world["key"])
    raw.call("listCases", {"limit": 1000})  # tool error
    raw.call("updateCase", {"_id": case.stellar_id, "severity": "Low", "expected_version": 99})  # conflict
    raw.call("noSuchTool", {})  # unknown tool
    RawMcp(world["base"], world["ro_key"]).call("updateCase", {"_id": case.stellar_id, "status": "Resolved"})
    RawMcp(world["base"], "sk-stellar-" + "x" * 44).call("listTenant")  # bad credentials
    revoked_row, revoked = api_key_create(user=world["user"], name="to revoke")
    api_key_revoke(key=revoked_row, reason="left the team")
    RawMcp(world["base"], revoked).call("listTenant")  # revoked key
    features.set_switch(name="mcp", enabled=False)
    raw.call("listTenant")  # feature disabled
    features.set_switch(name="mcp", enabled=True)

    got = [(r.tool, r.outcome, r.http_status) for r in rows()]
    assert got == [
        ("listCases", "tool_error", 200),
        ("updateCase", "conflict", 200),
        ("noSuchTool", "tool_error", 200),
        ("updateCase", "denied", 200),
        ("listTenant", "unauthenticated", 401),
        ("listTenant", "unauthenticated", 401),
        ("listTenant", "denied", 503),
    ]
    recorded = rows()
    assert "limit" in recorded[0].error
    assert "read-only" in recorded[3].error and recorded[3].api_key_id == world["ro_row"].pk
    assert recorded[4].user_id is None and recorded[4].key_public_id == "x" * 12
    assert recorded[5].user_id is None and recorded[5].key_public_id == revoked_row.public_id
    assert recorded[6].username == "alice" and "disabled" in recorded[6].error


def test_non_tool_requests_are_not_public_api_access(world):
    raw = RawMcp(world["base"], world["key"])
    raw.legacy("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                              "clientInfo": {"name": "t", "version": "1"}})
    raw.legacy("tools/list")
    raw.legacy("ping")
    assert PublicApiAccess.objects.count() == 0


def test_no_secret_reaches_any_column(world):
    key = world["key"]
    with McpSession(world["url"], key) as mcp:
        token = mcp.ok("get_access_token")["access_token"]
    raw = RawMcp(world["base"], token)
    # A model pasting credentials into arguments, and credentials presented as bearers that fail.
    raw.call("listCases", {"search": f"find {key} please", "name": token})
    raw.call("getCaseDetail", {"_id": key, "token": token})
    RawMcp(world["base"], key + "tampered").call("listTenant")
    RawMcp(world["base"], token + "x").call("listTenant")
    secrets = [key, key[len("sk-stellar-") + 12:], token, token.split(".")[-1]]
    table = PublicApiAccess._meta.db_table
    with connections[audit_database()].cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")
        dump = "\n".join(repr(row) for row in cursor.fetchall())
    assert PublicApiAccess.objects.count() == 5
    for secret in secrets:
        assert secret not in dump


def test_recording_failure_withholds_the_answer_and_is_logged_loudly(world, gunicorn_server):
    raw = RawMcp(world["base"], world["key"])
    table = PublicApiAccess._meta.db_table
    with connections[audit_database()].cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} RENAME TO audit_unavailable")
    try:
        answer = raw.legacy("tools/call", {"name": "listTenant", "arguments": {}})
    finally:
        with connections[audit_database()].cursor() as cursor:
            cursor.execute(f"ALTER TABLE audit_unavailable RENAME TO {table}")
    # Every call is on the record, or not answered (AUDIT_READS_FAIL_OPEN lets reads through).
    assert answer.status_code == 503 and "Activity Log" in answer.json()["error"]["message"]
    deadline = time.time() + 5
    while "AUDIT WRITE FAILED" not in gunicorn_server.log_text() and time.time() < deadline:
        time.sleep(0.1)
    assert "AUDIT WRITE FAILED" in gunicorn_server.log_text()


def test_rows_are_written_even_when_the_database_rejects_the_tool(world):
    # An invalid update is refused inside the backend's transaction; its row is still there.
    RawMcp(world["base"], world["key"]).call("updateCase", {"_id": world["case"].stellar_id, "assignee": "someone-unknown"})
    (row,) = rows()
    assert row.outcome == "tool_error" and "assignee" in row.error
    assert ApiKey.objects.get(pk=world["key_row"].pk).last_used_at is not None
    assert time.time() - row.timestamp.timestamp() < 60
