"""What the upstream path adds per tool call, and whether it reuses its connections.

Three servers on loopback over the same seeded database (benchmarks/out/demo-<cases>.sqlite3, or
--database-url):

- the Stellar-compatible Public API (this project, gthread workers so connections are kept alive, as a
  real platform behind a load balancer keeps them);
- /mcp/ with STELLAR_BACKEND=embedded;
- /mcp/ with STELLAR_BACKEND=upstream, pointed at the Public API with a root key.

Part 1, over HTTP: one client calls each tool on both MCP servers, alternately, --calls times, and the
script prints the median and p90 latency of each, the difference (the upstream path's added latency),
the upstream calls one tool call makes (REST audit rows), and the TCP connections the upstream server's
workers opened to the Public API during the run (client sockets to its port, sampled after every call
from /proc/net/tcp: a new connection shows as a new local port).

Part 2, in this process: each backend method through EmbeddedBackend and UpstreamBackend (median of
--calls), with the number of TCP connections the upstream client opened, against the gthread Public
API and against one with gunicorn's sync workers (which close every connection) for contrast.

Usage (not part of `make test`; figures depend on the machine and what else runs on it):

    .venv/bin/python benchmarks/upstream.py [--cases 20000 | --database-url URL] [--calls 100]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (  # noqa: E402
    OUT,
    benchmark_key,
    database_url,
    django_setup,
    machine_line,
    percentile,
    prepare_database,
    response_ok,
    start_gunicorn,
    tools_call_request,
)

GTHREAD = "--worker-class gthread --threads 4"


def client_ports(server_port: int) -> set[int]:
    """Local ports of the TCP sockets (any state, TIME_WAIT included) connected to `server_port`."""
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, remote = line.split()[1:3]
            if int(remote.rsplit(":", 1)[1], 16) == server_port:
                ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


def scenarios(ids: dict[str, str], now_ms: int) -> dict[str, tuple[str, Any]]:
    month = {"created_at_from": now_ms - 30 * 86_400_000, "created_at_to": now_ms}
    severities = iter(["High", "Medium"] * 100_000)
    return {
        "listCases (24 h)": ("listCases", lambda: {}),
        "listCases filters, 30 days": ("listCases", lambda: {"status": "Open", "severity": ["Critical", "High"], **month}),
        "getCaseDetail (all sections)": ("getCaseDetail", lambda: {"_id": ids["case"]}),
        "getCaseAlerts": ("getCaseAlerts", lambda: {"_id": ids["case"], "limit": 20}),
        "getAlertDetail": ("getAlertDetail", lambda: {"alert_id": ids["alert"]}),
        "listTenant": ("listTenant", lambda: {}),
        "getTenantDetail": ("getTenantDetail", lambda: {"cust_id": ids["tenant"]}),
        "updateCase (severity)": ("updateCase", lambda: {"_id": ids["case"], "severity": next(severities)}),
    }


def over_http(servers: dict, api_port: int, key: str, plan: dict, calls: int) -> None:
    import httpx

    from audit.models import PublicApiAccess

    print(f"\nPart 1: tool calls over HTTP, 1 client, {calls} calls per server and tool (alternating)")
    print(f"{'tool':<30} {'embedded p50/p90 ms':>20} {'upstream p50/p90 ms':>20} {'added p50':>10} "
          f"{'upstream calls':>15} {'new TCP conns':>14}")
    opened: set[int] = set()
    total_calls = 0
    with httpx.Client(timeout=60) as http:
        for label, (tool, make_args) in plan.items():
            timings: dict[str, list[float]] = {"embedded": [], "upstream": []}
            rest_before = PublicApiAccess.objects.filter(source="REST").count()
            before = client_ports(api_port)
            new_ports: set[int] = set()
            for i in range(calls + 3):
                for name, url in servers.items():
                    body, headers = tools_call_request(tool, make_args(), key)
                    started = time.perf_counter()
                    response = http.post(url, content=body, headers=headers)
                    elapsed = (time.perf_counter() - started) * 1000
                    if not response_ok(response.status_code, response.content, full=True):
                        raise SystemExit(f"{label} on {name} failed: {response.status_code} {response.text[:300]}")
                    if i >= 3:  # warm-up calls are not timed
                        timings[name].append(elapsed)
                    if name == "upstream":
                        new_ports |= client_ports(api_port) - before
            rest_calls = PublicApiAccess.objects.filter(source="REST").count() - rest_before
            opened |= new_ports
            total_calls += calls + 3
            e, u = timings["embedded"], timings["upstream"]
            print(f"{label:<30} {statistics.median(e):>9.2f} / {percentile(e, 0.9):>7.2f} "
                  f"{statistics.median(u):>9.2f} / {percentile(u, 0.9):>7.2f} "
                  f"{statistics.median(u) - statistics.median(e):>+10.2f} {rest_calls / (calls + 3):>15.1f} "
                  f"{len(new_ports):>14}")
    print(f"TCP connections the upstream MCP server's workers opened to the Public API over {total_calls} tool "
          f"calls: {len(opened)}")


def in_process(api_urls: dict[str, str], key: str, ids: dict[str, str], calls: int) -> None:
    from cases.backend import CaseQuery
    from cases.backend.embedded import EmbeddedBackend
    from cases.backend.upstream import UpstreamBackend
    from cases.backend.upstream_client import UpstreamConfig, release
    from tenants.scope import TenantScope

    scope = TenantScope(all_tenants=True)
    now_ms = int(time.time() * 1000)
    methods = {
        "list_cases (24 h, 20)": lambda b: b.list_cases(scope, CaseQuery(created_from=now_ms - 86_400_000,
                                                                          created_to=now_ms)),
        "get_case": lambda b: b.get_case(scope, case_id=ids["case"]),
        "list_case_alerts (20)": lambda b: b.list_case_alerts(scope, ids["case"], limit=20, cursor=None),
        "get_alert": lambda b: b.get_alert(scope, ids["alert"]),
        "list_tenants": lambda b: b.list_tenants(scope),
    }
    print(f"\nPart 2: backend methods in this process, median of {calls} calls (ms)")
    embedded = EmbeddedBackend()
    header = f"{'method':<24} {'embedded':>9}" + "".join(f" {name:>22}" for name in api_urls)
    print(header)
    upstreams = {}
    for name, url in api_urls.items():
        config = UpstreamConfig(url=url, api_key=key, timeout=30)
        upstreams[name] = (UpstreamBackend(config), config)
    for label, call in methods.items():
        row = f"{label:<24} {median_call(lambda: call(embedded), calls):>9.2f}"
        for name, (backend, _) in upstreams.items():
            row += f" {median_call(lambda: call(backend), calls):>22.2f}"
        print(row)
    n = calls * len(methods) + 3 * len(methods)
    for name, (backend, config) in upstreams.items():
        print(f"{name}: {backend.client.connections_opened} TCP connection(s) opened for {n} calls "
              f"(plus one token exchange)")
        release(config)


def median_call(fn, calls: int) -> float:
    for _ in range(3):
        fn()
    timings = []
    for _ in range(calls):
        started = time.perf_counter()
        fn()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--database-url")
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of each server")
    options = parser.parse_args()

    url = database_url(options.cases, options.database_url)
    prepare_database(options.cases, url)
    django_setup(url)
    from cases.models import Alert
    from tenants.models import Tenant

    key = benchmark_key("upstream benchmark")
    alert = Alert.objects.filter(case__isnull=False).select_related("case").order_by("-timestamp").first()
    ids = {"case": alert.case.stellar_id, "alert": alert.stellar_uuid,
           "tenant": Tenant.objects.order_by("pk").first().cust_id}
    logs = OUT / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    print(machine_line())
    print(f"database: {url}; case {ids['case']} ({alert.case.alerts.count()} alerts)")

    started = []
    try:
        api = start_gunicorn("public api", "", database=url, workers=options.workers,
                             extra_env={"GUNICORN_CMD_ARGS": GTHREAD}, log=logs / "upstream-api.log")
        started.append(api)
        api_sync = start_gunicorn("public api (sync)", "", database=url, workers=options.workers,
                                  log=logs / "upstream-api-sync.log")
        started.append(api_sync)
        embedded = start_gunicorn("mcp embedded", "/mcp/", database=url, workers=options.workers,
                                  log=logs / "upstream-mcp-embedded.log")
        started.append(embedded)
        upstream = start_gunicorn("mcp upstream", "/mcp/", database=url, workers=options.workers,
                                  extra_env={"STELLAR_BACKEND": "upstream", "STELLAR_URL": api.url,
                                             "STELLAR_API_KEY": key},
                                  log=logs / "upstream-mcp-upstream.log")
        started.append(upstream)
        api_port = int(api.url.rsplit(":", 1)[1])
        plan = scenarios(ids, int(time.time() * 1000))
        over_http({"embedded": embedded.url, "upstream": upstream.url}, api_port, key, plan, options.calls)
        in_process({"upstream (keep-alive)": api.url, "upstream (sync, closes)": api_sync.url}, key, ids,
                   options.calls)
    finally:
        for server in reversed(started):
            server.stop()


if __name__ == "__main__":
    main()
