"""Latency and throughput of the MCP tools over HTTP against gunicorn, on the 100,000-case demo data.

For each scenario it prints median and p99 latency and requests per second at 1 and 8 concurrent
clients (separate processes, one JSON-RPC tools/call per request, as a stateless client sends
them), next to the in-process cost of the same backend call, so the gateway's own overhead
(HTTP, authentication, validation, audit, serialisation) is visible. Usage:

    .venv/bin/python benchmarks/tools.py [--cases 100000] [--seconds 10] [--workers 5] [--db PATH]

The seeded database is kept in benchmarks/out/ and reused by later runs with the same --cases.
Not part of `make test`: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def prepare_database(cases: int, db: Path) -> None:
    if db.exists():
        return
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "DEMO_ADMIN_PASSWORD": "bench-admin-password"}
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "createcachetable"], cwd=ROOT, env=env, check=True)
    print(f"seeding {cases} cases into {db} (once) ...", flush=True)
    subprocess.run([*manage, "seed_demo", "--cases", str(cases), "-v0"], cwd=ROOT, env=env, check=True)


def django_setup(db: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{db}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stellar_mcp_site.settings")
    import django

    django.setup()


def scenarios(case_id: str, cust_id: str, now_ms: int) -> dict[str, tuple[str, dict]]:
    month = {"created_at_from": now_ms - 30 * 86_400_000, "created_at_to": now_ms}
    return {
        "listCases default window": ("listCases", {}),
        "listCases filters (30 days)": ("listCases", {"cust_id": cust_id, "status": "Open", "severity": ["Critical", "High"],
                                                      "min_score": 50, **month}),
        "listCases search (30 days)": ("listCases", {"search": "ransomware", **month}),
        "getCaseDetail all sections": ("getCaseDetail", {"_id": case_id}),
        "updateCase": ("updateCase", {"_id": case_id, "tags": {"add": ["bench"]}}),
        "listTenant": ("listTenant", {}),
    }


def in_process_cost(db: Path, plan: dict[str, tuple[str, dict]], key: str, repeat: int = 200) -> dict[str, float]:
    """Median milliseconds of the backend call each tool makes, without HTTP, auth or audit."""
    from accounts.authentication import authenticate_bearer
    from mcp_gateway.registry import ToolContext, registry

    principal = authenticate_bearer(f"Bearer {key}", client_ip="127.0.0.1")
    out = {}
    for label, (tool_name, arguments) in plan.items():
        tool = registry.get(tool_name)
        args = tool.parse_arguments(arguments)
        timings = []
        for _ in range(repeat):
            ctx = ToolContext(principal=principal, request_id="bench", ai_summary_enabled=True)
            started = time.perf_counter()
            tool.handler(ctx, args)
            timings.append((time.perf_counter() - started) * 1000)
        out[label] = statistics.median(timings)
    return out


def client_loop(url: str, key: str, tool: str, arguments: dict, seconds: float, queue) -> None:
    import httpx

    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": {"name": tool, "arguments": arguments}})
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json",
               "Accept": "application/json", "MCP-Protocol-Version": "2025-11-25"}
    latencies, errors = [], 0
    with httpx.Client(timeout=30) as http:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            response = http.post(url, content=body, headers=headers)
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200 or response.json()["result"].get("isError"):
                errors += 1
    queue.put((latencies, errors))


def run_load(url: str, key: str, tool: str, arguments: dict, clients: int, seconds: float) -> dict[str, float]:
    queue = mp.Queue()
    procs = [mp.Process(target=client_loop, args=(url, key, tool, arguments, seconds, queue)) for _ in range(clients)]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    latencies = [x for lat, _ in results for x in lat]
    return {"rps": len(latencies) / seconds, "p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99),
            "errors": sum(e for _, e in results), "n": len(latencies)}


def main() -> int:
    import logging

    logging.disable(logging.INFO)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=5, help="gunicorn workers (default 2 x cores + 1)")
    parser.add_argument("--clients", default="1,8")
    parser.add_argument("--db", type=Path)
    args = parser.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    db = args.db or OUT / f"demo-{args.cases}.sqlite3"
    prepare_database(args.cases, db)
    django_setup(db)
    from django.contrib.auth import get_user_model

    from accounts.services import api_key_create
    from cases.models import Case

    user = get_user_model().objects.get(username="soc-admin")
    _, key = api_key_create(user=user, name="benchmark")
    case = Case.objects.filter(size__gte=5).order_by("-created_at").first()
    plan = scenarios(case.stellar_id, case.tenant.cust_id, int(time.time() * 1000))
    backend_ms = in_process_cost(db, plan, key)

    port = 8900 + os.getpid() % 90
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "PORT": str(port), "WEB_CONCURRENCY": str(args.workers)}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "stellar_mcp_site/gunicorn.conf.py"),
                               "stellar_mcp_site.wsgi"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/mcp/"
    try:
        import httpx

        for _ in range(100):
            try:
                httpx.get(url.replace("/mcp/", "/admin/login/"), timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        print(f"\n{args.cases} cases on SQLite, gunicorn {args.workers} sync workers, {os.cpu_count()} cores, "
              f"{args.seconds:.0f} s per run\n")
        print(f"{'scenario':30} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'backend ms':>11} "
              f"{'overhead ms':>12} {'errors':>6}")
        for label, (tool, arguments) in plan.items():
            for clients in [int(c) for c in args.clients.split(",")]:
                r = run_load(url, key, tool, arguments, clients, args.seconds)
                overhead = r["p50"] - backend_ms[label] if clients == 1 else float("nan")
                print(f"{label:30} {clients:>7} {r['rps']:>8.0f} {r['p50']:>8.1f} {r['p99']:>8.1f} "
                      f"{backend_ms[label]:>11.2f} {overhead:>12.2f} {r['errors']:>6}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
