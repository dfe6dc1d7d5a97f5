"""EXPERIMENT: what each layer of the SQLite listCases planner is worth, at 8 clients, interleaved.

One gunicorn per variant over the same seeded 100,000-case file, each with one layer switched off through
PLANNER_LAYERS_OFF (cases/backend/case_sql.py), and all layers on; every round measures every scenario on
every variant in turn, so the machine's drift touches them alike. Prints p50 / p99 / req/s per round and
the worst ratio of each variant's median p50 and p99 to all-on's. Usage:

    .venv/bin/python benchmarks/planner_layers.py [--seconds 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (  # noqa: E402
    benchmark_key,
    database_url,
    django_setup,
    machine_line,
    prepare_database,
    run_load,
    start_gunicorn,
    tools_call_request,
)
from benchmarks.tools import scenarios, window_line  # noqa: E402

VARIANTS = {"all on": "", "no complement": "complement", "no span": "span", "no walk": "walk",
            "no sorted": "sorted", "no walk, no sorted": "walk,sorted", "no text cache": "cache",
            "no rare ids": "rare_ids"}


def main() -> int:
    import logging

    logging.disable(logging.INFO)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=5)
    args = parser.parse_args()

    database = database_url(100_000)
    prepare_database(100_000, database)
    django_setup(database)
    from cases.models import Case

    key = benchmark_key()
    case = Case.objects.filter(size__gte=5).order_by("-created_at").first()
    plan = {label: call for label, call in scenarios(case.stellar_id, case.tenant.cust_id, int(time.time() * 1000)).items()
            if label.startswith("listCases")}
    print(machine_line())
    print(window_line(Case))
    servers = {}
    try:
        for name, off in VARIANTS.items():
            servers[name] = start_gunicorn(name, "/mcp/", database=database, workers=args.workers,
                                           extra_env={"PLANNER_LAYERS_OFF": off})
        results: dict[tuple[str, str], list] = {}
        for round_no in range(1, args.rounds + 1):
            for label, (tool, arguments) in plan.items():
                body, headers = tools_call_request(tool, arguments, key)
                for name, server in servers.items():
                    run_load(server.url, body, headers, args.workers + 1, 1.0)  # warm every worker
                    r = run_load(server.url, body, headers, 8, args.seconds)
                    results.setdefault((label, name), []).append(r)
                    print(f"round {round_no} {label:38} {name:20} p50 {r.p50:6.1f} p99 {r.p99:6.1f} "
                          f"req/s {r.rps:5.0f} errors {r.errors}", flush=True)
        print(f"\nmedian of {args.rounds} rounds at 8 clients: p50 / p99 ms (ratio to all on)")
        for label in plan:
            base = results[(label, "all on")]
            b50, b99 = statistics.median(r.p50 for r in base), statistics.median(r.p99 for r in base)
            cells = []
            for name in VARIANTS:
                runs = results[(label, name)]
                p50, p99 = statistics.median(r.p50 for r in runs), statistics.median(r.p99 for r in runs)
                cells.append(f"{name}: {p50:.1f}/{p99:.0f} ({p50 / b50:.2f}x/{p99 / b99:.2f}x)")
            print(f"{label}\n    " + "\n    ".join(cells))
    finally:
        for server in servers.values():
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
