"""listCases in process, query by query: median time, the rows returned, and the database's plan.

Runs a fixed set of `EmbeddedBackend.list_cases` queries (sorts, filters, full-text search, a second
page; no time window unless the name says so) against one database and prints, for each, the median
wall time, a fingerprint of the page (ids and total, so the same data on SQLite and PostgreSQL can be
checked to give the same answers) and, with --explain, the plan of every SQL statement it ran (and on
SQLite its time).

    .venv/bin/python benchmarks/list_cases_queries.py [--database-url URL] [--repeat 15] [--explain]
    .venv/bin/python benchmarks/list_cases_queries.py --database-url postgres://... \\
        --load-from benchmarks/out/demo-100000.sqlite3     # copy the listCases tables first

--load-from copies users, tenants, tenant access, cases and case tags (the tables listCases reads)
from a seeded SQLite file into the migrated, empty PostgreSQL database, keeping every id, so both
databases hold the same rows. Default database: benchmarks/out/demo-100000.sqlite3.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sqlite3
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
COPIED_TABLES = (
    "auth_user",
    "cases_tenant",
    "accounts_tenantaccess",
    "accounts_tenantaccess_tenants",
    "cases_case",
    "cases_casetag",
)


def copy_from_sqlite(source: Path) -> None:
    from django.db import connection

    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    with connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'UTC'")  # SQLite holds naive UTC timestamps
        cursor.execute("TRUNCATE " + ", ".join(COPIED_TABLES) + " CASCADE")
        for table in COPIED_TABLES:
            started = time.perf_counter()
            rows = src.execute(f'SELECT * FROM "{table}"')
            columns = ", ".join(f'"{d[0]}"' for d in rows.description)
            count = 0
            with cursor.cursor.copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT max(id) FROM \"{table}\"))"
            )
            print(f"copied {table}: {count} rows in {time.perf_counter() - started:.1f} s")
        cursor.execute("ANALYZE")


def queries(tenant_cust_id: str, newest_ms: int) -> dict[str, tuple[object, bool]]:
    """name -> (query, whether to time its second page rather than its first)."""
    from cases.backend.base import CaseQuery

    day_ms = 24 * 3600 * 1000
    open_statuses = ("New", "In Progress", "Escalated")
    day = {"created_from": newest_ms - day_ms, "created_to": newest_ms}
    month = {"created_from": newest_ms - 30 * day_ms, "created_to": newest_ms}
    plain = {
        "created_at desc (default sort)": CaseQuery(),
        "created_at desc, last 24 h": CaseQuery(**day),
        "severity desc": CaseQuery(sort="severity"),
        "severity desc, one tenant": CaseQuery(sort="severity", tenants=(tenant_cust_id,)),
        "severity desc, open": CaseQuery(sort="severity", statuses=open_statuses),
        "score desc": CaseQuery(sort="score"),
        "ticket_id asc": CaseQuery(sort="ticket_id", order="asc"),
        "modified_at desc": CaseQuery(sort="modified_at"),
        "open Critical": CaseQuery(statuses=open_statuses, severities=("Critical",)),
        "open Critical, 30 days": CaseQuery(statuses=open_statuses, severities=("Critical",), **month),
        "tenant open Critical/High score 50, 30 days": CaseQuery(
            cust_id=tenant_cust_id, statuses=open_statuses, severities=("Critical", "High"), min_score=50, **month),
        "Resolved, 24 h": CaseQuery(statuses=("Resolved",), **day),
        "severity desc, open, 24 h": CaseQuery(sort="severity", statuses=open_statuses, **day),
        "assignee analyst-4, 30 days": CaseQuery(assignee="analyst-4", **month),
        "ticket_id asc, 24 h": CaseQuery(sort="ticket_id", order="asc", **day),
        "ticket_id asc, open, 24 h": CaseQuery(sort="ticket_id", order="asc", statuses=open_statuses, **day),
        "modified_at asc, open, 24 h": CaseQuery(sort="modified_at", order="asc", statuses=open_statuses, **day),
        "score desc, open, 24 h": CaseQuery(sort="score", statuses=open_statuses, **day),
        "severity asc, 24 h": CaseQuery(sort="severity", order="asc", **day),
        "created_at asc, open Critical": CaseQuery(order="asc", statuses=open_statuses, severities=("Critical",)),
        "ticket_id asc, open": CaseQuery(sort="ticket_id", order="asc", statuses=open_statuses),
        "score asc, open Critical, 30 days": CaseQuery(sort="score", order="asc", statuses=open_statuses,
                                                       severities=("Critical",), **month),
        "score desc, Low": CaseQuery(sort="score", severities=("Low",)),
        "score asc, Critical": CaseQuery(sort="score", order="asc", severities=("Critical",)),
        "severity desc, Low": CaseQuery(sort="severity", severities=("Low",)),
        "severity asc, Critical, 24 h": CaseQuery(sort="severity", order="asc", severities=("Critical",), **day),
        "created_at desc, Resolved": CaseQuery(statuses=("Resolved",)),
        "score desc, Low, 24 h": CaseQuery(sort="score", severities=("Low",), **day),
        "score desc, Low, 30 days": CaseQuery(sort="score", severities=("Low",), **month),
        "severity desc, Low, 30 days": CaseQuery(sort="severity", severities=("Low",), **month),
        "tag vip": CaseQuery(tags=("vip",)),
        "tag vip, severity desc": CaseQuery(tags=("vip",), sort="severity"),
        "assignee analyst-4": CaseQuery(assignee="analyst-4"),
        "unassigned, severity desc": CaseQuery(unassigned=True, sort="severity"),
        "name ransom": CaseQuery(name="ransom"),
        "search 'kerberoasting' (rare)": CaseQuery(search="kerberoasting"),
        "search 'ransomware ws-025'": CaseQuery(search="ransomware ws-025"),
        "search 'lucas.nguyen srv-exch01'": CaseQuery(search="lucas.nguyen srv-exch01"),
        "search 'ws-025' (229 cases), 30 days": CaseQuery(search="ws-025", **month),
        "search 'phishing' (common)": CaseQuery(search="phishing"),
        "search 'phishing', 24 h": CaseQuery(search="phishing", **day),
        "search 'ransomware', 30 days": CaseQuery(search="ransomware", **month),
        "search 'ransomware', 1 h": CaseQuery(search="ransomware", created_from=newest_ms - 3_600_000, created_to=newest_ms),
        # 30 days back from a few hours after the newest case, as tools.py asks: the oldest cases are outside.
        "search 'ransomware', 30 days to now": CaseQuery(search="ransomware", created_from=newest_ms - 29 * day_ms,
                                                         created_to=newest_ms + 4 * 3_600_000),
        "name ransom, 24 h": CaseQuery(name="ransom", **day),
        "search 'no-such-thing' (none)": CaseQuery(search="no-such-thing"),
        "search 'phishing', severity desc": CaseQuery(search="phishing", sort="severity"),
    }
    specs = {name: (query, False) for name, query in plain.items()}
    specs["severity desc, page 2"] = (CaseQuery(sort="severity"), True)
    specs["severity desc, 24 h, page 2"] = (CaseQuery(sort="severity", **day), True)
    specs["search 'ws-025', 30 days, page 2"] = (CaseQuery(search="ws-025", **month), True)
    return specs


def statement_ms(cursor, sql: str, repeat: int = 5) -> float:
    """Median time of one captured statement (its literal text) with its rows read."""
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        cursor.execute(sql)
        cursor.fetchall()
        timings.append((time.perf_counter() - started) * 1000)
    return sorted(timings)[repeat // 2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=f"sqlite:///{ROOT / 'benchmarks/out/demo-100000.sqlite3'}")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--explain", action="store_true", help="print the plan of every statement")
    parser.add_argument("--only", help="run only the queries whose name contains this text")
    parser.add_argument("--load-from", type=Path, help="seeded SQLite file to copy into PostgreSQL first")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stellar_mcp_site.settings")
    import django

    django.setup()
    from dataclasses import replace

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cases.backend.embedded import EmbeddedBackend
    from cases.models import Case
    from tenants.models import Tenant
    from tenants.scope import TenantScope

    if args.load_from:
        if connection.vendor != "postgresql":
            parser.error("--load-from copies into PostgreSQL only")
        copy_from_sqlite(args.load_from)

    backend = EmbeddedBackend()
    tenants = list(Tenant.objects.order_by("pk").values_list("cust_id", flat=True))
    root = TenantScope(all_tenants=True)
    print(f"{connection.vendor}: {Case.objects.count()} cases, {len(tenants)} tenants")
    newest = Case.objects.order_by("-created_at").values_list("created_at", flat=True).first()
    specs = queries(tenants[0], int(newest.timestamp() * 1000))

    for name, (query, second_page) in specs.items():
        if args.only and args.only not in name:
            continue
        if second_page:
            query = replace(query, cursor=backend.list_cases(root, query).next_cursor)

        def run(query=query):
            return backend.list_cases(root, query)

        for _ in range(3):
            page = run()
        timings = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            page = run()
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        fingerprint = hashlib.sha256(
            repr(([item["_id"] for item in page.items], page.total)).encode()
        ).hexdigest()[:12]
        print(f"{name:40s} median {timings[len(timings) // 2]:8.2f} ms  rows {len(page.items):3d}  "
              f"total {page.total:6d}  answer {fingerprint}")
        if args.explain:
            with CaptureQueriesContext(connection) as captured:
                run()
            for statement in captured.captured_queries:
                sql = statement["sql"]
                with connection.cursor() as cursor:
                    if connection.vendor == "postgresql":
                        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) " + sql)
                        plan = [r[0] for r in cursor.fetchall()]
                    else:
                        cursor.execute("EXPLAIN QUERY PLAN " + sql)
                        plan = [r[3] for r in cursor.fetchall()]
                        plan.append(f"{statement_ms(cursor, sql):.2f} ms")
                print("    SQL: " + (sql if len(sql) < 400 else sql[:400] + "…"))
                for line in plan:
                    print("      " + line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
