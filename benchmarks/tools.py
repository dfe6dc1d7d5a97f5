"""Latency and throughput of every MCP tool over HTTP against gunicorn, on the 100,000-case demo data.

For each scenario it prints median and p99 latency and requests per second at 1 and 8 concurrent
clients (separate processes, one JSON-RPC tools/call per request, as a stateless client sends
them), next to the in-process cost of the same backend call, so the gateway's own overhead
(HTTP, authentication, validation, audit, serialisation) is visible. "server CPU ms" is the CPU time
gunicorn's processes spent per call answered during the run: unlike the latencies it does not depend on
how much of the two cores the client processes took, so it compares code across runs. "machine CPU ms"
is the whole machine's busy time per call (clients, gunicorn and the database): at N clients on C cores
the mean latency cannot be lower than N x that / C. Usage:

    .venv/bin/python benchmarks/tools.py [--cases 100000] [--seconds 10] [--workers 5] [--db PATH] [--reseed] [--only TEXT]
    .venv/bin/python benchmarks/tools.py --database-url postgres://... [--cases 1000000]

The seeded SQLite database is kept in benchmarks/out/ and reused by later runs with the same --cases; a
--database-url is migrated and seeded with --cases when it holds no case yet.
Per-key rate limits are off in the server (one key makes thousands of calls a minute).
Not part of `make test`: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (  # noqa: E402
    benchmark_key,
    best_run,
    database_url,
    django_setup,
    machine_line,
    median_ms,
    prepare_database,
    run_load,
    start_gunicorn,
    tools_call_request,
)


def scenarios(case_id: str, cust_id: str, now_ms: int, *, alert_id: str, comment_case_id: str) -> dict[str, tuple[str, dict]]:
    """Every tool. Comments go to another case than the one read, so repeated runs do not grow what
    getCaseDetail returns."""
    month = {"created_at_from": now_ms - 30 * 86_400_000, "created_at_to": now_ms}
    return {
        "listCases default window": ("listCases", {}),
        "listCases sort=severity (24 h)": ("listCases", {"sort": "severity"}),
        "listCases filters (30 days)": ("listCases", {"cust_id": cust_id, "status": "Open", "severity": ["Critical", "High"],
                                                      "min_score": 50, **month}),
        "listCases search (30 days)": ("listCases", {"search": "ransomware", **month}),
        "listCases search, one host (30 days)": ("listCases", {"search": "ws-025", **month}),
        "getCaseDetail all sections": ("getCaseDetail", {"_id": case_id}),
        "getCaseAlerts (20 a page)": ("getCaseAlerts", {"_id": case_id}),
        "getAlertDetail": ("getAlertDetail", {"alert_id": alert_id}),
        "updateCase": ("updateCase", {"_id": case_id, "tags": {"add": ["bench"]}}),
        "addCaseComment": ("addCaseComment", {"_id": comment_case_id, "comment": "Benchmark comment."}),
        "listTenant": ("listTenant", {}),
        "getTenantDetail": ("getTenantDetail", {"cust_id": cust_id}),
        "get_access_token": ("get_access_token", {}),
    }


def window_line(case_model) -> str:
    """How many cases the default 24-hour window holds now. The seeded file ages: a day after seeding the
    window is empty and listCases' default scenario measures nothing, so the figure is printed with it."""
    from django.db.models import Max
    from django.utils import timezone

    now = timezone.now()
    in_window = case_model.objects.filter(created_at__gte=now - timedelta(days=1)).count()
    newest = case_model.objects.aggregate(newest=Max("created_at"))["newest"]
    age_h = (now - newest).total_seconds() / 3600 if newest else float("nan")
    advice = " (stale: run with --reseed for the seeded 15 %)" if age_h > 2 else ""
    return f"default 24 h window: {in_window} cases; newest case {age_h:.1f} h old{advice}"


def in_process_cost(plan: dict[str, tuple[str, dict]], key: str, repeat: int = 200,
                    first_search: bool = False) -> dict[str, float]:
    """Median milliseconds of the backend call each tool makes, without HTTP, auth or audit. With
    `first_search`, of the `search` scenarios alone, each call with nothing kept for its text: what the
    first search of a text costs after any change of the cases' texts (cases/backend/text_matches.py)."""
    from accounts.authentication import authenticate_bearer
    from cases.backend import text_matches
    from mcp_gateway.registry import ToolContext, registry

    principal = authenticate_bearer(f"Bearer {key}", client_ip="127.0.0.1")
    out = {}
    for label, (tool_name, arguments) in plan.items():
        if first_search and "search" not in arguments:
            continue
        tool = registry.get(tool_name)
        args = tool.parse_arguments(arguments)

        def call() -> None:
            if first_search:
                text_matches.forget()
            tool.handler(ToolContext(principal=principal, request_id="bench", ai_summary_enabled=True), args)

        out[label] = median_ms(call, repeat, warmup=0)
    return out


def main() -> int:
    import logging

    logging.disable(logging.INFO)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=5, help="gunicorn workers (default 2 x cores + 1)")
    parser.add_argument("--clients", default="1,8")
    parser.add_argument("--only", default="", help="run only the scenarios whose name contains this text "
                        "(or one of these, separated by commas)")
    parser.add_argument("--db", type=Path)
    parser.add_argument("--database-url", help="another database (e.g. PostgreSQL), seeded when it holds no case")
    parser.add_argument("--rounds", type=int, default=1, help="runs per measurement; the best is printed")
    parser.add_argument("--reseed", action="store_true",
                        help="delete the SQLite file (and its Activity Log file) and seed it anew, so the default "
                             "24-hour window holds what it held when seeded (15 %% of the cases)")
    args = parser.parse_args()

    database = database_url(args.cases, url=args.database_url, db=args.db)
    if args.reseed:
        if not database.startswith("sqlite:///"):
            parser.error("--reseed works on the benchmark's SQLite file only")
        main_file = Path(database.removeprefix("sqlite:///"))
        for path in main_file.parent.glob(f"{main_file.stem}*{main_file.suffix}*"):
            path.unlink()
    prepare_database(args.cases, database)
    django_setup(database)
    from cases.models import Case

    key = benchmark_key()
    cases = list(Case.objects.filter(size__gte=5).order_by("-created_at")[:2])
    if len(cases) < 2:
        parser.error("the database needs two cases with five alerts or more (seed more cases)")
    case, comment_case = cases
    alert = case.alerts.order_by("timestamp").first()
    plan = {label: call for label, call in scenarios(case.stellar_id, case.tenant.cust_id, int(time.time() * 1000),
                                                     alert_id=alert.stellar_uuid, comment_case_id=comment_case.stellar_id).items()
            if any(text in label for text in args.only.split(","))}
    backend_ms = in_process_cost(plan, key)
    first_search_ms = in_process_cost(plan, key, repeat=50, first_search=True)

    server = start_gunicorn("ours", "/mcp/", database=database, workers=args.workers)
    try:
        rounds = f", best of {args.rounds} runs" if args.rounds > 1 else ""
        print(f"\n{machine_line()}")
        engine = "SQLite" if database.startswith("sqlite") else "PostgreSQL"
        print(f"{Case.objects.count()} cases on {engine}, gunicorn {args.workers} gthread workers, "
              f"{args.seconds:.0f} s per run{rounds}, per-key rate limits off")
        print(window_line(Case) + "\n")
        print(f"{'scenario':36} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'backend ms':>11} "
              f"{'overhead ms':>12} {'server CPU ms':>14} {'machine CPU ms':>15} {'errors':>6}")
        for label, (tool, arguments) in plan.items():
            body, headers = tools_call_request(tool, arguments, key)
            run_load(server.url, body, headers, args.workers + 1, 1.5)  # every worker warm before measuring
            for clients in [int(c) for c in args.clients.split(",")]:
                r = best_run([run_load(server.url, body, headers, clients, args.seconds, server_pid=server.process.pid)
                              for _ in range(args.rounds)])
                overhead = r.p50 - backend_ms[label] if clients == 1 else float("nan")
                print(f"{label:36} {clients:>7} {r.rps:>8.0f} {r.p50:>8.1f} {r.p99:>8.1f} "
                      f"{backend_ms[label]:>11.2f} {overhead:>12.2f} {r.cpu_ms:>14.2f} {r.machine_cpu_ms:>15.2f} "
                      f"{r.errors:>6}", flush=True)
        for label, ms in first_search_ms.items():
            print(f"{label}: backend {ms:.2f} ms in process with nothing kept for the text (its first "
                  f"search in a worker or since the cases' texts last changed; the table's calls reuse it)")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
