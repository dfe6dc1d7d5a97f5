"""How long `seed_demo` takes and how big the database gets, on a fresh temporary SQLite file or a fresh
database on a PostgreSQL server.

Runs `manage.py migrate` and then `manage.py seed_demo` as subprocesses with DATABASE_URL pointing at a
new SQLite file (or, with --database-url, at a new database that this script creates on that server and
drops afterwards; PostgreSQL 13 or later), and prints the seeding time and the database size. Usage:

    .venv/bin/python benchmarks/seed.py [--cases 100000] [--alerts-per-case 5] [--tenants 5] [--keep]
    .venv/bin/python benchmarks/seed.py --database-url postgres://... --cases 1000000
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--alerts-per-case", type=int, default=5)
    parser.add_argument("--tenants", type=int, default=5)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--database-url", help="A PostgreSQL server to seed a new database on (its URL names a "
                        "database the role can connect to; the role needs CREATEDB).")
    parser.add_argument("--keep", action="store_true", help="Keep the database and print where it is.")
    args = parser.parse_args()

    with (_postgres_database(args.database_url, args.keep) if args.database_url else _sqlite_file(args.keep)) as (url, size):
        env = {**os.environ, "DATABASE_URL": url, "DEMO_ADMIN_PASSWORD": "bench-admin-password",
               "DEMO_ANALYST_PASSWORD": "bench-analyst-password"}
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        started = time.perf_counter()
        subprocess.run(
            [*manage, "seed_demo", "--cases", str(args.cases), "--alerts-per-case", str(args.alerts_per_case),
             "--tenants", str(args.tenants), "--days", str(args.days), "--seed", str(args.seed)],
            cwd=ROOT, env=env, check=True,
        )
        elapsed = time.perf_counter() - started
        print(f"seed_demo --cases {args.cases} --alerts-per-case {args.alerts_per_case}: {elapsed:.1f} s "
              f"(process start and user creation included)")
        print(f"database size: {size()}")
        if args.keep:
            print(f"kept: {_where(url)}")
    return 0


def _where(url: str) -> str:
    """The database a URL names, without its password."""
    if url.startswith("sqlite:///"):
        return url.removeprefix("sqlite:///")
    return f"database {urlsplit(url).path.lstrip('/')} on the server of --database-url"


@contextmanager
def _sqlite_file(keep: bool) -> Iterator[tuple[str, object]]:
    workdir = Path(tempfile.mkdtemp(prefix="seed-bench-"))
    db = workdir / "bench.sqlite3"

    def size() -> str:
        files = [p for p in (db, db.with_name(db.name + "-wal")) if p.exists()]
        total = sum(p.stat().st_size for p in files) / 1e6
        return f"{total:.1f} MB ({', '.join(f'{p.name} {p.stat().st_size / 1e6:.1f} MB' for p in files)})"

    try:
        yield f"sqlite:///{db}", size
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def _postgres_database(server_url: str, keep: bool) -> Iterator[tuple[str, object]]:
    import psycopg

    name = f"seed_bench_{os.getpid()}"
    parts = urlsplit(server_url)
    url = urlunsplit(parts._replace(path=f"/{name}"))
    dsn = urlunsplit(parts._replace(scheme="postgresql"))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def size() -> str:
        with psycopg.connect(dsn) as conn:
            (total,) = conn.execute("SELECT pg_database_size(%s)", [name]).fetchone()
        return f"{total / 1e9:.2f} GB"

    try:
        yield url, size
    finally:
        if not keep:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
