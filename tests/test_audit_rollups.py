"""The dashboard's hourly roll-ups: the same figures as reading the log, kept up to date, pruned with it."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from audit import rollups
from audit.models import ActivityHour, Outcome, PublicApiAccess
from audit.selectors import activity_dashboard

pytestmark = pytest.mark.django_db(databases="__all__")

TOOLS = ("listCases", "getCaseDetail", "updateCase")
OUTCOMES = (Outcome.SUCCESS, Outcome.SUCCESS, Outcome.DENIED, Outcome.UNAUTHENTICATED, Outcome.TOOL_ERROR)


@pytest.fixture
def spread():
    """Calls every 37 minutes over the last three days, by a few keys, users, tools and addresses."""
    now = timezone.now()
    rows = []
    for i in range(3 * 24 * 60 // 37):
        user = f"user-{i % 4}" if i % 6 else ""
        rows.append(PublicApiAccess(
            timestamp=now - timedelta(minutes=37 * i), outcome=OUTCOMES[i % len(OUTCOMES)], username=user,
            key_public_id=f"key{i % 3}" if user else "", tool=TOOLS[i % len(TOOLS)] if i % 7 else "",
            client_ip=f"10.0.0.{i % 5}" if i % 9 else None, duration_ms=float(i % 50),
        ))
    PublicApiAccess.objects.bulk_create(rows)
    return now


def figures(dashboard) -> dict:
    return {
        "since": dashboard.since, "hours": dashboard.hours, "hourly": dashboard.hourly, "totals": dashboard.totals,
        "keys": dashboard.top_keys, "users": dashboard.top_users, "tools": dashboard.tools,
        "ips": dashboard.refused_top_ips,
    }


@pytest.mark.parametrize("days", [1, 7])
def test_rolled_up_hours_give_the_figures_the_log_gives(spread, days):
    expected = figures(activity_dashboard(days=days, now=spread, rolled_up=False))
    assert expected["totals"][Outcome.DENIED] > 0 and expected["keys"] and expected["ips"]
    assert figures(activity_dashboard(days=days, now=spread)) == expected  # rolls the hours up
    assert ActivityHour.objects.filter(kind="total", hours=1).count() >= days * 24 - 2  # but the last one or two
    assert figures(activity_dashboard(days=days, now=spread)) == expected  # reads them


def test_hours_are_rolled_up_only_once_they_are_over_and_settled(spread):
    activity_dashboard(days=1, now=spread)
    settled = rollups.hour_start(spread - rollups.ROLLUP_DELAY)
    assert not ActivityHour.objects.filter(hour__gte=settled).exists()
    # A call recorded late carries the time it started, possibly in an hour that just ended: that hour is
    # still read from the log.
    PublicApiAccess.objects.create(timestamp=settled + timedelta(seconds=1), outcome=Outcome.CONFLICT, tool="updateCase")
    assert activity_dashboard(days=1, now=spread).totals[Outcome.CONFLICT] == 1
    assert figures(activity_dashboard(days=1, now=spread)) == figures(
        activity_dashboard(days=1, now=spread, rolled_up=False))


def test_rolling_up_twice_keeps_one_copy(spread):
    first_hour = rollups.hour_start(spread) - timedelta(hours=47)
    rollups.roll_up(first_hour, spread)
    count = ActivityHour.objects.count()
    ActivityHour.objects.filter(kind="total", hour=first_hour + timedelta(hours=3)).delete()
    rollups.roll_up(first_hour, spread)
    assert ActivityHour.objects.count() == count


def test_retention_removes_the_roll_ups_of_what_it_removed(spread):
    activity_dashboard(days=7, now=spread)
    call_command("prune_public_api_access", "--older-than-days", "1", stdout=io.StringIO())
    cutoff = spread - timedelta(days=1)
    # Rolled up again from what is left: nothing before the cutoff.
    assert not ActivityHour.objects.filter(hours=1, hour__lt=rollups.hour_start(cutoff), calls__gt=0).exists()
    assert figures(activity_dashboard(days=7, now=spread)) == figures(
        activity_dashboard(days=7, now=spread, rolled_up=False))


def test_the_daily_retention_run_rolls_up_the_dashboards_longest_view(spread):
    call_command("prune_public_api_access", "--older-than-days", "90", stdout=io.StringIO())
    rolled = set(ActivityHour.objects.filter(kind="total", hours=1).values_list("hour", flat=True))
    settled = rollups.hour_start(timezone.now() - rollups.ROLLUP_DELAY)
    assert {settled - timedelta(hours=n) for n in range(1, 30 * 24)} <= rolled
    assert ActivityHour.objects.filter(kind="total", hours=24).count() >= 28
