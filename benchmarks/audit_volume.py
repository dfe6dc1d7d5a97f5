"""The Activity Log's admin pages on a big table: list, filters, search and dashboard, with N million rows.

Fills the Activity Log of the given PostgreSQL database (once: rows are added until it holds --rows)
with calls spread over the last --days (the month partitions they need are created first), then times
each admin page in process (Django's test client, logged in as a superuser): the first request, then
the median and the slowest of --repeat more. The dashboard's roll-ups are deleted first, so the first
dashboard request of each period shows what rolling up its hours costs (once). Usage:

    .venv/bin/python benchmarks/audit_volume.py --database-url postgres://... [--rows 10000000] [--days 180]

The rows are written by one INSERT ... SELECT over generate_series per month, in PostgreSQL, which is
why this takes minutes and not hours. Not part of `make test`: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import ROOT, django_setup, machine_line

PAGES = {
    "list": "",
    "list, outcome=denied": "?outcome__exact=denied",
    "list, tool=updateCase": "?tool=updateCase",
    "list, source=REST": "?source__exact=REST",
    "list, user": "?username=analyst-7",
    "list, tenant": "?tenant={tenant}",
    "list, this month (date)": "?timestamp__year={year}&timestamp__month={month}",
    "list, one day (date)": "?timestamp__year={year}&timestamp__month={month}&timestamp__day={day}",
    "list, search request id": "?q={request_id}",
    "list, search case id": "?q={case_id}",
    "list, page 50": "?p=49",
    "dashboard 24 h": "dashboard/?period=24h",
    "dashboard 7 days": "dashboard/?period=7d",
    "dashboard 30 days": "dashboard/?period=30d",
}

TOOLS = ["listCases", "getCaseDetail", "updateCase", "addCaseComment", "listTenant", "getTenantDetail",
         "getAlertDetail", "listCaseAlerts", "get_access_token"]


def fill(rows: int, days: int) -> None:
    """Add rows until the table holds `rows`, spread evenly over the last `days`, newest last."""
    from django.db import connection
    from django.utils import timezone

    from audit import partitions
    from audit.models import PublicApiAccess

    have = PublicApiAccess.objects.count()
    missing = rows - have
    if missing <= 0:
        return
    now = timezone.now()
    since = now - timedelta(days=days)
    partitions.ensure_month_partitions(connection, partitions.month_start(since), partitions.month_start(now))
    step_ms = days * 86_400_000 / missing
    print(f"adding {missing:,} rows over {days} days ...", flush=True)
    started = time.monotonic()
    batch = 1_000_000
    tools = "ARRAY[" + ", ".join(f"'{tool}'" for tool in TOOLS) + "]"
    with connection.cursor() as cursor:
        for first in range(0, missing, batch):
            count = min(batch, missing - first)
            # i numbers the row; everything else is a cheap function of it, so the values repeat the way
            # a real log's do: a few hundred users and keys, mostly successful calls, some refusals.
            cursor.execute(
                f"""
                INSERT INTO {PublicApiAccess._meta.db_table}
                  (timestamp, username, key_public_id, key_name, activity_type, source, endpoint, tool, arguments,
                   outcome, error, tenant_ids, case_ids, alert_ids, changes, http_status, response_bytes,
                   duration_ms, client_ip, user_agent, protocol_version, request_id, user_id, api_key_id)
                SELECT %s::timestamptz + (i * %s) * interval '1 millisecond',
                  CASE WHEN i %% 50 = 7 THEN '' ELSE 'analyst-' || (i %% 200) END,
                  CASE WHEN i %% 50 = 7 THEN '' ELSE 'k' || lpad((i %% 300)::text, 11, '0') END,
                  'key ' || (i %% 300), 'Public API access',
                  CASE WHEN i %% 10 = 3 THEN 'REST' ELSE 'MCP' END,
                  CASE WHEN i %% 10 = 3 THEN 'GET /connect/api/v1/cases' ELSE '/mcp/' END,
                  CASE WHEN i %% 10 = 3 THEN '' ELSE ({tools})[1 + i %% {len(TOOLS)}] END,
                  '{{"limit": 20}}'::jsonb,
                  CASE WHEN i %% 50 = 7 THEN 'unauthenticated' WHEN i %% 97 = 5 THEN 'denied'
                       WHEN i %% 89 = 3 THEN 'tool_error' ELSE 'success' END,
                  '', 'cust' || (i %% 5), CASE WHEN i %% 3 = 0 THEN md5(i::text) ELSE '' END, '', NULL,
                  200, 1000 + i %% 5000, (i %% 400) / 10.0,
                  ('10.' || (i %% 7) || '.' || (i %% 250) || '.' || (i %% 200 + 1))::inet,
                  'bench', '2025-11-25', md5((i * 7)::text), NULL, NULL
                FROM generate_series(%s::bigint, %s::bigint) AS i
                """,
                [since, step_ms, have + first, have + first + count - 1],
            )
            print(f"  {have + first + count:,} rows, {time.monotonic() - started:.0f} s", flush=True)
        cursor.execute(f"VACUUM ANALYZE {PublicApiAccess._meta.db_table}")
    print(f"filled in {time.monotonic() - started:.0f} s")


def timed(client, url: str, repeat: int) -> tuple[float, float, float]:
    started = time.perf_counter()
    client.get(url)
    first = (time.perf_counter() - started) * 1000
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code}")
    return first, statistics.median(timings), max(timings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL database")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    import logging

    logging.disable(logging.INFO)

    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v0"], cwd=ROOT, check=True,
                   env={**os.environ, "DATABASE_URL": args.database_url})
    django_setup(args.database_url)
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.utils import timezone

    from audit.models import ActivityHour, PublicApiAccess

    fill(args.rows, args.days)
    admin, _ = get_user_model().objects.get_or_create(username="bench-audit-admin",
                                                      defaults={"is_staff": True, "is_superuser": True})
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(admin)
    now = timezone.localtime()
    sample = PublicApiAccess.objects.exclude(case_ids="").order_by("-timestamp", "-id").first()
    values = {"tenant": "cust3", "year": now.year, "month": now.month, "day": now.day,
              "request_id": sample.request_id, "case_id": sample.case_ids}
    print(f"\n{machine_line()}")
    print(f"Activity Log: about {PublicApiAccess.objects.order_by().count():,} rows over the last {args.days} days, "
          f"PostgreSQL, in process (no HTTP), median and slowest of {args.repeat}\n")
    # The dashboard's first view rolls up the hours it shows (audit/rollups.py); start with none.
    ActivityHour.objects.all().delete()
    print(f"{'page':28} {'first ms':>9} {'median ms':>10} {'max ms':>8}")
    for label, query in PAGES.items():
        url = "/admin/audit/publicapiaccess/" + query.format(**values)
        first, median, slowest = timed(client, url, args.repeat)
        print(f"{label:28} {first:>9.1f} {median:>10.1f} {slowest:>8.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
