"""Mixed read and update traffic from many concurrent stateless MCP clients, for the load tests."""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field

import httpx

from accounts.services import api_key_create
from cases.models import Case
from tests.factories import make_alert, make_case, make_tenant, make_user


@dataclass
class Tally:
    calls: int = 0
    failures: int = 0  # answered, but not a successful tool result
    dropped: int = 0  # no HTTP answer at all (connection reset by a killed worker)
    server_errors: int = 0  # HTTP 5xx
    changed: dict[int, int] = field(default_factory=dict)  # case pk -> updates that changed it
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class LoadWorld:
    key: str
    reads: list[tuple[str, dict]]
    update_cases: list[Case]


def make_load_world(update_cases: int = 4) -> LoadWorld:
    tenant = make_tenant()
    user = make_user(tenants=[tenant])
    read_case = make_case(tenant, name="read target")
    alert = make_alert(read_case)
    _, key = api_key_create(user=user, name="load")
    reads = [
        ("listCases", {}),
        ("getCaseDetail", {"_id": read_case.stellar_id}),
        ("getCaseAlerts", {"_id": read_case.stellar_id}),
        ("getAlertDetail", {"alert_id": alert.stellar_uuid}),
        ("listTenant", {}),
    ]
    return LoadWorld(key=key, reads=reads, update_cases=[make_case(tenant, name=f"write {i}") for i in range(update_cases)])


def run_mixed_load(base_url: str, world: LoadWorld, *, clients: int, seconds: float, tally: Tally | None = None,
                   stop: threading.Event | None = None) -> Tally:
    """`clients` threads, each alternating reads with severity flips of the update cases."""
    tally = tally or Tally()
    serial = itertools.count()
    headers = {"Authorization": f"Bearer {world.key}", "MCP-Protocol-Version": "2025-11-25"}

    def client(worker: int) -> None:
        deadline = time.monotonic() + seconds
        with httpx.Client(timeout=30) as http:
            for n in itertools.count(worker):
                if time.monotonic() >= deadline or (stop is not None and stop.is_set()):
                    return
                case = None
                if n % 3 == 0:
                    case = world.update_cases[n % len(world.update_cases)]
                    tool, arguments = "updateCase", {"_id": case.stellar_id,
                                                     "severity": ["High", "Low"][next(serial) % 2]}
                else:
                    tool, arguments = world.reads[n % len(world.reads)]
                body = {"jsonrpc": "2.0", "id": n, "method": "tools/call",
                        "params": {"name": tool, "arguments": arguments}}
                try:
                    response = http.post(f"{base_url}/mcp/", headers=headers, json=body)
                except httpx.TransportError:
                    with tally.lock:
                        tally.calls += 1
                        tally.dropped += 1
                    continue
                result = response.json().get("result") if response.status_code == 200 else None
                ok = result is not None and not result.get("isError")
                with tally.lock:
                    tally.calls += 1
                    tally.failures += not ok
                    tally.server_errors += response.status_code >= 500
                    if ok and case is not None and result["structuredContent"]["changes"]:
                        tally.changed[case.pk] = tally.changed.get(case.pk, 0) + 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return tally
