"""Reads over the Activity Log: the dashboard's aggregates.

The hours that are over are read from their hourly roll-ups (audit/rollups.py), the current one from
the log; medians come from a bounded sample of recent rows per tool. So the page costs about the same
on any table size: at ten million rows, the 30-day view would otherwise group 1.7 million of them five
times over (1.9 s measured on PostgreSQL).
"""

from __future__ import annotations

import operator
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce
from typing import Any

from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from . import rollups
from .models import ActivityHour, Outcome, PublicApiAccess

TOP = 10
MEDIAN_SAMPLE = 1000


@dataclass(frozen=True)
class Dashboard:
    since: datetime
    until: datetime
    hours: list[datetime]  # the start of every hour in the window, oldest first
    hourly: dict[str, list[int]]  # outcome -> calls per hour, aligned with `hours`
    totals: dict[str, int]  # outcome -> calls in the window
    top_keys: list[dict[str, Any]]
    top_users: list[dict[str, Any]]
    tools: list[dict[str, Any]]  # tool, calls, median_ms, last
    refused_top_ips: list[dict[str, Any]]

    @property
    def total(self) -> int:
        return sum(self.totals.values())


def activity_dashboard(*, days: int = 7, now: datetime | None = None, rolled_up: bool = True) -> Dashboard:
    """The dashboard of the last `days`: the hours that are over from their roll-ups (rolled up now if
    they are not yet), the rest from the log itself. `rolled_up=False` reads only the log (tests compare)."""
    until = now or timezone.now()
    first_hour = rollups.hour_start(until) - timedelta(hours=days * 24 - 1)
    live_from = rollups.roll_up(first_hour, until) if rolled_up else first_hour
    window = PublicApiAccess.objects.filter(timestamp__gte=first_hour, timestamp__lte=until).order_by()

    hours = [first_hour + timedelta(hours=i) for i in range(days * 24)]
    index = {h: i for i, h in enumerate(hours)}
    hourly: dict[str, list[int]] = {o.value: [0] * len(hours) for o in Outcome}
    totals: dict[str, int] = {o.value: 0 for o in Outcome}
    stored = ActivityHour.objects.filter(hours=1, hour__gte=first_hour, hour__lt=live_from)
    live = list(rollups.hour_counts(window.filter(timestamp__gte=live_from)))
    by_hour = [(row["hour"], row["value"], row["calls"]) for row in
               stored.filter(kind="outcome").values("hour", "value", "calls")]
    by_hour += [(h.hour, h.value, h.calls) for h in live if h.kind == "outcome"]
    for hour, outcome, calls in by_hour:
        i = index.get(rollups.hour_start(hour))
        series = hourly.setdefault(outcome, [0] * len(hours))
        totals[outcome] = totals.get(outcome, 0) + calls
        if i is not None:
            series[i] += calls

    # The lists: each figure summed, in the database, over the whole days and the hours around them, plus
    # the live hours.
    days_from, days_end = rollups.whole_days(first_hour, live_from) if rolled_up else (first_hour, first_hour)
    around = Q(hours=1) & (Q(hour__gte=first_hour, hour__lt=days_from) | Q(hour__gte=days_end, hour__lt=live_from))
    in_days = Q(hours=24, hour__gte=days_from, hour__lt=days_end)
    stored_lists = ActivityHour.objects.filter(around | in_days, kind__in=("key", "user", "tool", "refused_ip"))
    calls: dict[tuple[str, str, str], int] = {}
    for kind, value, label, n in stored_lists.values_list("kind", "value", "label").annotate(n=Sum("calls")):
        calls[(kind, value, label)] = n
    last: dict[tuple[str, str, str], datetime] = {}
    for h in live:
        if h.kind != "outcome":
            calls[(h.kind, h.value, h.label)] = calls.get((h.kind, h.value, h.label), 0) + h.calls
            last[(h.kind, h.value, h.label)] = h.last
    ranked = sorted(calls.items(), key=lambda item: (-item[1], item[0][1], item[0][2]))
    shown = {kind: [entry for entry in ranked if entry[0][0] == kind][:TOP] for kind in ("key", "user", "tool", "refused_ip")}
    # The time of the last call, for the entries shown only: a month of lists holds thousands of entries.
    wanted = [Q(kind=kind, value=value, label=label) for entries in shown.values() for (kind, value, label), _ in entries]
    if wanted:
        for kind, value, label, at in (stored_lists.filter(reduce(operator.or_, wanted))
                                       .values_list("kind", "value", "label").annotate(at=Max("last"))):
            key = (kind, value, label)
            last[key] = max(last[key], at) if key in last else at

    def top(kind: str) -> list[tuple[str, str, int, datetime | None]]:
        return [(value, label, n, last.get((kind, value, label))) for (_, value, label), n in shown[kind]]

    top_keys = [{"key_public_id": v, "username": label, "calls": n, "last": last} for v, label, n, last in top("key")]
    top_users = [{"username": v, "calls": n, "last": last} for v, _, n, last in top("user")]
    tools = [{"tool": v, "calls": n, "last": last} for v, _, n, last in top("tool")]
    for row in tools:
        sample = list(
            window.filter(tool=row["tool"]).order_by("-timestamp").values_list("duration_ms", flat=True)[:MEDIAN_SAMPLE]
        )
        row["median_ms"] = round(statistics.median(sample), 1) if sample else 0.0
    refused_top_ips = [{"client_ip": v or None, "attempts": n, "last": last} for v, _, n, last in top("refused_ip")]
    return Dashboard(
        since=first_hour,
        until=until,
        hours=hours,
        hourly=hourly,
        totals=totals,
        top_keys=top_keys,
        top_users=top_users,
        tools=tools,
        refused_top_ips=refused_top_ips,
    )


def calls_by_key(public_ids: Sequence[str], window: timedelta) -> dict[str, int]:
    """Calls made with each of these keys in the last `window`, as the budgets count them (a refused
    authentication that names a key is not its call). One query on the (key, time) index."""
    since = timezone.now() - window
    rows = (PublicApiAccess.objects.filter(key_public_id__in=list(public_ids), timestamp__gte=since)
            .exclude(outcome=Outcome.UNAUTHENTICATED).order_by()
            .values("key_public_id").annotate(n=Count("id")))
    return {row["key_public_id"]: row["n"] for row in rows}
