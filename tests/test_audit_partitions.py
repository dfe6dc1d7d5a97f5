"""The Activity Log by month on PostgreSQL: partitions, where rows land, retention by dropping months.

On SQLite the table stays a plain table (the last test); the retention tests of test_audit_commands.py run
on both databases.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connections, router
from django.utils import timezone

from audit import partitions
from audit.models import Outcome, PublicApiAccess
from audit.paginator import table_row_estimate

pytestmark = pytest.mark.django_db(databases="__all__")


def _connection():
    return connections[router.db_for_write(PublicApiAccess)]


postgres_only = pytest.mark.skipif(
    "_connection().vendor != 'postgresql'", reason="the Activity Log is partitioned on PostgreSQL only"
)


def _add(when: datetime, tool: str = "listCases") -> PublicApiAccess:
    return PublicApiAccess.objects.create(timestamp=when, outcome=Outcome.SUCCESS, tool=tool)


def _partition_of(row: PublicApiAccess) -> str:
    with _connection().cursor() as cursor:
        cursor.execute(
            f"SELECT tableoid::regclass::text FROM {partitions.TABLE} WHERE id = %s",
            [row.pk],
        )
        return cursor.fetchone()[0]


def _month(moment: datetime) -> date:
    return partitions.month_start(moment)


def _prune(*args: str) -> str:
    out = io.StringIO()
    call_command("prune_public_api_access", *args, stdout=out)
    return out.getvalue()


@postgres_only
def test_the_table_has_this_month_the_next_months_and_a_default_partition() -> None:
    connection = _connection()
    assert partitions.is_partitioned(connection)
    this_month = _month(timezone.now())
    starts = {p.start for p in partitions.month_partitions(connection)}
    assert {partitions.add_months(this_month, n) for n in range(partitions.MONTHS_AHEAD + 1)} <= starts
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [partitions.DEFAULT_PARTITION])
        assert cursor.fetchone()[0]


@postgres_only
def test_rows_land_in_their_month_and_a_month_without_partition_in_the_default() -> None:
    now = timezone.now()
    assert _partition_of(_add(now)) == partitions.partition_name(_month(now))
    # Far ahead or long ago: no month partition, and the row is still written.
    assert _partition_of(_add(now + timedelta(days=3650))) == partitions.DEFAULT_PARTITION
    assert _partition_of(_add(now - timedelta(days=3650))) == partitions.DEFAULT_PARTITION
    # The primary key stays unique across partitions (one sequence).
    ids = list(PublicApiAccess.objects.values_list("id", flat=True))
    assert len(ids) == len(set(ids)) == 3


@postgres_only
def test_migrate_creates_the_coming_months() -> None:
    connection = _connection()
    with connection.cursor() as cursor:
        last = partitions.add_months(_month(timezone.now()), partitions.MONTHS_AHEAD)
        cursor.execute(f"DROP TABLE {partitions.partition_name(last)}")
    assert partitions.add_months(_month(timezone.now()), partitions.MONTHS_AHEAD) not in {
        p.start for p in partitions.month_partitions(connection)
    }
    call_command("migrate", "audit", database=connection.alias, verbosity=0)
    assert last in {p.start for p in partitions.month_partitions(connection)}


@postgres_only
def test_a_month_whose_rows_sit_in_the_default_partition_is_not_created() -> None:
    connection = _connection()
    far = _month(timezone.now() + timedelta(days=3650))
    _add(datetime(far.year, far.month, 15, tzinfo=UTC))
    assert partitions.ensure_month_partitions(connection, far, far) == []
    emptier = partitions.add_months(far, 1)
    assert partitions.ensure_month_partitions(connection, emptier, emptier) == [partitions.partition_name(emptier)]


@postgres_only
def test_retention_drops_whole_months_and_deletes_the_rest_row_by_row() -> None:
    connection = _connection()
    now = timezone.now()
    this_month = _month(now)
    old_months = [partitions.add_months(this_month, -n) for n in (4, 3)]
    partitions.ensure_month_partitions(connection, old_months[0], old_months[-1])
    in_old_months = [_add(datetime(m.year, m.month, 10, tzinfo=UTC)) for m in old_months for _ in range(3)]
    ancient = _add(now - timedelta(days=3650))  # default partition
    boundary = _add(now - timedelta(days=31))  # in a month that also holds newer rows, or the month before
    kept = [_add(now - timedelta(days=1)), _add(now)]

    out = _prune("--older-than-days", "30", "--dry-run")
    assert out.startswith(f"Would delete {len(in_old_months) + 2} ")
    assert PublicApiAccess.objects.count() == len(in_old_months) + 2 + len(kept)

    out = _prune("--older-than-days", "30")
    assert out.startswith(f"Deleted {len(in_old_months) + 2} ")
    assert "whole months" in out
    assert set(PublicApiAccess.objects.values_list("id", flat=True)) == {row.pk for row in kept}
    names = {p.name for p in partitions.month_partitions(connection)}
    assert not {partitions.partition_name(m) for m in old_months} & names
    assert partitions.partition_name(this_month) in names
    del ancient, boundary


@postgres_only
def test_retention_keeps_a_month_that_ends_after_the_cutoff() -> None:
    connection = _connection()
    now = timezone.now()
    row = _add(now - timedelta(days=2))
    _prune("--older-than-days", "1")
    assert partitions.partition_name(_month(now)) in {p.name for p in partitions.month_partitions(connection)}
    assert not PublicApiAccess.objects.filter(pk=row.pk).exists()


@postgres_only
def test_the_list_count_estimate_adds_up_the_partitions() -> None:
    connection = _connection()
    now = timezone.now()
    for days in (0, 40, 80):
        for _ in range(5):
            _add(now - timedelta(days=days))
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {partitions.TABLE}")
    assert table_row_estimate(PublicApiAccess, connection.alias) == 15


def test_sqlite_keeps_a_plain_table() -> None:
    connection = _connection()
    if connection.vendor == "postgresql":
        assert partitions.is_partitioned(connection)
    else:
        assert not partitions.is_partitioned(connection)
        assert partitions.ensure_upcoming_partitions(connection, timezone.now()) == []
        _add(timezone.now() - timedelta(days=100))
        assert _prune("--older-than-days", "30").startswith("Deleted 1 ")


@postgres_only
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_the_migration_keeps_every_row_both_ways() -> None:
    connection = _connection()
    now = timezone.now()
    whens = [now - timedelta(days=400), now - timedelta(days=35), now]
    ids = [_add(when).pk for when in whens]

    call_command("migrate", "audit", "0008", database=connection.alias, verbosity=0)
    assert not partitions.is_partitioned(connection)
    assert sorted(PublicApiAccess.objects.values_list("id", flat=True)) == ids
    plain = _add(now).pk
    assert plain > ids[-1]

    call_command("migrate", "audit", database=connection.alias, verbosity=0)
    assert partitions.is_partitioned(connection)
    assert sorted(PublicApiAccess.objects.values_list("id", flat=True)) == [*ids, plain]
    # The month of the oldest row got its partition; the ids go on from where they were.
    oldest = PublicApiAccess.objects.get(pk=ids[0])
    assert _partition_of(oldest) == partitions.partition_name(_month(whens[0]))
    assert _add(now).pk > plain
