"""Reads over the Activity Log: the dashboard's aggregates.

Every query is bounded by the time window (served by the timestamp indexes) and grouped in the
database; medians come from a bounded sample of recent rows per tool, so the page costs the same on
any database and any table size.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Max
from django.db.models.functions import TruncHour
from django.utils import timezone

from .models import Outcome, PublicApiAccess

TOP = 10
MEDIAN_SAMPLE = 1000
REFUSED = (Outcome.DENIED, Outcome.UNAUTHENTICATED)


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


def _hour(value: datetime) -> datetime:
    return value.replace(minute=0, second=0, microsecond=0)


def activity_dashboard(*, days: int = 7, now: datetime | None = None) -> Dashboard:
    until = now or timezone.now()
    first_hour = _hour(timezone.localtime(until)) - timedelta(hours=days * 24 - 1)
    window = PublicApiAccess.objects.filter(timestamp__gte=first_hour, timestamp__lte=until).order_by()

    hours = [first_hour + timedelta(hours=i) for i in range(days * 24)]
    index = {h: i for i, h in enumerate(hours)}
    hourly: dict[str, list[int]] = {o.value: [0] * len(hours) for o in Outcome}
    totals: dict[str, int] = {o.value: 0 for o in Outcome}
    grouped = window.annotate(hour=TruncHour("timestamp")).values("hour", "outcome").annotate(n=Count("id"))
    for row in grouped:
        i = index.get(_hour(timezone.localtime(row["hour"])))
        series = hourly.setdefault(row["outcome"], [0] * len(hours))
        totals[row["outcome"]] = totals.get(row["outcome"], 0) + row["n"]
        if i is not None:
            series[i] += row["n"]

    top_keys = list(
        window.exclude(key_public_id="")
        .values("key_public_id", "username")
        .annotate(calls=Count("id"), last=Max("timestamp"))
        .order_by("-calls", "key_public_id")[:TOP]
    )
    top_users = list(
        window.exclude(username="")
        .values("username")
        .annotate(calls=Count("id"), last=Max("timestamp"))
        .order_by("-calls", "username")[:TOP]
    )
    tools = list(
        window.exclude(tool="")
        .values("tool")
        .annotate(calls=Count("id"), last=Max("timestamp"))
        .order_by("-calls", "tool")[:TOP]
    )
    for row in tools:
        sample = list(
            window.filter(tool=row["tool"]).order_by("-timestamp").values_list("duration_ms", flat=True)[:MEDIAN_SAMPLE]
        )
        row["median_ms"] = round(statistics.median(sample), 1) if sample else 0.0
    refused_top_ips = list(
        window.filter(outcome__in=REFUSED)
        .values("client_ip")
        .annotate(attempts=Count("id"), last=Max("timestamp"))
        .order_by("-attempts", "client_ip")[:TOP]
    )
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
