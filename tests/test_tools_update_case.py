"""updateCase over the official client: validation, conflicts, atomicity, activity rows, no-op calls."""

from __future__ import annotations

import pytest

from accounts.services import api_key_create
from cases.models import Activity, Case, CaseTag
from tests.factories import make_case, make_tenant, make_user
from tests.mcp_helpers import McpSession


@pytest.fixture
def world(live_url):
    acme, globex = make_tenant("Acme"), make_tenant("Globex")
    alice = make_user("alice", tenants=[acme], email="alice@acme.test")
    make_user("john.doe", tenants=[acme], email="john.doe@company.com")
    make_user("carol", tenants=[globex])
    make_user("gone", tenants=[acme], is_active=False)
    case = make_case(acme, name="Phishing wave", status="New", severity="Medium", tags=["phishing"], assignee=alice)
    key = api_key_create(user=alice, name="rw")[1]
    return {"case": case, "url": f"{live_url}/mcp/", "key": key}


@pytest.fixture
def mcp(world):
    with McpSession(world["url"], world["key"]) as session:
        yield session


def fresh(case: Case) -> Case:
    return Case.objects.get(pk=case.pk)


def test_update_changes_fields_writes_activities_and_bumps_version(world, mcp):
    case = world["case"]
    result = mcp.ok("updateCase", {"_id": case.stellar_id, "status": "in progress", "severity": "Critical",
                                   "assignee": "john.doe@company.com", "tags": {"add": ["email", "phishing"]},
                                   "expected_version": 1})
    changes = {c["field"]: (c["from"], c["to"]) for c in result["changes"]}
    assert changes["status"] == ("New", "In Progress")
    assert changes["severity"] == ("Medium", "Critical")
    assert changes["assignee"][1] == "john.doe"
    assert "tags" in changes
    assert result["case"]["version"] == 2 and result["case"]["status"] == "In Progress"
    row = fresh(case)
    assert (row.status, row.severity, row.assignee.username, row.version) == ("In Progress", "Critical", "john.doe", 2)
    assert sorted(row.tags) == ["email", "phishing"]
    assert set(CaseTag.objects.filter(case=case).values_list("tag", flat=True)) == {"email", "phishing"}
    activities = Activity.objects.filter(case=case)
    assert {a.field for a in activities} >= {"status", "severity", "assignee"}
    assert all(a.user_name == "alice" for a in activities)


def test_resolve_with_resolution_and_unassign(world, mcp):
    case = world["case"]
    result = mcp.ok("updateCase", {"_id": case.stellar_id, "status": "Resolved", "resolution": "false positive",
                                   "resolution_note": "Known scanner", "assignee": None})
    assert result["case"]["resolution"] == "False Positive"
    row = fresh(case)
    assert row.status == "Resolved" and row.resolution == "False Positive" and row.assignee is None
    assert row.closed is not None


def test_tag_delete(world, mcp):
    mcp.ok("updateCase", {"_id": world["case"].stellar_id, "tags": {"delete": ["phishing", "absent"]}})
    assert fresh(world["case"]).tags == []
    assert not CaseTag.objects.filter(case=world["case"]).exists()


def test_nothing_to_change_says_so(world, mcp):
    result = mcp.ok("updateCase", {"_id": world["case"].stellar_id, "status": "New", "severity": "Medium"})
    assert result["changes"] == [] and "No change" in result["message"]
    assert fresh(world["case"]).version == 1
    assert not Activity.objects.filter(case=world["case"]).exists()


@pytest.mark.parametrize("arguments, words", [
    ({"ticket_id": 1300, "status": "New"}, "needs the case _id, not ticket_id: call getCaseDetail with ticket_id=1300"),
    ({"status": "Done"}, "status"),
    ({"severity": "Urgent"}, "severity"),
    ({"resolution": "Benign"}, "resolution can only be set together with status 'Resolved'"),
    ({"status": "Resolved", "resolution": "Maybe"}, "resolution"),
    ({}, "nothing to update"),
    ({"assignee": "carol"}, "assignee"),
    ({"assignee": "gone"}, "assignee"),
    ({"assignee": "nobody-like-this"}, "assignee"),
    ({"tags": {"add": [""]}}, "tag"),
    ({"tags": {"rename": ["x"]}}, "rename"),
    ({"priority": "High"}, "unknown argument 'priority'"),
    ({"expected_version": 0, "status": "New"}, "expected_version"),
])
def test_invalid_updates_change_nothing(world, mcp, arguments, words):
    case = world["case"]
    if "ticket_id" not in arguments:
        arguments = {"_id": case.stellar_id, **arguments}
    message = mcp.fails("updateCase", arguments)
    assert words in message
    row = fresh(case)
    assert (row.status, row.severity, row.version, row.assignee.username) == ("New", "Medium", 1, "alice")
    assert not Activity.objects.filter(case=case).exists()


def test_a_valid_change_next_to_an_invalid_one_is_not_applied(world, mcp):
    case = world["case"]
    assert "assignee" in mcp.fails("updateCase", {"_id": case.stellar_id, "status": "Escalated", "assignee": "carol"})
    row = fresh(case)
    assert row.status == "New" and row.version == 1
    assert not Activity.objects.filter(case=case).exists()


def test_expected_version_conflict(world, mcp):
    case = world["case"]
    mcp.ok("updateCase", {"_id": case.stellar_id, "severity": "High", "expected_version": 1})
    message = mcp.fails("updateCase", {"_id": case.stellar_id, "severity": "Low", "expected_version": 1})
    assert "version" in message and "2" in message
    assert fresh(case).severity == "High" and fresh(case).version == 2


def test_unknown_case(mcp):
    assert "No case with _id" in mcp.fails("updateCase", {"_id": "0" * 24, "status": "New"})
