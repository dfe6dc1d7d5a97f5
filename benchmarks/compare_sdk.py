"""This server next to a reference built with the official MCP Python SDK, on the same machine and data.

Three servers run side by side on loopback, over the same seeded database (the demo data of
benchmarks/out/, or --database-url, e.g. PostgreSQL):

- ours: the product under gunicorn with its own configuration (gthread workers, --workers, default
  2 x cores + 1), /mcp/;
- SDK: benchmarks/reference_server.py, `mcp.server.mcpserver.MCPServer` (stateless, JSON responses,
  streamable HTTP) under uvicorn (--ref-workers, default 1), exposing listCases, getCaseDetail and
  listTenant through the same authentication, argument models, handlers and backend as ours (its
  docstring says what it leaves out: audit, feature switch, rate limit, request log);
- ceiling: a bare Django view (benchmarks/ceiling_settings.py + ceiling_urls.py) under the same
  gunicorn, middleware and settings, that only parses the JSON-RPC body, validates it with mcp-types
  and answers a fixed result: the most our stack can serve.

N client processes (stdlib http.client, one tools/call POST after another, as a stateless client sends
them, on a kept-alive connection: uvicorn and gunicorn's gthread workers both keep it)
run for --seconds at each of --clients (default 1, 8, 32), on the 2025-11-25 wire (--wire modern or
legacy,modern adds the 2026-07-28 one). For listTenant, listCases (default 24-hour window) and
getCaseDetail (all sections) it prints throughput, p50 and p99 for both servers, the CPU time the
server's processes spent per call (the clients share the machine, so this is the cost that does not
depend on them), the ratio ours/SDK and ours/ceiling, then checks the goal (at 8 clients ours >= 1.5x the SDK's throughput, 2x on
listTenant).

Then it breaks our per-call overhead (everything but the backend call) down, measured in this process
as medians over --repeat iterations: authentication, feature switches, rate-limit check, validation
(envelope, mcp-types request validation, argument parsing), audit write, serialisation (neutralising,
text block, mcp-types result serialisation, response JSON), and, when CONN_MAX_AGE is 0 (the SQLite
default), the database connection each request opens and closes (cold page cache included); HTTP is
what remains of the p50 at 1 client. With --profile N it finally runs N requests (listCases and getCaseDetail, alternating)
through the WSGI application in this process under cProfile and prints the top costs; the full
statistics go to benchmarks/out/.

Usage (not part of `make test`; figures depend on the machine and on what else runs on it):

    .venv/bin/python benchmarks/compare_sdk.py [--seconds 10] [--rounds 1] [--clients 1,8,32] [--workers 5]
        [--ref-workers 1] [--wire legacy] [--cases 100000 | --database-url URL] [--repeat 500]
        [--profile 500] [--skip-load] [--ours-env NAME=VALUE ...] [--variant-env NAME=VALUE ...]

--ours-env NAME=VALUE changes our server's environment (and this process's, for the breakdown and
the profile); --variant-env NAME=VALUE runs a second copy of ours with that environment in the same
rounds, as a what-if for a setting, e.g. persistent SQLite connections:
--variant-env DATABASE_URL=sqlite:///$PWD/benchmarks/out/demo-100000.sqlite3?conn_max_age=600

Per-key rate limits are switched off in the servers (one benchmark key makes thousands of calls a
minute, far over the default 600); the cost of the check is measured in the breakdown instead.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.overhead import LABELS, breakdown, print_breakdown, profile  # noqa: E402
from benchmarks.common import (  # noqa: E402
    OUT,
    ROOT,
    LoadResult,
    Server,
    benchmark_key,
    best_run,
    database_url,
    django_setup,
    free_port,
    machine_line,
    prepare_database,
    run_load,
    start_gunicorn,
    start_process,
    tools_call_request,
)

TOOLS = ("listTenant", "listCases", "getCaseDetail")
GOAL = {"listTenant": 2.0, "listCases": 1.5, "getCaseDetail": 1.5}


def plan_arguments() -> dict[str, dict[str, Any]]:
    from cases.models import Case

    case = Case.objects.filter(size__gte=5).order_by("-created_at").first()
    return {"listTenant": {}, "listCases": {}, "getCaseDetail": {"_id": case.stellar_id}}


# --- servers --------------------------------------------------------------------------------------


def start_servers(args, database: str, ours_env: dict[str, str], logs: Path) -> dict[str, Server]:
    servers: dict[str, Server] = {}
    try:
        servers["ours"] = start_gunicorn("ours", "/mcp/", database=database, workers=args.workers,
                                         extra_env=ours_env, log=logs / "ours.log")
        servers["ceiling"] = start_gunicorn("ceiling", "/ceiling/", database=database, workers=args.workers,
                                            settings_module="benchmarks.ceiling_settings",
                                            log=logs / "ceiling.log")
        if args.variant_env:
            variant = dict(e.split("=", 1) for e in args.variant_env)
            servers["variant"] = start_gunicorn("variant", "/mcp/", database=database, workers=args.workers,
                                                extra_env={**ours_env, **variant}, log=logs / "variant.log")
        port = free_port()
        env = {**os.environ, "DATABASE_URL": database, "DJANGO_SETTINGS_MODULE": "stellar_mcp_site.settings",
               "REFERENCE_SYNC": args.ref_sync, "PYTHONPATH": str(ROOT)}
        argv = [sys.executable, "-m", "uvicorn", "benchmarks.reference_server:app", "--host", "127.0.0.1",
                "--port", str(port), "--workers", str(args.ref_workers), "--log-level", "warning"]
        servers["sdk"] = start_process("sdk", argv, f"http://127.0.0.1:{port}/mcp", env, logs / "sdk.log")
    except BaseException:
        for server in servers.values():
            server.stop()
        raise
    return servers


def check_answers(servers: dict[str, Server], plan: dict[str, dict], key: str) -> list[str]:
    """One call of each tool on each server: both must succeed, and return the same data."""
    import httpx

    notes = []
    for tool, arguments in plan.items():
        results = {}
        for name in ("ours", "sdk"):
            body, headers = tools_call_request(tool, arguments, key)
            response = httpx.post(servers[name].url, content=body, headers=headers, timeout=30)
            message = response.json() if response.status_code == 200 else {}
            result = message.get("result") or {}
            if response.status_code != 200 or result.get("isError") or "structuredContent" not in result:
                raise RuntimeError(f"{name} {tool}: {response.status_code} {response.text[:500]}")
            results[name] = (result["structuredContent"], len(response.content))
        ours, sdk = results["ours"][0], results["sdk"][0]
        if tool == "listCases":  # the default window moves with the clock between the two calls
            same = ours["cases"] == sdk["cases"] and ours["total"] == sdk["total"]
        else:
            same = ours == sdk
        notes.append(f"{tool}: {'same' if same else 'DIFFERENT'} structuredContent, response "
                     f"{results['ours'][1]:,} bytes (ours) / {results['sdk'][1]:,} bytes (SDK)")
        if not same:
            raise RuntimeError(f"{tool}: the two servers returned different data")
    return notes


# --- load -----------------------------------------------------------------------------------------


def warm_up(servers: dict[str, Server], plan: dict[str, dict], key: str, workers: int) -> None:
    """Every worker of every server answers each request a few times before anything is measured."""
    for tool, arguments in plan.items():
        body, headers = tools_call_request(tool, arguments, key)
        for name in ("ours", "sdk", "variant"):
            if name in servers:
                run_load(servers[name].url, body, headers, workers + 1, 1.5)
    body, headers = tools_call_request("listTenant", {}, key)
    run_load(servers["ceiling"].url, body, headers, workers + 1, 1.5)


def fmt(r: LoadResult | None) -> str:
    if r is None:
        return f"{'':>36}"
    return f"{r.rps:>7.0f} {r.p50:>7.1f} {r.p99:>7.1f} {r.cpu_ms:>6.2f} {r.errors:>4}"


def load(server: Server, body: bytes, headers: dict[str, str], clients: int, seconds: float) -> LoadResult:
    return run_load(server.url, body, headers, clients, seconds, server_pid=server.process.pid)


def best_of(rounds: int, servers: list[Server], body: bytes, headers: dict[str, str], clients: int,
            seconds: float) -> list[LoadResult]:
    """Each server measured `rounds` times, servers alternating within a round; per server its best round
    (see common.best_run)."""
    runs: list[list[LoadResult]] = [[] for _ in servers]
    for _ in range(rounds):
        for i, server in enumerate(servers):
            runs[i].append(load(server, body, headers, clients, seconds))
    return [best_run(results) for results in runs]


def run_comparison(args, servers: dict[str, Server], plan: dict[str, dict], key: str) -> dict:
    clients_list = [int(c) for c in args.clients.split(",")]
    results: dict[tuple, LoadResult] = {}
    for wire in args.wire.split(","):
        rounds = f", best of {args.rounds} rounds" if args.rounds > 1 else ""
        print(f"\n=== wire {wire} ({'2025-11-25' if wire == 'legacy' else '2026-07-28'}), {args.seconds:g} s per run"
              f"{rounds} ===")
        print(f"\n{'ceiling view (no auth, no DB)':34} {'clients':>7} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
              f"{'CPU ms':>6} {'err':>4} {'load1':>6}")
        for clients in clients_list:
            body, headers = tools_call_request("listTenant", {}, key, wire=wire)
            (r,) = best_of(args.rounds, [servers["ceiling"]], body, headers, clients, args.seconds)
            results[(wire, "ceiling", "", clients)] = r
            print(f"{'ceiling':34} {clients:>7} {fmt(r)} {r.load1:>6.2f}", flush=True)
        print(f"\n{'':34} {'':>7} {'---------------- ours ----------------':>37} "
              f"{'---------------- SDK -----------------':>37} {'ours/':>6} {'ours/':>6}")
        print(f"{'tool':34} {'clients':>7} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'CPU ms':>6} {'err':>4} "
              f"{'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'CPU ms':>6} {'err':>4} {'SDK':>6} {'ceil':>6} {'load1':>6}")
        for tool in args.tools.split(","):
            for clients in clients_list:
                body, headers = tools_call_request(tool, plan[tool], key, wire=wire)
                names = ["ours", "sdk", "variant"] if "variant" in servers else ["ours", "sdk"]
                measured = best_of(args.rounds, [servers[n] for n in names], body, headers, clients, args.seconds)
                ours, sdk = measured[0], measured[1]
                results[(wire, "ours", tool, clients)] = ours
                results[(wire, "sdk", tool, clients)] = sdk
                ceiling = results[(wire, "ceiling", "", clients)]
                print(f"{LABELS[tool]:34} {clients:>7} {fmt(ours)} {fmt(sdk)} {ours.rps / sdk.rps:>5.2f}x "
                      f"{ours.rps / ceiling.rps:>5.2f}x {max(ours.load1, sdk.load1):>6.2f}", flush=True)
                checked = [("ours", ours), ("SDK", sdk)]
                if "variant" in servers:
                    v = measured[2]
                    results[(wire, "variant", tool, clients)] = v
                    checked.append(("variant", v))
                    print(f"{'  variant: ' + ' '.join(args.variant_env):34.34} {clients:>7} {fmt(v)} {'':>36} "
                          f"{v.rps / sdk.rps:>5.2f}x {v.rps / ceiling.rps:>5.2f}x {v.load1:>6.2f}", flush=True)
                for name, r in checked:
                    if r.first_error:
                        print(f"    {name} first error: {r.first_error[:300]}")
        if 8 in clients_list:
            print("\ngoal: at 8 clients ours >= 1.5x the SDK's throughput, 2x on listTenant")
            for tool in args.tools.split(","):
                ratio = results[(wire, "ours", tool, 8)].rps / results[(wire, "sdk", tool, 8)].rps
                verdict = "met" if ratio >= GOAL[tool] else "NOT met"
                line = f"  {LABELS[tool]:32} {ratio:5.2f}x (goal {GOAL[tool]:.1f}x): {verdict}"
                if "variant" in servers:
                    v_ratio = results[(wire, "variant", tool, 8)].rps / results[(wire, "sdk", tool, 8)].rps
                    line += f"; variant {v_ratio:5.2f}x: {'met' if v_ratio >= GOAL[tool] else 'NOT met'}"
                print(line)
    return results


# --- main -----------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000, help="demo cases in the seeded SQLite database")
    parser.add_argument("--database-url", help="use this database instead (seeded when it holds no case)")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure each cell this many times (servers alternating) and keep each server's best "
                             "round: on a shared machine, the least disturbed one")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1,
                        help="gunicorn gthread workers (ours and ceiling; default 2 x cores + 1)")
    parser.add_argument("--ref-workers", type=int, default=1, help="uvicorn workers of the SDK server")
    parser.add_argument("--ref-sync", choices=("thread_sensitive", "threadpool"), default="thread_sensitive",
                        help="how the SDK server runs Django code (see reference_server.py)")
    parser.add_argument("--wire", default="legacy", help="legacy, modern, or legacy,modern")
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--repeat", type=int, default=500, help="iterations of each in-process measurement")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="profile N in-process requests")
    parser.add_argument("--skip-load", action="store_true", help="only the breakdown (and --profile)")
    parser.add_argument("--variant-env", action="append", default=[], metavar="NAME=VALUE",
                        help="also run a variant of our server with this extra environment, measured in the same "
                             "rounds (a what-if for a suggested setting); repeatable")
    parser.add_argument("--ours-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment of our server, to try a setting (e.g. CACHE_URL=..., or "
                             "DATABASE_URL=sqlite:///...?conn_max_age=600); repeatable")
    args = parser.parse_args()

    database = database_url(args.cases, args.database_url)
    prepare_database(args.cases, database)
    ours_env = dict(e.split("=", 1) for e in args.ours_env)
    # The in-process parts and the profile run with our server's settings, experiments included.
    os.environ.update({k: v for k, v in ours_env.items() if k != "DATABASE_URL"})
    django_setup(ours_env.get("DATABASE_URL", database))
    # The request log goes to stderr; keep its cost, drop its output.
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115
    from django.db import connection

    key = benchmark_key("compare_sdk")
    plan = plan_arguments()
    print(f"machine: {machine_line()}")
    print(f"database: {connection.vendor} ({database.split('@')[-1]}); ours: gunicorn {args.workers} gthread "
          f"workers; SDK: uvicorn {args.ref_workers} worker(s), {args.ref_sync}; ceiling: gunicorn "
          f"{args.workers} gthread workers")
    if args.ours_env:
        print(f"ours with: {' '.join(args.ours_env)}")

    parts = breakdown(plan, key, args.repeat)
    results: dict = {}
    if not args.skip_load:
        logs = OUT / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        servers = start_servers(args, database, ours_env, logs)
        try:
            for note in check_answers(servers, plan, key):
                print("check: " + note)
            warm_up(servers, plan, key, args.workers)
            results = run_comparison(args, servers, plan, key)
        finally:
            for server in servers.values():
                server.stop()
    ceiling = results.get(("legacy", "ceiling", "", 1))
    print_breakdown(parts, results, ceiling.p50 if ceiling else None)
    if args.profile:
        profile(plan, args.profile)
    print(f"\nload average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
