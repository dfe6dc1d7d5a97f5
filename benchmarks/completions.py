"""Prompt-argument completion in process: median and worst time of each kind of completion, and how many
values it offered, for a root caller and a one-tenant caller, against a seeded database.

    .venv/bin/python benchmarks/completions.py [--database-url URL] [--repeat 30]

Default database: benchmarks/out/demo-100000.sqlite3 (made by `make bench`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CASES = [("review_case_alerts", "case", v) for v in ("", "1", "13", "1300", "99999", "ransomware", "phish wave")]
OTHERS = [("triage_open_cases", "tenant", ""), ("triage_open_cases", "assignee", "an"),
          ("triage_open_cases", "severity", "c")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=f"sqlite:///{ROOT}/benchmarks/out/demo-100000.sqlite3")
    parser.add_argument("--repeat", type=int, default=30)
    options = parser.parse_args()
    os.environ["DATABASE_URL"] = options.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stellar_mcp_site.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from accounts.principal import Principal
    from mcp_gateway import prompts
    from mcp_gateway.registry import ToolContext
    from tenants.models import Tenant
    from tenants.scope import ALL_TENANTS, TenantScope

    user = get_user_model().objects.order_by("id").first()
    one = TenantScope(all_tenants=False, cust_ids=frozenset([Tenant.objects.order_by("id").first().cust_id]))
    print(f"{options.database_url.rsplit('/', 1)[-1]}, {options.repeat} runs each (ms)")
    print(f"{'caller':10} {'completion':32} {'p50':>7} {'max':>7} {'values':>6}")
    for label, scope in (("root", ALL_TENANTS), ("1 tenant", one)):
        ctx = ToolContext(principal=Principal(user=user, api_key=None, scope="read", tenants=scope),
                          request_id="bench", ai_summary_enabled=True)
        for prompt, argument, value in CASES + OTHERS:
            times, values = [], []
            for _ in range(options.repeat):
                started = time.perf_counter()
                values = prompts.complete(ctx, prompt, argument, value)
                times.append((time.perf_counter() - started) * 1000)
            print(f"{label:10} {argument + ' ' + repr(value):32} {statistics.median(times):7.2f} {max(times):7.2f} "
                  f"{len(values):6}")


if __name__ == "__main__":
    main()
