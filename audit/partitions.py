"""The Activity Log on PostgreSQL: one partition per calendar month (UTC), so retention drops whole months.

The table is partitioned by range of `timestamp` (PostgreSQL's declarative partitioning). Each month is a
partition named `audit_publicapiaccess_pYYYYMM`; a DEFAULT partition takes any row no month partition
covers, so a call is never refused for want of a partition. Month partitions are created ahead:
by `migrate` (post_migrate) and by `prune_public_api_access`, both for the current month and the next
MONTHS_AHEAD. A month whose rows already sit in the default partition (the operator ran neither for
months) is not created: PostgreSQL would refuse it, and those rows are pruned row by row instead.

Readers need nothing of this: queries bounded by time read only the partitions of that time, and the
indexes are the model's, defined on the parent and inherited by every partition. The primary key is
(id, timestamp), since PostgreSQL requires the partition key in it; id stays unique by its sequence.

On SQLite nothing changes: the table is a plain table and retention deletes rows in batches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.db.backends.base.base import BaseDatabaseWrapper

from .models import PublicApiAccess

TABLE = PublicApiAccess._meta.db_table
DEFAULT_PARTITION = f"{TABLE}_default"
MONTHS_AHEAD = 3
# Dropping a partition takes a brief exclusive lock on the table. Rather than queue the recorder behind
# a long report, give up and leave the month to the next run.
LOCK_TIMEOUT = "5s"


def is_partitioned(connection: BaseDatabaseWrapper) -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        row = cursor.fetchone()
    return bool(row and row[0])


def month_start(moment: datetime | date) -> date:
    moment = moment.astimezone(UTC) if isinstance(moment, datetime) else moment
    return date(moment.year, moment.month, 1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"{TABLE}_p{month:%Y%m}"


@dataclass(frozen=True)
class MonthPartition:
    name: str
    start: date  # first day of the month, UTC
    end: date  # first day of the next month


def month_partitions(connection: BaseDatabaseWrapper) -> list[MonthPartition]:
    """The month partitions that exist, oldest first (the default partition is not one)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s) AND c.relname <> %s ORDER BY c.relname",
            [TABLE, DEFAULT_PARTITION],
        )
        names = [name for (name,) in cursor.fetchall()]
    out = []
    for name in names:
        stamp = name.removeprefix(f"{TABLE}_p")
        if len(stamp) == 6 and stamp.isdigit():
            start = date(int(stamp[:4]), int(stamp[4:]), 1)
            out.append(MonthPartition(name, start, add_months(start, 1)))
    return out


def ensure_month_partitions(connection: BaseDatabaseWrapper, first: date, last: date) -> list[str]:
    """Create the month partitions from `first` to `last` (months) that are missing; returns their names.
    Skips a month that has rows in the default partition (see the module's docstring)."""
    if not is_partitioned(connection):
        return []
    existing = {p.start for p in month_partitions(connection)}
    qn = connection.ops.quote_name
    created = []
    month = month_start(first)
    while month <= last:
        if month not in existing:
            end = add_months(month, 1)
            bounds = [_utc(month), _utc(end)]
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT EXISTS (SELECT 1 FROM {qn(DEFAULT_PARTITION)} "
                    "WHERE timestamp >= %s AND timestamp < %s)",
                    bounds,
                )
                if not cursor.fetchone()[0]:
                    # The bounds are dates the code computed, not input; partition DDL takes no parameters.
                    cursor.execute(
                        f"CREATE TABLE {qn(partition_name(month))} PARTITION OF {qn(TABLE)} "
                        f"FOR VALUES FROM ('{bounds[0].isoformat()}') TO ('{bounds[1].isoformat()}')"
                    )
                    created.append(partition_name(month))
        month = add_months(month, 1)
    return created


def ensure_upcoming_partitions(connection: BaseDatabaseWrapper, now: datetime) -> list[str]:
    this_month = month_start(now)
    return ensure_month_partitions(connection, this_month, add_months(this_month, MONTHS_AHEAD))


def drop_months_before(connection: BaseDatabaseWrapper, cutoff: datetime, *, dry_run: bool = False) -> tuple[int, int]:
    """Drop every month partition that ends at or before `cutoff`; returns (partitions, rows) dropped
    (or, with dry_run, that would be)."""
    qn = connection.ops.quote_name
    partitions = rows = 0
    for partition in month_partitions(connection):
        if _utc(partition.end) > cutoff:
            continue
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {qn(partition.name)}")
            count = cursor.fetchone()[0]
            if not dry_run:
                cursor.execute("SET lock_timeout = %s", [LOCK_TIMEOUT])
                try:
                    cursor.execute(f"DROP TABLE {qn(partition.name)}")
                finally:
                    cursor.execute("RESET lock_timeout")
        partitions += 1
        rows += count
    return partitions, rows


def _utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
