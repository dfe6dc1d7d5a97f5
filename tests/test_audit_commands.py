"""Retention and SIEM export commands over the Activity Log."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from audit.export import FIELDS
from audit.models import Outcome, PublicApiAccess
from audit.recorder import AccessRecord, record_access

pytestmark = pytest.mark.django_db


def _row(tool: str, when: datetime) -> int:
    record_access(AccessRecord(tool=tool, outcome=Outcome.SUCCESS, error="=cmd|' /C calc'!A0"))
    pk = PublicApiAccess.objects.latest("id").pk
    PublicApiAccess.objects.filter(pk=pk).update(timestamp=when)
    return pk


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def aged():
    now = timezone.now()
    return {
        "ancient": _row("listCases", now - timedelta(days=400)),
        "old": _row("getCaseDetail", now - timedelta(days=100)),
        "recent": _row("listTenant", now - timedelta(days=5)),
        "today": _row("updateCase", now),
    }


def test_prune_dry_run_counts_and_deletes_nothing(aged):
    out = _run("prune_public_api_access", "--older-than-days", "90", "--dry-run")
    assert out.startswith("Would delete 2 ")
    assert PublicApiAccess.objects.count() == 4


def test_prune_deletes_only_older_rows_in_batches(aged):
    out = _run("prune_public_api_access", "--older-than-days", "30", "--batch-size", "1")
    assert out.startswith("Deleted 2 ")
    assert set(PublicApiAccess.objects.values_list("id", flat=True)) == {aged["recent"], aged["today"]}
    assert _run("prune_public_api_access", "--older-than-days", "30").startswith("Deleted 0 ")


def test_prune_refuses_a_negative_age(aged):
    with pytest.raises(CommandError):
        call_command("prune_public_api_access", "--older-than-days", "-1", stdout=io.StringIO())
    assert PublicApiAccess.objects.count() == 4


def _window():
    now = timezone.now()
    return (now - timedelta(days=150)).isoformat(), (now - timedelta(days=1)).isoformat()


def test_export_jsonl_between_since_and_until(aged):
    since, until = _window()
    out = _run("export_public_api_access", "--since", since, "--until", until, "--format", "jsonl")
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in records] == [aged["old"], aged["recent"]]  # oldest first
    assert set(records[0]) == set(FIELDS)
    assert records[0]["tool"] == "getCaseDetail" and records[0]["activity_type"] == "Public API access"


def test_export_csv_between_since_and_until(aged):
    since, until = _window()
    out = _run("export_public_api_access", "--since", since, "--until", until, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [int(r["id"]) for r in rows] == [aged["old"], aged["recent"]]
    assert rows[1]["tool"] == "listTenant"
    # A cell a client controls cannot start a spreadsheet formula.
    assert rows[0]["error"] == "'=cmd|' /C calc'!A0"
    assert not any(cell.startswith("=") for row in rows for cell in row.values())


def test_export_with_dates_only_and_no_bounds(aged):
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
    out = _run("export_public_api_access", "--until", tomorrow, "--format", "jsonl")
    assert len(out.splitlines()) == 4
    out = _run("export_public_api_access", "--format", "csv")
    assert len(list(csv.DictReader(io.StringIO(out)))) == 4


def test_export_naive_times_are_utc(aged):
    today = PublicApiAccess.objects.get(pk=aged["today"]).timestamp.astimezone(dt_timezone.utc)
    naive = today.replace(tzinfo=None).isoformat()
    out = _run("export_public_api_access", "--since", naive)
    assert [json.loads(line)["id"] for line in out.splitlines()] == [aged["today"]]


def test_export_rejects_a_bad_date():
    with pytest.raises(CommandError):
        call_command("export_public_api_access", "--since", "yesterday", stdout=io.StringIO())
