"""SQLite's planner statistics (cases/planner_statistics.py): which tables count as stale,
that `migrate` and `refresh_statistics` analyze exactly those, and that PostgreSQL is left to autovacuum."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from cases import planner_statistics
from tests.conftest import ROOT

sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite only: PostgreSQL's autovacuum analyzes")
ROWS = planner_statistics.MIN_ROWS


def scratch_table(name: str, rows: int, *, partial_index: bool = False) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {name} (id INTEGER PRIMARY KEY, kind INTEGER)")
        cursor.execute(f"CREATE INDEX {name}_kind ON {name} (kind)")
        if partial_index:
            cursor.execute(f"CREATE INDEX {name}_odd ON {name} (kind) WHERE kind = 1")
        add_rows(name, rows)


def add_rows(name: str, rows: int) -> None:
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {name} (kind) VALUES (%s)", [(i % 7,) for i in range(rows)])


@sqlite_only
@pytest.mark.django_db
def test_a_table_with_rows_and_no_statistics_is_stale_until_analyzed():
    scratch_table("plan_scratch", ROWS)
    assert "plan_scratch" in planner_statistics.stale_tables(connection)
    assert "plan_scratch" in planner_statistics.refresh(connection)
    assert "plan_scratch" not in planner_statistics.stale_tables(connection)


@sqlite_only
@pytest.mark.django_db
def test_statistics_off_by_the_drift_factor_are_stale_and_small_tables_never():
    scratch_table("plan_small", ROWS - 1)
    scratch_table("plan_growing", ROWS)
    planner_statistics.analyze(connection, ["plan_growing"])
    assert not {"plan_small", "plan_growing"} & set(planner_statistics.stale_tables(connection))

    add_rows("plan_growing", ROWS // 2)  # 1.5 times what was recorded: still close enough
    assert "plan_growing" not in planner_statistics.stale_tables(connection)
    add_rows("plan_growing", ROWS // 2)  # twice
    assert "plan_growing" in planner_statistics.stale_tables(connection)


@sqlite_only
@pytest.mark.django_db
def test_an_index_added_after_analyzing_makes_its_table_stale_but_a_partial_one_does_not():
    scratch_table("plan_indexes", ROWS, partial_index=True)
    planner_statistics.analyze(connection, ["plan_indexes"])
    assert "plan_indexes" not in planner_statistics.stale_tables(connection)
    with connection.cursor() as cursor:
        cursor.execute("CREATE INDEX plan_indexes_both ON plan_indexes (kind, id)")
    assert "plan_indexes" in planner_statistics.stale_tables(connection)


@sqlite_only
@pytest.mark.django_db
def test_the_search_index_and_its_shadow_tables_are_not_checked():
    # ANALYZE skips virtual tables and FTS5's shadow tables: checking them would find them stale forever.
    stale = planner_statistics.stale_tables(connection)
    assert not [t for t in stale if t.startswith("cases_case_search")]


@pytest.mark.skipif(connection.vendor == "sqlite", reason="PostgreSQL only")
@pytest.mark.django_db
def test_postgresql_is_left_to_autovacuum():
    assert planner_statistics.stale_tables(connection) == []
    out = StringIO()
    call_command("refresh_statistics", stdout=out)
    assert "autovacuum" in out.getvalue()


def manage(db, *args: str) -> str:
    env = {"DATABASE_URL": f"sqlite:///{db}", "PATH": "/usr/bin:/bin", "DJANGO_SECRET_KEY": "test-only-planner-statistics"}
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def recorded(db) -> dict[str, str]:
    with sqlite3.connect(db) as raw:
        return dict(raw.execute("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'cases_case'").fetchall())


@sqlite_only
def test_migrate_and_refresh_statistics_analyze_what_went_stale(tmp_path):
    db = tmp_path / "site.sqlite3"
    manage(db, "migrate", "-v0")
    manage(db, "seed_demo", "--cases", "1200", "-v0")  # analyzes what it wrote
    assert recorded(db)["case_triage"].startswith("1200 ")

    # Statistics lost, or describing a table a third of its size: both refresh them.
    with sqlite3.connect(db) as raw:
        raw.execute("DELETE FROM sqlite_stat1 WHERE tbl = 'cases_case'")
    assert "Refreshed the query planner's statistics of cases_case (default)" in manage(db, "migrate")
    assert recorded(db)["case_triage"].startswith("1200 ")
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE sqlite_stat1 SET stat = '400 1' WHERE tbl = 'cases_case'")
    assert "default: analyzed cases_case." in manage(db, "refresh_statistics")
    assert recorded(db)["case_triage"].startswith("1200 ")
    assert "default: statistics current." in manage(db, "refresh_statistics")
