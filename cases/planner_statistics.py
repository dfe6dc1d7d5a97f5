"""SQLite's query planner statistics (`ANALYZE`), refreshed when they no longer describe the tables.

SQLite keeps no statistics until `ANALYZE` runs, and afterwards keeps them as they were. Without them
it takes every index to be equally selective and picks wrong ones for listCases. Measured on 100,000
demo cases (`benchmarks/list_cases_queries.py`):
- assignee filter: 1.6 ms with statistics, 97 ms without;
- unassigned cases: 1.1 ms with, 23 ms without;
- open Critical cases: 2 ms with, and without SQLite reads the whole table (70 ms) instead of the
  `case_triage` index.

`seed_demo` analyzes what it wrote. A database migrated while empty and filled some other way would
have none, and one analyzed small and grown since would have wrong ones. So after migrating, `migrate`
refreshes the tables whose statistics are missing or off by more than `DRIFT` in row count. `manage.py
refresh_statistics` does the same on demand (after a bulk load, or from cron).

PostgreSQL's autovacuum analyzes tables as they change; there these functions do nothing.
"""

from __future__ import annotations

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper

# Below this many rows every plan is fast: not worth a refresh.
MIN_ROWS = 1_000
# Statistics whose row count is off by this factor or more are refreshed.
DRIFT = 2.0


def stale_tables(connection: BaseDatabaseWrapper) -> list[str]:
    """Tables with indexes and at least MIN_ROWS rows whose statistics are missing, miss one of its
    indexes, or record a row count off by DRIFT or more."""
    if connection.vendor != "sqlite":
        return []
    stale = []
    with connection.cursor() as cursor:
        recorded = _recorded_rows(cursor)
        cursor.execute("SELECT name, sql LIKE 'CREATE VIRTUAL TABLE%' FROM sqlite_master "
                       "WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        tables = cursor.fetchall()
        virtual = tuple(f"{name}_" for name, is_virtual in tables if is_virtual)
        for table, is_virtual in tables:
            if is_virtual or table.startswith(virtual):
                continue  # a virtual table and its shadow tables (the FTS5 index): ANALYZE skips them
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"PRAGMA index_list({quoted})")
            indexes = [row[1] for row in cursor.fetchall() if not row[4]]  # partial indexes hold fewer rows
            if not indexes:
                continue  # nothing for the planner to choose between
            cursor.execute(f"SELECT COUNT(*) FROM {quoted}")
            rows = cursor.fetchone()[0]
            counts = [recorded[table, index] for index in indexes if (table, index) in recorded]
            recorded_rows = max(counts, default=0)
            if max(rows, recorded_rows) < MIN_ROWS:
                continue
            if len(counts) < len(indexes) or not rows / DRIFT < recorded_rows < rows * DRIFT:
                stale.append(table)
    return stale


def analyze(connection: BaseDatabaseWrapper, tables: list[str] | None = None) -> None:
    """`ANALYZE` the given tables, or the whole database. In a transaction, so that on SQLite it takes
    its turn among the writers (stellar_mcp_site/sqlite_backend)."""
    statements = ["ANALYZE"] if tables is None else [f"ANALYZE {connection.ops.quote_name(t)}" for t in tables]
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def refresh(connection: BaseDatabaseWrapper) -> list[str]:
    """Analyze the stale tables of a SQLite database; the names of those it analyzed."""
    tables = stale_tables(connection)
    if tables:
        analyze(connection, tables)
    return tables


def _recorded_rows(cursor) -> dict[tuple[str, str], int]:
    """(table, index) -> the row count `ANALYZE` recorded for it (the first number of its stat)."""
    cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
    if cursor.fetchone() is None:
        return {}  # created by the first ANALYZE
    cursor.execute("SELECT tbl, idx, stat FROM sqlite_stat1 WHERE idx IS NOT NULL")
    return {(table, index): int(stat.split()[0]) for table, index, stat in cursor.fetchall()}
