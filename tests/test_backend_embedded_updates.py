"""The embedded backend's updateCase against real rows: validation, conflicts, atomicity, activity, tags; and one case read several times."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.backend.base import (
    CaseQuery,
    CaseUpdate,
    Conflict,
    InvalidArgument,
    NotFound,
)
from cases.models import Activity, Case, CaseTag
from tests.embedded_world import World, backend, ids
from tests.factories import (
    ROOT_SCOPE,
    make_user,
)

pytestmark = pytest.mark.django_db


# --- updateCase -------------------------------------------------------------------------------------


def _snapshot(case: Case) -> tuple:
    case = Case.objects.get(pk=case.pk)
    return (
        case.status, case.severity, case.assignee_id, case.tags, case.resolution, case.resolution_note,
        case.version, case.modified_at, case.search_text,
        sorted(CaseTag.objects.filter(case=case).values_list("tag", flat=True)),
        Activity.objects.filter(case=case).count(),
    )


@pytest.mark.parametrize(
    ("update", "word"),
    [
        (CaseUpdate(status="Closed"), "status"),
        (CaseUpdate(severity="Severe"), "severity"),
        (CaseUpdate(status="Resolved", resolution="Fixed"), "resolution"),
        (CaseUpdate(resolution="Benign"), "resolution"),  # case is New: resolution needs status Resolved
        (CaseUpdate(status="In Progress", resolution="Benign"), "resolution"),
        (CaseUpdate(assignee="gus"), "assignee"),  # no access to Acme
        (CaseUpdate(assignee="ghost"), "assignee"),  # inactive
        (CaseUpdate(assignee="nobody-at-all"), "assignee"),
        (CaseUpdate(assignee="   "), "assignee"),
        (CaseUpdate(assignee="ana", unassign=True), "assignee"),
        (CaseUpdate(tags_add=("ok", " ")), "tags.add"),
        (CaseUpdate(tags_delete=("x" * 101,)), "tags.delete"),
        (CaseUpdate(tags_add=("a",), tags_delete=("a",)), "tag"),
        (CaseUpdate(resolution_note="x" * 10_001), "resolution_note"),
        (CaseUpdate(expected_version=0), "expected_version"),
        # One valid value beside one invalid: nothing at all is written.
        (CaseUpdate(status="In Progress", severity="Low", assignee="gus", tags_add=("new",)), "assignee"),
        (CaseUpdate(status="Resolved", tags_add=("new",), tags_delete=("",)), "tags.delete"),
    ],
)
def test_update_validation_writes_nothing(w: World, update: CaseUpdate, word: str) -> None:
    before = _snapshot(w.c1)
    with CaptureQueriesContext(connection) as ctx, pytest.raises(InvalidArgument) as err:
        backend.update_case(w.acme_scope, w.c1.stellar_id, update, actor=w.ana)
    assert err.value.message.startswith(word), err.value.message
    assert _snapshot(w.c1) == before
    # Refused before any write transaction (and its lock) was opened.
    assert [q["sql"] for q in ctx.captured_queries if not q["sql"].startswith("SELECT")] == []


def test_update_bad_assignee_message_points_to_assignees(w: World) -> None:
    with pytest.raises(InvalidArgument) as err:
        backend.update_case(w.acme_scope, w.c1.stellar_id, CaseUpdate(assignee="gus"), actor=w.ana)
    assert "include=assignees" in err.value.message and "getCaseDetail" in err.value.message


def test_update_applies_writes_activity_and_bumps_version_once(w: World) -> None:
    result = backend.update_case(
        w.acme_scope,
        w.c1.stellar_id,
        CaseUpdate(status="In Progress", severity="High", assignee="BOB@corp.test", tags_add=(" triage ",), tags_delete=("email",)),
        actor=w.ana,
    )
    assert result["changes"] == [
        {"field": "status", "from": "New", "to": "In Progress"},
        {"field": "severity", "from": "Critical", "to": "High"},
        {"field": "assignee", "from": "ana", "to": "bob"},
        {"field": "tags", "from": ["phishing", "email"], "to": ["phishing", "triage"]},
    ]
    case = result["case"]
    assert case["version"] == 2 and case["status"] == "In Progress" and case["severity"] == "High"
    assert case["assignee"] == "bob" and case["tags"] == ["phishing", "triage"]
    assert case["modified_by"] == "ana" and case["modified_by_name"] == "Ana Alves"
    assert case["acknowledged"] > 0 and case["closed"] == 0
    assert case == backend.get_case(w.acme_scope, case_id=w.c1.stellar_id)

    stored = Case.objects.get(pk=w.c1.pk)
    assert stored.severity_rank == 3
    assert stored.search_text == f"{stored.ticket_id} phishing email to finance phishing triage bob a user clicked the link"
    assert sorted(CaseTag.objects.filter(case=stored).values_list("tag", flat=True)) == ["phishing", "triage"]
    assert ids(backend.list_cases(w.acme_scope, CaseQuery(tags=("triage",)))) == [w.c1.stellar_id]
    assert backend.list_cases(w.acme_scope, CaseQuery(tags=("email",))).total == 0
    assert ids(backend.list_cases(w.acme_scope, CaseQuery(search="triage"))) == [w.c1.stellar_id]

    rows = list(Activity.objects.filter(case=stored).order_by("pk").values_list("field", "from_value", "to_value", "user__username", "user_name"))
    assert rows == [
        ("status", "New", "In Progress", "ana", "Ana Alves"),
        ("severity", "Critical", "High", "ana", "Ana Alves"),
        ("assignee", "ana", "bob", "ana", "Ana Alves"),
        ("tags", "phishing, email", "phishing, triage", "ana", "Ana Alves"),
    ]
    activities = backend.list_case_activities(w.acme_scope, w.c1.stellar_id, limit=10)
    assert activities.total == 4 and {a["field"] for a in activities.items} == {"status", "severity", "assignee", "tags"}


def test_no_op_update_changes_nothing(w: World) -> None:
    before = _snapshot(w.c1)
    result = backend.update_case(
        w.acme_scope,
        w.c1.stellar_id,
        CaseUpdate(status="New", severity="Critical", assignee="ana", tags_add=("phishing",), tags_delete=("absent",)),
        actor=w.bob,
    )
    assert result["changes"] == [] and result["case"]["version"] == 1
    assert _snapshot(w.c1) == before
    assert backend.update_case(w.acme_scope, w.c1.stellar_id, CaseUpdate(), actor=w.bob)["changes"] == []


def test_resolve_with_resolution_and_reopen(w: World) -> None:
    result = backend.update_case(
        w.acme_scope, w.c1.stellar_id,
        CaseUpdate(status="Resolved", resolution="False Positive", resolution_note="test mail"), actor=w.ana,
    )
    assert [c["field"] for c in result["changes"]] == ["status", "resolution", "resolution_note"]
    assert result["changes"][1] == {"field": "resolution", "from": None, "to": "False Positive"}
    assert result["case"]["closed"] > 0 and result["case"]["resolution"] == "False Positive"
    assert result["case"]["version"] == 2
    # Already Resolved: a resolution alone is accepted.
    result = backend.update_case(w.acme_scope, w.c1.stellar_id, CaseUpdate(resolution="True Positive"), actor=w.ana)
    assert result["changes"] == [{"field": "resolution", "from": "False Positive", "to": "True Positive"}]
    # Reopening clears the resolution and the closed time.
    result = backend.update_case(w.acme_scope, w.c1.stellar_id, CaseUpdate(status="In Progress"), actor=w.ana)
    assert result["changes"] == [
        {"field": "status", "from": "Resolved", "to": "In Progress"},
        {"field": "resolution", "from": "True Positive", "to": None},
    ]
    assert result["case"]["closed"] == 0 and "resolution" not in result["case"]
    assert result["case"]["version"] == 4


def test_cancel_sets_closed(w: World) -> None:
    result = backend.update_case(w.acme_scope, w.c2.stellar_id, CaseUpdate(status="Cancelled"), actor=w.ana)
    assert result["case"]["closed"] > 0


def test_unassign(w: World) -> None:
    result = backend.update_case(w.acme_scope, w.c1.stellar_id, CaseUpdate(unassign=True), actor=w.ana)
    assert result["changes"] == [{"field": "assignee", "from": "ana", "to": None}]
    assert result["case"]["assignee"] is None and result["case"]["assignee_name"] == "Unassigned"
    assert Activity.objects.get(case=w.c1).to_value == ""
    assert backend.update_case(w.acme_scope, w.c1.stellar_id, CaseUpdate(unassign=True), actor=w.ana)["changes"] == []


def test_assignee_username_match_wins_over_email(w: World) -> None:
    make_user("carol", tenants=[w.acme], email="dave")
    dave = make_user("dave", tenants=[w.acme], email="d@corp.test")
    result = backend.update_case(w.acme_scope, w.c3.stellar_id, CaseUpdate(assignee="dave"), actor=w.ana)
    assert result["case"]["assignee"] == dave.username


def test_assignee_email_shared_by_two_users_is_ambiguous(w: World) -> None:
    make_user("e1", tenants=[w.acme], email="team@corp.test")
    make_user("e2", tenants=[w.acme], email="team@corp.test")
    with pytest.raises(InvalidArgument, match="several users"):
        backend.update_case(w.acme_scope, w.c3.stellar_id, CaseUpdate(assignee="team@corp.test"), actor=w.ana)


def test_root_user_is_assignable_anywhere(w: World) -> None:
    result = backend.update_case(ROOT_SCOPE, w.g1.stellar_id, CaseUpdate(assignee="root@corp.test"), actor=w.root)
    assert result["case"]["assignee"] == "root"


def test_expected_version_conflict_changes_nothing(w: World) -> None:
    backend.update_case(w.acme_scope, w.c1.stellar_id, CaseUpdate(severity="Low"), actor=w.ana)
    before = _snapshot(w.c1)
    with pytest.raises(Conflict) as err:
        backend.update_case(
            w.acme_scope, w.c1.stellar_id, CaseUpdate(severity="High", expected_version=1), actor=w.ana
        )
    assert "version is now 2" in err.value.message
    assert _snapshot(w.c1) == before
    result = backend.update_case(w.acme_scope, w.c1.stellar_id, CaseUpdate(severity="High", expected_version=2), actor=w.ana)
    assert result["case"]["version"] == 3


def test_actor_without_user_is_system(w: World) -> None:
    result = backend.update_case(ROOT_SCOPE, w.c2.stellar_id, CaseUpdate(severity="Low"), actor=None)
    assert result["case"]["modified_by_name"] == "System"
    assert Activity.objects.get(case=w.c2).user_name == "System"


def test_tags_dedupe_strip_and_keep_order(w: World) -> None:
    result = backend.update_case(
        w.acme_scope, w.c1.stellar_id, CaseUpdate(tags_add=("b", " b ", "a", "phishing"), tags_delete=("absent",)), actor=w.ana
    )
    assert result["case"]["tags"] == ["phishing", "email", "b", "a"]
    result = backend.update_case(w.acme_scope, w.c1.stellar_id, CaseUpdate(tags_delete=("phishing", "email", "b", "a")), actor=w.ana)
    assert result["case"]["tags"] == []
    assert not CaseTag.objects.filter(case=w.c1).exists()


# --- one case, several reads ------------------------------------------------------------------------


def test_reads_about_one_case_find_it_once(w: World) -> None:
    case_id = w.c1.stellar_id

    def lookups() -> int:
        with CaptureQueriesContext(connection) as ctx:
            backend.list_case_comments(w.acme_scope, case_id, limit=5)
            backend.list_case_observables(w.acme_scope, case_id)
            backend.list_case_activities(w.acme_scope, case_id, limit=5)
            backend.list_assignable_users(w.acme_scope, case_id)
        return sum('"stellar_id" = ' in q["sql"] or "stellar_id = " in q["sql"] for q in ctx.captured_queries)

    assert lookups() == 4
    with backend.reading_one_case():
        assert lookups() == 1
    assert lookups() == 4  # nothing kept after the block


def test_reading_one_case_keeps_every_scope_check(w: World) -> None:
    with backend.reading_one_case():
        backend.list_case_comments(w.acme_scope, w.c1.stellar_id, limit=5)
        # The same case for a caller who may not see it: still not found, worded as a miss.
        with pytest.raises(NotFound, match="No case with _id"):
            backend.list_case_comments(w.globex_scope, w.c1.stellar_id, limit=5)
        with pytest.raises(NotFound):
            backend.list_case_observables(w.globex_scope, w.c1.stellar_id)
        # A miss is not remembered as a hit.
        with pytest.raises(NotFound):
            backend.list_case_comments(w.acme_scope, w.g1.stellar_id, limit=5)
        with pytest.raises(NotFound):
            backend.list_case_comments(w.acme_scope, w.g1.stellar_id, limit=5)
