"""Hourly roll-ups of the Activity Log for the dashboard (the ActivityHour model).

`hour_counts` computes, for every hour of a set of rows, what the dashboard shows: calls by outcome, by
key (with its username), by user, by tool, and refused calls by client address, each with its last call.
The dashboard uses it twice: on the log's rows of the hours not rolled up yet (the current one), and to
roll up the hours that are over, once, into ActivityHour; the whole days among them are then summed
into one row per day and figure, so a 30-day view reads 30 days and at most two days' worth of hours. An
hour is rolled up only ROLLUP_DELAY after it ended, so that a call recorded a moment late (its row has
the time it started) is in it.

Concurrent dashboards may roll up the same hour: the rows are the same and the unique constraint keeps
one copy.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from django.db import connections
from django.db.models import CharField, Count, F, Func, Max, Q, QuerySet, Sum, Value
from django.db.models.constants import OnConflict
from django.db.models.functions import Coalesce, TruncHour
from django.utils import timezone

from .models import ActivityHour, Outcome, PublicApiAccess

ROLLUP_DELAY = timedelta(minutes=10)
REFUSED = (Outcome.DENIED, Outcome.UNAUTHENTICATED)


class _Address(Func):
    """A client address as text: PostgreSQL's inet type prints a "/32" unless asked for the HOST."""

    function = "HOST"
    output_field = CharField()

    def as_sqlite(self, compiler, connection, **extra):
        return compiler.compile(self.get_source_expressions()[0])


# kind -> (which rows, what they are counted by, the column shown with it)
KINDS: dict[str, tuple[Q, F | Func, str | None]] = {
    "outcome": (Q(), F("outcome"), None),
    "key": (~Q(key_public_id=""), F("key_public_id"), "username"),
    "user": (~Q(username=""), F("username"), None),
    "tool": (~Q(tool=""), F("tool"), None),
    "refused_ip": (Q(outcome__in=REFUSED), _Address("client_ip"), None),
}


def _grouped(rows: QuerySet, kind: str) -> QuerySet:
    """The figures of one kind for each hour of `rows`: hour, value, label, calls, last."""
    condition, column, shown_with = KINDS[kind]
    return (
        rows.filter(condition).order_by()
        # Hours in UTC: the database then returns instants that can be stored as they are (the site's
        # TIME_ZONE is UTC; a zone with a half-hour offset would see its hours shifted by that half hour).
        .annotate(r_hour=TruncHour("timestamp", tzinfo=UTC), r_value=Coalesce(column, Value("")),
                  r_label=F(shown_with) if shown_with else Value(""))
        .values("r_hour", "r_value", "r_label")
        .annotate(r_calls=Count("id"), r_last=Max("timestamp"))
    )


def hour_counts(rows: QuerySet) -> Iterator[ActivityHour]:
    """The dashboard's figures for each hour of `rows` (unsaved ActivityHour instances)."""
    for kind in KINDS:
        for row in _grouped(rows, kind):
            yield ActivityHour(hour=row["r_hour"], kind=kind, value=row["r_value"], label=row["r_label"],
                               calls=row["r_calls"], last=row["r_last"])


def _store(grouped: QuerySet, kind: str, hours: int) -> None:
    """INSERT ... SELECT: the grouped figures go from the query straight into ActivityHour, without
    passing through Python (a month of hours is hundreds of thousands of rows); rows already there stay."""
    select = grouped.annotate(r_kind=Value(kind), r_hours=Value(hours))
    sql, params = select.query.sql_with_params()
    connection = connections[select.db]
    ops = connection.ops
    columns = ", ".join(ops.quote_name(ActivityHour._meta.get_field(name).column)
                        for name in ("hour", "value", "label", "calls", "last", "kind", "hours"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"{ops.insert_statement(on_conflict=OnConflict.IGNORE)} {ops.quote_name(ActivityHour._meta.db_table)} "
            f"({columns}) {sql} {ops.on_conflict_suffix_sql([], OnConflict.IGNORE, [], [])}",
            params,
        )


def roll_up(first_hour: datetime, until: datetime) -> datetime:
    """Roll up every hour from `first_hour` that was over ROLLUP_DELAY before `until` and is not rolled up
    yet, then every whole day of those hours; returns the end of the rolled-up hours (where the
    dashboard's live part starts)."""
    end = hour_start(until - ROLLUP_DELAY)
    if end <= first_hour:
        return first_hour
    hours = []
    hour = first_hour
    while hour < end:
        hours.append(hour)
        hour += timedelta(hours=1)
    done = set(_totals(1, first_hour, end))
    missing = [h for h in hours if h not in done]
    if missing:
        # One pass over the log from the first hour missing to the end; the rows of hours already rolled
        # up in between are computed again and dropped by the unique constraint.
        rows = PublicApiAccess.objects.filter(timestamp__gte=missing[0], timestamp__lt=end)
        for kind in KINDS:
            _store(_grouped(rows, kind), kind, 1)
        totals = [ActivityHour(hour=h, kind="total", calls=0) for h in missing]
        ActivityHour.objects.bulk_create(totals, batch_size=2000, ignore_conflicts=True)
    first_day, end_of_days = whole_days(first_hour, end)
    rolled_days = set(_totals(24, first_day, end_of_days))
    day = first_day
    while day < end_of_days:
        if day not in rolled_days:
            _roll_up_day(day)
        day = next_day(day)
    return end


def _roll_up_day(day: datetime) -> None:
    """A day's figures, summed from its hours in the database."""
    hours = ActivityHour.objects.filter(hours=1, hour__gte=day, hour__lt=next_day(day)).order_by()
    for kind in KINDS:
        sums = (hours.filter(kind=kind).annotate(r_hour=Value(day), r_value=F("value"), r_label=F("label"))
                .values("r_hour", "r_value", "r_label").annotate(r_calls=Sum("calls"), r_last=Max("last")))
        _store(sums, kind, 24)
    ActivityHour.objects.bulk_create([ActivityHour(hour=day, hours=24, kind="total", calls=0)], ignore_conflicts=True)


def whole_days(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The first and the end of the local days that lie entirely within [start, end)."""
    first = _day_start(start)
    if first < start:
        first = next_day(first)
    last_end = _day_start(end)
    return (first, last_end) if first < last_end else (first, first)


def next_day(day: datetime) -> datetime:
    return _day_start(timezone.localtime(day) + timedelta(days=1))


def _totals(hours: int, start: datetime, end: datetime) -> list[datetime]:
    return list(ActivityHour.objects.filter(kind="total", hours=hours, hour__gte=start, hour__lt=end)
                .values_list("hour", flat=True))


def _day_start(moment: datetime) -> datetime:
    local = timezone.localtime(moment)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def forget_before(cutoff: datetime) -> int:
    """Delete the roll-ups of the hours retention has removed calls from (the hour of the cutoff too: it
    is rolled up again, from what is left, when a dashboard shows it)."""
    deleted, _ = ActivityHour.objects.filter(hour__lt=hour_start(cutoff) + timedelta(hours=1)).delete()
    return deleted


def hour_start(moment: datetime) -> datetime:
    # In the current time zone, as TruncHour and the dashboard's hours are.
    return timezone.localtime(moment).replace(minute=0, second=0, microsecond=0)
