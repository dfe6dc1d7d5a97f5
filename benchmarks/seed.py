"""How long `seed_demo` takes and how big the database gets, on a fresh temporary SQLite file.

Runs `manage.py migrate` and then `manage.py seed_demo` as subprocesses with DATABASE_URL pointing at a
new file, and prints the seeding time and the database size (main file plus WAL). Usage:

    .venv/bin/python benchmarks/seed.py [--cases 100000] [--alerts-per-case 5] [--tenants 5] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--alerts-per-case", type=int, default=5)
    parser.add_argument("--tenants", type=int, default=5)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", action="store_true", help="Keep the database and print its path.")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="seed-bench-"))
    db = workdir / "bench.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "DEMO_ADMIN_PASSWORD": "bench-admin-password",
           "DEMO_ANALYST_PASSWORD": "bench-analyst-password"}
    manage = [sys.executable, str(ROOT / "manage.py")]
    try:
        subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        started = time.perf_counter()
        subprocess.run(
            [*manage, "seed_demo", "--cases", str(args.cases), "--alerts-per-case", str(args.alerts_per_case),
             "--tenants", str(args.tenants), "--days", str(args.days), "--seed", str(args.seed)],
            cwd=ROOT, env=env, check=True,
        )
        elapsed = time.perf_counter() - started
        files = [p for p in (db, db.with_name(db.name + "-wal")) if p.exists()]
        size = sum(p.stat().st_size for p in files)
        print(f"seed_demo --cases {args.cases} --alerts-per-case {args.alerts_per_case}: {elapsed:.1f} s "
              f"(process start and user creation included)")
        print(f"database size: {size / 1e6:.1f} MB ({', '.join(f'{p.name} {p.stat().st_size / 1e6:.1f} MB' for p in files)})")
        if args.keep:
            print(f"kept: {db}")
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
