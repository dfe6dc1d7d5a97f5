"""`seed_demo`: determinism, counts, the 24-hour share, idempotence, demo users, and the shape of the data."""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections import Counter
from datetime import timedelta
from io import StringIO
from random import Random

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.utils import timezone

from cases.demo_data import catalog, mitre, plan_alert_counts, seed_demo
from cases.models import Activity, Alert, Case, CaseTag, Comment, Observable, ObservableType, ScoreHistory
from tenants.models import Tenant
from tests.seed_support import NOW, SMALL, User, snapshot, times, wipe

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]


def test_same_seed_gives_the_same_data_shifted_to_the_moment_of_the_run() -> None:
    seed_demo(**SMALL, seed=7, now=NOW)
    first, first_times = snapshot(), times()
    wipe()
    assert not Case.objects.exists()
    later = NOW + timedelta(days=1, hours=3)
    seed_demo(**SMALL, seed=7, now=later)
    assert snapshot() == first
    # Same content, every time moved by exactly the gap between the two runs.
    shift = later - NOW
    second_times = times()
    assert [(c + shift, m + shift, x and x + shift) for c, m, x in first_times["cases"]] == second_times["cases"]
    assert [t + shift for t in first_times["alerts"]] == second_times["alerts"]


def test_same_seed_and_moment_give_identical_documents() -> None:
    seed_demo(**SMALL, seed=7, now=NOW)
    alerts = list(Alert.objects.order_by("stellar_uuid").values_list("index", "source", "ai_summary"))
    cases = list(Case.objects.order_by("ticket_id").values_list("ai_summary", flat=True))
    wipe()
    seed_demo(**SMALL, seed=7, now=NOW)
    assert list(Alert.objects.order_by("stellar_uuid").values_list("index", "source", "ai_summary")) == alerts
    assert list(Case.objects.order_by("ticket_id").values_list("ai_summary", flat=True)) == cases


def test_another_seed_gives_other_data() -> None:
    seed_demo(**SMALL, seed=7, now=NOW)
    first = snapshot()
    wipe()
    seed_demo(**SMALL, seed=8, now=NOW)
    second = snapshot()
    assert {t[0] for t in first["tenants"]}.isdisjoint({t[0] for t in second["tenants"]})
    assert {c[1] for c in first["cases"]}.isdisjoint({c[1] for c in second["cases"]})
    assert [c[3] for c in first["cases"]] != [c[3] for c in second["cases"]]


def test_counts_match_the_arguments() -> None:
    result = seed_demo(tenants=4, cases=80, alerts_per_case=3, days=10, seed=1)
    assert Tenant.objects.count() == result.tenants == 4
    assert Case.objects.count() == result.cases == 80
    assert Alert.objects.count() == result.alerts == 240
    assert result.comments == Comment.objects.count() > 0
    assert result.activities == Activity.objects.count() > 0
    assert result.observables == Observable.objects.count() > 0
    assert result.score_history == ScoreHistory.objects.count() >= 80
    tickets = list(Case.objects.order_by("ticket_id").values_list("ticket_id", flat=True))
    assert tickets == list(range(1000, 1080))
    # `size` is the real number of alerts of each case, and sizes vary.
    sizes = dict(Case.objects.values_list("pk", "size"))
    counted = Counter(Alert.objects.values_list("case_id", flat=True))
    assert all(counted.get(pk, 0) == size for pk, size in sizes.items())
    assert max(sizes.values()) > 3 and len(set(sizes.values())) > 2
    assert all(size <= 9 for size in sizes.values())


def test_alert_counts_vary_around_the_mean_and_add_up_exactly() -> None:
    sizes = plan_alert_counts(Random(3), cases=5000, alerts_per_case=5)
    assert sum(sizes) == 25_000
    assert 0 in sizes and max(sizes) == 15 and min(s for s in sizes if s) == 1
    assert 0.02 < sizes.count(0) / len(sizes) < 0.1
    assert plan_alert_counts(Random(3), cases=10, alerts_per_case=0) == [0] * 10


def test_at_least_ten_percent_in_the_last_24_hours_and_the_rest_spread_over_days() -> None:
    seed_demo(tenants=2, cases=200, alerts_per_case=1, days=14, seed=5)
    now = timezone.now()
    created = list(Case.objects.order_by("ticket_id").values_list("created_at", flat=True))
    recent = [c for c in created if c >= now - timedelta(hours=24)]
    assert len(recent) >= 0.10 * len(created)
    assert all(now - timedelta(days=14, minutes=1) <= c <= now for c in created)
    assert min(created) < now - timedelta(days=10)  # spread over the whole range, not bunched up
    assert created == sorted(created)  # ticket ids grow with time
    assert not Alert.objects.filter(timestamp__gt=now).exists()


def test_running_twice_changes_nothing_the_second_time() -> None:
    out = StringIO()
    call_command("seed_demo", "--tenants", "2", "--cases", "15", "--alerts-per-case", "2", stdout=out)
    assert "Created 2 tenants, 15 cases, 30 alerts" in out.getvalue()
    before = snapshot()
    again = StringIO()
    call_command("seed_demo", "--tenants", "2", "--cases", "15", "--alerts-per-case", "2", stdout=again)
    assert "already present" in again.getvalue()
    assert snapshot() == before


def test_invalid_arguments_are_refused() -> None:
    with pytest.raises(CommandError):
        call_command("seed_demo", "--tenants", "0", stdout=StringIO())
    assert not Tenant.objects.exists()


def test_root_user_and_one_analyst_per_tenant(monkeypatch) -> None:
    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", "admin-from-env-1")
    monkeypatch.delenv("DEMO_ANALYST_PASSWORD", raising=False)
    out = StringIO()
    call_command("seed_demo", "--tenants", "3", "--cases", "30", "--alerts-per-case", "2", stdout=out)
    text = out.getvalue()

    admin = User.objects.get(username="soc-admin")
    assert admin.is_superuser and admin.is_staff and admin.check_password("admin-from-env-1")
    assert admin.tenant_access.all_tenants
    assert "admin-from-env-1" not in text  # a password from the environment is not echoed

    generated = re.search(r"Analysts log in at \S+ with password (\S+)", text).group(1)
    tenants = list(Tenant.objects.order_by("id"))
    for number, tenant in enumerate(tenants, start=1):
        analyst = User.objects.get(username=f"analyst-{number}")
        assert analyst.email == f"analyst-{number}@example.com"
        assert analyst.first_name and analyst.last_name
        assert not analyst.is_staff and not analyst.is_superuser
        assert analyst.check_password(generated)
        access = analyst.tenant_access
        assert not access.all_tenants and list(access.tenants.all()) == [tenant]
    assert User.objects.count() == 4

    # Cases go to people who can see them, and some wait for someone.
    for case in Case.objects.select_related("assignee__tenant_access").exclude(assignee=None):
        access = case.assignee.tenant_access
        assert access.all_tenants or access.tenants.filter(pk=case.tenant_id).exists()
    assert Case.objects.filter(assignee=None).exists()
    assert Case.objects.filter(assignee__username__startswith="analyst-").exists()


def test_generated_admin_password_is_printed_once_and_works(monkeypatch) -> None:
    monkeypatch.delenv("DEMO_ADMIN_PASSWORD", raising=False)
    out = StringIO()
    call_command("seed_demo", "--tenants", "1", "--cases", "3", stdout=out)
    password = re.search(r"as soc-admin / (\S+) \(shown once\)", out.getvalue()).group(1)
    assert len(password) >= 12
    assert User.objects.get(username="soc-admin").check_password(password)


def test_an_existing_soc_admin_keeps_its_password() -> None:
    User.objects.create_user("soc-admin", password="my-own-password")
    result = seed_demo(tenants=1, cases=2, admin_password="ignored-password")
    admin = User.objects.get(username="soc-admin")
    assert result.admin_existed and admin.check_password("my-own-password")
    assert admin.tenant_access.all_tenants


HEX = re.compile(r"^[0-9a-f]+$")


def test_ids_and_formats() -> None:
    seed_demo(**SMALL, seed=3)
    for tenant in Tenant.objects.all():
        tenant.full_clean()
        assert len(tenant.cust_id) == 32 and tenant.tgrp_name in catalog.TENANT_GROUPS
    assert set(Tenant.objects.values_list("cust_name", flat=True)) == {"Acme Corp", "Globex Corporation", "Internal SOC"}
    for case in Case.objects.all()[:20]:
        case.full_clean()
        assert HEX.match(case.stellar_id) and len(case.stellar_id) == 24
        assert case.summary.startswith("Observed ") and "XDR Kill Chain Stages" in case.summary
        assert set(CaseTag.objects.filter(case=case).values_list("tag", flat=True)) == set(case.tags)
        assert case.version == 1 + case.activities.count()
        assert case.start_timestamp <= case.end_timestamp
    for alert in Alert.objects.select_related("tenant")[:50]:
        assert re.fullmatch(r"[A-Za-z0-9_-]{20}", alert.es_id)
        assert uuid.UUID(alert.stellar_uuid).version == 4
        assert alert.index == f"aella-ser-{alert.timestamp:%Y.%m.%d}"
        doc = alert.source
        assert doc["stellar_uuid"] == alert.stellar_uuid
        assert doc["tenantid"] == alert.tenant.cust_id and doc["tenant_name"] == alert.tenant.cust_name
        assert doc["timestamp"] == int(alert.timestamp.timestamp() * 1000)
        tactic, technique = doc["xdr_event"]["tactic"], doc["xdr_event"]["technique"]
        assert mitre.TACTICS[tactic["id"]] == tactic["name"] == alert.tactic_name
        assert mitre.TECHNIQUES[technique["id"]].technique_name == technique["name"] == alert.technique_name
        assert doc["xdr_event"]["name"] and doc["xdr_event"]["display_name"] == alert.name
        assert isinstance(doc["severity"], int) and 0 <= doc["severity"] <= 100 and doc["severity"] == alert.severity
        assert 0 <= doc["event_score"] <= 100 and doc["event_status"] == alert.event_status
        assert doc["detected_fields"] and len(doc["detected_fields"]) == len(doc["detected_values"])
        ipaddress.ip_address(doc["srcip"])
        geo = doc["srcip_geo"]
        assert {"city", "countryCode", "countryName", "latitude", "longitude"} <= set(geo)
        if doc["dstip"]:
            ipaddress.ip_address(doc["dstip"])
            assert "dstip_geo" in doc


def test_content_is_varied_and_searchable() -> None:
    seed_demo(tenants=3, cases=300, alerts_per_case=3, days=30, seed=42)
    assert Case.objects.values("status").distinct().count() == 5
    assert Case.objects.values("severity").distinct().count() == 4
    assert set(Case.objects.exclude(resolution="").values_list("resolution", flat=True)) == {
        "True Positive", "False Positive", "Benign"}
    assert not Case.objects.filter(resolution="").filter(status="Resolved").exists()
    assert set(Observable.objects.values_list("type", flat=True)) == set(ObservableType.values)
    with_ai = Case.objects.exclude(ai_summary=None).count()
    assert 0.2 < with_ai / 300 < 0.4
    assert Alert.objects.exclude(ai_summary=None).exists()
    # "Find cases related to ransomware from the last week"
    week = timezone.now() - timedelta(days=7)
    assert Case.objects.filter(created_at__gte=week, search_text__contains="ransomware").count() >= 3
    assert Case.objects.filter(name__startswith="Ransomware: Data Encrypted for Impact on WS-").exists()
    # "List unassigned high-severity cases", "Show me all open critical cases assigned to me"
    assert Case.objects.filter(assignee=None, severity="High").exists()
    assert Case.objects.filter(assignee__username="analyst-1", severity="Critical",
                               status__in=["New", "In Progress", "Escalated"]).exists()


def test_ai_summary_structure() -> None:
    seed_demo(tenants=1, cases=40, alerts_per_case=3, seed=11)
    summaries = list(Case.objects.exclude(ai_summary=None).values_list("ai_summary", "resolution"))
    assert summaries
    for summary, resolution in summaries:
        assert summary["timeline"] and {"time", "event"} <= set(summary["timeline"][0])
        assert summary["hypothesis"]["text"]
        for m in summary["hypothesis"]["mitre"]:
            assert mitre.TACTICS[m["tactic_id"]] == m["tactic_name"]
            assert mitre.TECHNIQUES[m["technique_id"]].technique_name == m["technique_name"]
        assert all({"type", "value"} <= set(e) for e in summary["key_entities"])
        assert all({"from", "to", "relation"} <= set(r) for r in summary["relations"])
        assert summary["recommendations"] and summary["concise_summary"] and summary["triage_state"]
        assert summary["verdict"] in ("True Positive", "False Positive")
        if resolution:
            assert (summary["verdict"] == "True Positive") == (resolution == "True Positive")


def test_history_is_consistent_with_the_case() -> None:
    seed_demo(tenants=2, cases=80, alerts_per_case=3, seed=9)
    resolved = Case.objects.filter(status="Resolved").first()
    assert resolved.closed and resolved.resolution and resolved.resolution_note
    fields = list(resolved.activities.order_by("timestamp", "id").values_list("field", "to_value"))
    assert ("status", "Resolved") in fields and ("resolution", resolved.resolution) in fields
    for case in Case.objects.annotate(n=Count("score_history")):
        latest = case.score_history.order_by("-timestamp", "-id").first()
        assert latest.score == case.score and latest.reasons and "reason" in latest.reasons[0]
        assert case.modified_at >= case.created_at
    new_cases = Case.objects.filter(status="New")
    assert not Activity.objects.filter(case__in=new_cases, field="status").exists()


def test_quiet_run_prints_only_the_generated_passwords(monkeypatch) -> None:
    monkeypatch.delenv("DEMO_ADMIN_PASSWORD", raising=False)
    monkeypatch.setenv("DEMO_ANALYST_PASSWORD", "analyst-from-env-1")
    out = StringIO()
    call_command("seed_demo", "--tenants", "1", "--cases", "3", "-v0", stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and "as soc-admin / " in lines[0]
    assert User.objects.get(username="analyst-1").check_password("analyst-from-env-1")
