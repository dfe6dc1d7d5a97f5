"""The backend contract: updates, their changes, refusals and conflicts, alike on both backends."""

from __future__ import annotations

import pytest

from cases.backend import CaseUpdate, Conflict
from cases.models import Activity, Case
from tests.contract.world import reference, same_error
from tests.factories import ROOT_SCOPE

# --- update_case --------------------------------------------------------------------------------------

def test_update_reports_changes_and_attributes_them(w, backend):
    cid = w.c1.stellar_id
    result = backend.update_case(w.acme_scope, cid, CaseUpdate(
        status="In Progress", severity="High", assignee="BOB@corp.test", tags_add=("email", "escalated"),
        tags_delete=("phishing", "absent"), expected_version=1), actor=w.ana)
    assert result["changes"] == [
        {"field": "status", "from": "New", "to": "In Progress"},
        {"field": "severity", "from": "Critical", "to": "High"},
        {"field": "assignee", "from": "ana", "to": "bob"},
        {"field": "tags", "from": ["phishing", "email"], "to": ["email", "escalated"]},
    ]
    assert result["case"] == reference.get_case(ROOT_SCOPE, case_id=cid)
    assert result["case"]["version"] == 2 and result["case"]["modified_by"] == "ana"
    assert set(Activity.objects.filter(case=w.c1, field__in=["severity", "assignee", "tags"])
               .values_list("user_name", flat=True)) == {"Ana Alves"}


def test_resolve_unassign_and_reopen(w, backend):
    cid = w.c2.stellar_id
    resolved = backend.update_case(ROOT_SCOPE, cid, CaseUpdate(status="Resolved", resolution="False Positive",
                                                               resolution_note="Known scanner", unassign=True),
                                   actor=w.root)
    assert resolved["changes"] == [
        {"field": "status", "from": "In Progress", "to": "Resolved"},
        {"field": "resolution", "from": None, "to": "False Positive"},
        {"field": "resolution_note", "from": "", "to": "Known scanner"},
        {"field": "assignee", "from": "bob", "to": None},
    ]
    assert resolved["case"]["closed"] > 0 and resolved["case"]["assignee_name"] == "Unassigned"
    reopened = backend.update_case(ROOT_SCOPE, cid, CaseUpdate(status="New"), actor=None)
    assert reopened["changes"] == [{"field": "status", "from": "Resolved", "to": "New"},
                                   {"field": "resolution", "from": "False Positive", "to": None}]
    assert reopened["case"]["closed"] == 0 and reopened["case"]["version"] == 3


def test_update_without_change(w, backend):
    result = backend.update_case(ROOT_SCOPE, w.c1.stellar_id, CaseUpdate(
        status="New", severity="Critical", assignee="ana", tags_add=("email",), tags_delete=("absent",)), actor=w.ana)
    assert result["changes"] == [] and result["case"]["version"] == 1
    assert result["case"] == reference.get_case(ROOT_SCOPE, case_id=w.c1.stellar_id)
    assert not Activity.objects.filter(case=w.c1, field="severity").exists()


@pytest.mark.parametrize("update", [
    CaseUpdate(status="Done"),
    CaseUpdate(severity="Urgent"),
    CaseUpdate(resolution="Benign"),
    CaseUpdate(status="Resolved", resolution="Maybe"),
    CaseUpdate(assignee="gus"),  # cannot see Acme
    CaseUpdate(assignee="nobody-like-this", status="Escalated"),
    CaseUpdate(assignee="ana", unassign=True),
    CaseUpdate(tags_add=("",)),
    CaseUpdate(tags_add=("x",), tags_delete=("x",)),
    CaseUpdate(severity="Low", expected_version=3),
    CaseUpdate(severity="Low", expected_version=0),
])
def test_refused_updates_change_nothing(w, backend, update):
    cid = w.c1.stellar_id
    same_error(lambda: backend.update_case(w.acme_scope, cid, update, actor=w.ana),
               lambda: reference.update_case(w.acme_scope, cid, update, actor=w.ana))
    row = Case.objects.get(pk=w.c1.pk)
    assert (row.status, row.severity, row.version, row.assignee_id) == ("New", "Critical", 1, w.ana.pk)


def test_conflict_names_the_current_version(w, backend):
    backend.update_case(ROOT_SCOPE, w.c1.stellar_id, CaseUpdate(severity="High", expected_version=1), actor=w.ana)
    with pytest.raises(Conflict) as exc:
        backend.update_case(ROOT_SCOPE, w.c1.stellar_id, CaseUpdate(severity="Low", expected_version=1), actor=w.ana)
    assert "its version is now 2, not 1" in exc.value.message
    assert Case.objects.get(pk=w.c1.pk).severity == "High"


def test_update_of_hidden_or_missing_case(w, backend):
    for case_id in (w.g1.stellar_id, "0123456789abcdef01234567"):
        same_error(lambda: backend.update_case(w.acme_scope, case_id, CaseUpdate(severity="Low"), actor=w.ana),
                   lambda: reference.update_case(w.acme_scope, case_id, CaseUpdate(severity="Low"), actor=w.ana))
    assert Case.objects.get(pk=w.g1.pk).severity == "Critical"


