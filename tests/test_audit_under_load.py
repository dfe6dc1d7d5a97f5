"""8 concurrent clients for 30 seconds against gunicorn (several workers, SQLite): every tool call
is answered and leaves exactly one audit row, and concurrent updates lose nothing."""

from __future__ import annotations

import itertools
import threading
import time

import httpx

from accounts.services import api_key_create
from audit.models import PublicApiAccess
from cases.models import Activity, Case
from tests.factories import make_alert, make_case, make_tenant, make_user

CLIENTS = 8
SECONDS = 30


def test_audit_rows_equal_tool_calls_under_concurrency(live_url):
    tenant = make_tenant()
    user = make_user(tenants=[tenant])
    cases = [make_case(tenant, name=f"load {i}") for i in range(4)]
    alert = make_alert(cases[0])
    _, key = api_key_create(user=user, name="load")
    calls = [
        ("listCases", {}),
        ("getCaseDetail", {"_id": cases[1].stellar_id}),
        ("getCaseAlerts", {"_id": cases[0].stellar_id}),
        ("getAlertDetail", {"alert_id": alert.stellar_uuid}),
        ("listTenant", {}),
        ("updateCase", {"_id": cases[2].stellar_id, "severity": "High"}),
        ("updateCase", {"_id": cases[3].stellar_id, "tags": {"add": ["load"]}}),
    ]
    counts = {"calls": 0, "failures": 0, "changed": 0}
    lock = threading.Lock()
    serial = itertools.count()

    def client(worker: int) -> None:
        headers = {"Authorization": f"Bearer {key}", "MCP-Protocol-Version": "2025-11-25"}
        deadline = time.monotonic() + SECONDS
        with httpx.Client(timeout=30) as http:
            for n in itertools.count(worker):
                if time.monotonic() >= deadline:
                    return
                tool, arguments = calls[n % len(calls)]
                if tool == "updateCase" and "severity" in arguments:
                    # Alternate the value so most updates really change the case.
                    arguments = {**arguments, "severity": ["High", "Low"][next(serial) % 2]}
                response = http.post(f"{live_url}/mcp/", headers=headers, json={
                    "jsonrpc": "2.0", "id": n, "method": "tools/call", "params": {"name": tool, "arguments": arguments}})
                ok = response.status_code == 200 and not response.json()["result"].get("isError")
                changed = tool == "updateCase" and ok and bool(response.json()["result"]["structuredContent"]["changes"])
                with lock:
                    counts["calls"] += 1
                    counts["failures"] += not ok
                    counts["changed"] += changed

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert counts["failures"] == 0
    assert counts["calls"] > 100
    assert PublicApiAccess.objects.count() == counts["calls"]
    assert PublicApiAccess.objects.exclude(outcome="success").count() == 0
    # No lost or duplicated update: every effective change bumped a version and wrote one activity.
    versions = sum(c.version - 1 for c in Case.objects.filter(pk__in=[cases[2].pk, cases[3].pk]))
    assert versions == counts["changed"] == Activity.objects.filter(case__in=[cases[2], cases[3]]).count()
