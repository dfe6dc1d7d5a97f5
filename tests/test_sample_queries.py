"""Each sample query of the product documentation, answered with the tool calls a model would make,
on seeded demo data, through the official client over gunicorn."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from accounts.services import api_key_create
from cases.models import Case
from tenants.models import Tenant, TenantAccess
from tests.mcp_helpers import McpSession

DAY_MS = 24 * 3600 * 1000
SEVERITY_RANK = {"Low": 1, "Medium": 2, "High": 3, "Critical": 4}


@pytest.fixture
def demo(live_url):
    call_command("seed_demo", tenants=5, cases=400, alerts_per_case=4, days=30, seed=7, verbosity=0)
    root = get_user_model().objects.get(username="soc-admin")
    analyst = get_user_model().objects.get(username="analyst-1")
    tenant = TenantAccess.objects.get(user=analyst).tenants.get()
    john = get_user_model().objects.create_user("john.doe", email="john.doe@company.com")
    TenantAccess.objects.create(user=john, all_tenants=False).tenants.set([tenant])
    case = Case.objects.filter(tenant=tenant, status="New").order_by("ticket_id").first()
    return {
        "url": f"{live_url}/mcp/",
        "root_key": api_key_create(user=root, name="samples")[1],
        "analyst_key": api_key_create(user=analyst, name="samples")[1],
        "analyst": analyst,
        "case": case,
    }


@pytest.fixture
def root(demo):
    with McpSession(demo["url"], demo["root_key"]) as session:
        yield session


def last(days: int) -> dict:
    now = int(time.time() * 1000)
    return {"created_at_from": now - days * DAY_MS, "created_at_to": now}


def test_list_recent_most_severe_cases_in_24_hours(root):
    cases = root.ok("listCases", {"sort": "severity", "order": "desc", "limit": 10})["cases"]
    assert cases and cases[0]["severity"] == "Critical"
    ranks = [SEVERITY_RANK[c["severity"]] for c in cases]
    assert ranks == sorted(ranks, reverse=True)


def test_open_critical_cases_assigned_to_me(demo):
    with McpSession(demo["url"], demo["analyst_key"]) as me:
        result = me.ok("listCases", {"status": "Open", "severity": "Critical", "assignee": "me", **last(30)})
    expected = Case.objects.filter(assignee=demo["analyst"], severity="Critical",
                                   status__in=["New", "In Progress", "Escalated"]).count()
    assert result["total"] == expected > 0
    assert all(c["assignee"] == "analyst-1" and c["severity"] == "Critical" for c in result["cases"])


def test_cases_related_to_ransomware_from_the_last_week(root):
    result = root.ok("listCases", {"search": "ransomware", **last(7)})
    assert result["total"] > 0
    assert all("ransomware" in (c["name"] + " ".join(c["tags"])).lower() or c["_id"] for c in result["cases"])


def all_ids(session, arguments: dict) -> list[str]:
    """Every case the listing finds, through all its pages."""
    ids, cursor = [], None
    while True:
        page = session.ok("listCases", {**arguments, "limit": 100, **({"cursor": cursor} if cursor else {})})
        ids += [c["_id"] for c in page["cases"]]
        if not (cursor := page["next_cursor"]):
            return ids


@pytest.mark.parametrize("phrase, arguments", [
    ("from the last week", {"created_within": "7d"}),
    ("from the last week", {"created_within": "1w"}),
    ("the last 90 minutes", {"created_within": "90m"}),
    ("created today", {"created_at_from": "TODAY", "created_at_to": "TODAY"}),
    ("created since yesterday 08:00 UTC", {"created_at_from": "YESTERDAYT08:00:00Z", "created_at_to": "TODAY"}),
])
def test_plain_language_times_find_what_epoch_milliseconds_find(root, phrase, arguments):
    today = datetime.now(timezone.utc).date()
    arguments = {k: v.replace("TODAY", today.isoformat()).replace("YESTERDAY", (today - timedelta(days=1)).isoformat())
                 for k, v in arguments.items()}
    plain = root.ok("listCases", {**arguments, "limit": 100})
    applied = plain["applied_filters"]
    low, high = applied["created_at_from"], applied["created_at_to"]
    # The bounds a careful model would have computed itself.
    if "created_within" in arguments:
        assert abs(high - time.time() * 1000) < 60_000
    else:
        assert applied["created_at_to_iso"] == f"{today.isoformat()}T23:59:59.999Z"
    by_epoch = all_ids(root, {"created_at_from": low, "created_at_to": high})
    assert all_ids(root, arguments) == by_epoch, phrase
    assert len(by_epoch) == plain["total"]


def test_unassigned_high_severity_cases(root):
    result = root.ok("listCases", {"assignee": "none", "severity": "High", **last(30)})
    assert result["total"] > 0
    assert all(c["assignee"] is None and c["severity"] == "High" for c in result["cases"])


def test_cases_created_today(root):
    midnight = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    result = root.ok("listCases", {"created_at_from": int(midnight.timestamp() * 1000),
                                   "created_at_to": int(time.time() * 1000)})
    assert all(c["created_at"] >= midnight.timestamp() * 1000 for c in result["cases"])


def test_case_investigation_queries(demo, root):
    ticket = demo["case"].ticket_id
    detail = root.ok("getCaseDetail", {"ticket_id": ticket})  # "Please check detail of case N"
    assert detail["case"]["ticket_id"] == ticket
    alerts, cursor = [], None  # "Show me all alerts for case N"
    while True:
        page = root.ok("getCaseAlerts", {"ticket_id": ticket, "limit": 50, **({"cursor": cursor} if cursor else {})})
        alerts += page["alerts"]
        if not (cursor := page["next_cursor"]):
            break
    assert len(alerts) == demo["case"].alerts.count()
    observables = root.ok("getCaseDetail", {"ticket_id": ticket, "include": ["observables"]})["observables"]
    assert set(observables) <= {"ip", "host", "user", "domain", "url", "hash", "email", "process", "file"}
    timeline = root.ok("getCaseDetail", {"ticket_id": ticket, "include": ["activities"]})
    assert "activities" in timeline and "activities_total" in timeline
    scores = root.ok("getCaseDetail", {"ticket_id": ticket, "include": ["scores"]})["scores"]
    assert scores["current"] == demo["case"].score
    if alerts:  # deeper look at one alert, as the doc's workflow suggests
        alert = root.ok("getAlertDetail", {"alert_id": alerts[0]["stellar_uuid"]})
        assert alert["_source"]["xdr_event"]["tactic"]["id"].startswith(("TA", "XTA"))


def test_case_assignment_queries(demo, root):
    ticket = demo["case"].ticket_id
    assignees = root.ok("getCaseDetail", {"ticket_id": ticket, "include": ["assignees"]})["assignees"]
    assert {"analyst-1", "john.doe", "soc-admin"} <= {u["username"] for u in assignees}  # "Who can I assign...?"
    chosen = assignees[0]["username"]  # "Please get one assignee to be assigned to handle case N"
    case_id = root.ok("getCaseDetail", {"ticket_id": ticket, "include": ["case"]})["_id"]
    result = root.ok("updateCase", {"_id": case_id, "assignee": chosen})
    assert result["case"]["assignee"] == chosen


def test_case_update_queries(demo, root):
    ticket = demo["case"].ticket_id
    case_id = root.ok("getCaseDetail", {"ticket_id": ticket, "include": ["case"]})["_id"]
    assert root.ok("updateCase", {"_id": case_id, "status": "In Progress"})["case"]["status"] == "In Progress"
    assigned = root.ok("updateCase", {"_id": case_id, "assignee": "john.doe@company.com"})
    assert assigned["case"]["assignee"] == "john.doe"
    assert root.ok("updateCase", {"_id": case_id, "severity": "critical"})["case"]["severity"] == "Critical"
    tags = root.ok("updateCase", {"_id": case_id, "tags": {"add": ["phishing", "email"]}})["case"]["tags"]
    assert {"phishing", "email"} <= set(tags)
    resolved = root.ok("updateCase", {"_id": case_id, "status": "Resolved", "resolution": "False Positive"})
    assert resolved["case"]["status"] == "Resolved" and resolved["case"]["resolution"] == "False Positive"
    assert Case.objects.get(stellar_id=case_id).version == 6


def test_multi_tenant_queries(root):
    tenants = root.ok("listTenant")["tenants"]  # "List all tenants I have access to"
    assert len(tenants) == Tenant.objects.count() == 5
    soc = next(t for t in tenants if "SOC" in t["cust_name"])  # "Show me cases for the SOC tenant"
    cases = root.ok("listCases", {"cust_id": soc["cust_id"], **last(30)})
    assert cases["total"] > 0 and {c["cust_id"] for c in cases["cases"]} == {soc["cust_id"]}
