"""One contract for the backend interface, run against both implementations: the embedded backend
directly, and the upstream backend over HTTP against a second live instance of this project serving the
Public API (gunicorn on another loopback port, reading the same test database).

Each test states what the interface must answer and, for the upstream backend, that the answer (or the
error type and message) is exactly the embedded backend's on the same data.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from accounts.services import api_key_create
from cases.backend import CaseQuery, CaseUpdate, Conflict, InvalidArgument, NotFound
from cases.backend.embedded import EmbeddedBackend
from cases.backend.serializers import to_ms
from cases.backend.upstream import UpstreamBackend
from cases.backend.upstream_client import UpstreamConfig, release
from cases.models import Activity, Case
from tenants.scope import TenantScope
from tests.factories import (
    NO_TENANTS,
    ROOT_SCOPE,
    make_activity,
    make_alert,
    make_case,
    make_comment,
    make_observable,
    make_score,
    make_tenant,
    make_user,
    scope_for,
)

reference = EmbeddedBackend()
T0 = datetime(2024, 3, 20, 12, 0, tzinfo=UTC)
AI = {"verdict": "True Positive", "concise_summary": "Phishing that led to a credential theft."}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def full_alert(case: Case, name: str, ts: datetime, *, tactic: tuple[str, str] = ("TA0001", "Initial Access"),
               **fields: Any):
    """An alert whose _source holds what the alert row denormalises (as seeded and real alerts do)."""
    uuid = secrets.token_hex(16)
    source = {
        "stellar_uuid": uuid, "tenantid": case.tenant.cust_id, "timestamp": to_ms(ts),
        "xdr_event": {"name": name.lower(), "display_name": name, "tactic": {"id": tactic[0], "name": tactic[1]},
                      "technique": {"id": "T1566", "name": "Phishing"}},
        "severity": 60, "event_score": 55, "event_status": "New", "srcip": "10.0.0.5", "dstip": "8.8.8.8",
    }
    return make_alert(case, stellar_uuid=uuid, timestamp=ts, name=name, source=source, tactic_id=tactic[0],
                      tactic_name=tactic[1], technique_id="T1566", technique_name="Phishing", severity=60,
                      event_score=55, event_status="New", srcip="10.0.0.5", dstip="8.8.8.8", **fields)


class World:
    def __init__(self) -> None:
        self.acme = make_tenant("Acme", tgrp_name="Group A", attributes={"contact": "soc@acme.test"})
        self.globex = make_tenant("Globex")
        self.ana = make_user("ana", tenants=[self.acme], first_name="Ana", last_name="Alves")
        self.bob = make_user("bob", tenants=[self.acme, self.globex], email="bob@corp.test")
        self.gus = make_user("gus", tenants=[self.globex])
        self.root = make_user("root", root=True)
        self.c1 = make_case(self.acme, name="Phishing email to finance", status="New", severity="Critical", score=90,
                            assignee=self.ana, tags=["phishing", "email"], created_at=at(0), modified_at=at(30),
                            summary="A user clicked the link\nObserved 1 tactics: Initial Access", ai_summary=AI,
                            size=7, acknowledged=at(5), start_timestamp=at(-10), end_timestamp=at(0))
        self.c2 = make_case(self.acme, name="Malware beacon", status="In Progress", severity="High", score=70.5,
                            assignee=self.bob, tags=["malware"], created_at=at(1), modified_at=at(10))
        self.c3 = make_case(self.acme, name="Port scan", status="Resolved", severity="Low", score=50,
                            created_at=at(2), modified_at=at(20), resolution="Benign", closed=at(20))
        self.c4 = make_case(self.acme, name="Odd login", status="Escalated", severity="Medium", score=50,
                            tags=["phishing"], created_at=at(3), modified_at=at(5))
        self.g1 = make_case(self.globex, name="Globex secret falcon", status="New", severity="Critical", score=95,
                            assignee=self.gus, tags=["phishing"], created_at=at(4), modified_at=at(4),
                            summary="zebraword")
        # Three cases inside one millisecond, and more score ties: pages must split ties the same way.
        self.ties = [make_case(self.acme, name=f"Burst {i}", score=50, created_at=at(6) + timedelta(microseconds=100 * i),
                               modified_at=at(6)) for i in range(3)]
        self.alerts = [full_alert(self.c1, f"Alert {i}", at(-i)) for i in range(6)]
        self.alerts.append(full_alert(self.c1, "Same instant", at(-2)))  # a timestamp tie
        self.shared_a = full_alert(self.c2, "Shared id A", at(1), es_id="shared-es-id")
        self.shared_b = full_alert(self.g1, "Shared id B", at(2), es_id="shared-es-id")
        self.g_alert = full_alert(self.g1, "Globex alert", at(4), ai_summary={"summary": "beacon"})
        for i in range(12):
            make_comment(self.c1, f"comment {i}", user=self.ana if i % 2 else None, at=at(i))
            make_activity(self.c1, "status", "New", "In Progress", user_name="System", timestamp=at(i))
            make_score(self.c1, 40 + i, timestamp=at(i), reasons=[{"reason": f"alert {i}"}])
        make_comment(self.c1, "same minute", at=at(3))  # a timestamp tie among comments
        make_observable(self.c1, "ip", "10.0.0.5", count=3, first_seen=at(-5), last_seen=at(0))
        make_observable(self.c1, "ip", "10.0.0.6", count=1, first_seen=at(-5), last_seen=at(0))
        make_observable(self.c1, "host", "WS-042", count=2, first_seen=at(-5), last_seen=at(0))
        self.acme_scope = scope_for(self.acme)
        self.globex_scope = scope_for(self.globex)
        self.key = api_key_create(user=self.root, name="gateway")[1]


@pytest.fixture
def w(public_api_url) -> World:
    world = World()
    world.url = public_api_url
    return world


@pytest.fixture(params=["embedded", "upstream"])
def backend(request, w):
    if request.param == "embedded":
        yield EmbeddedBackend()
        return
    config = UpstreamConfig(url=w.url, api_key=w.key, timeout=10, max_retries=1)
    yield UpstreamBackend(config)
    release(config)


def same_error(call, expected_call) -> Exception:
    """`call` raises what `expected_call` (the embedded backend) raises: same class, same message."""
    with pytest.raises(Exception) as expected:
        expected_call()
    with pytest.raises(type(expected.value)) as got:
        call()
    assert type(got.value) is type(expected.value)
    assert got.value.message == expected.value.message
    return got.value


def tickets(page) -> set[int]:
    return {c["ticket_id"] for c in page.items}


# --- list_cases -------------------------------------------------------------------------------------

FILTERS = [
    ({}, {"c1", "c2", "c3", "c4", "g1", "ties"}),
    ({"statuses": ("New",)}, {"c1", "g1", "ties"}),
    ({"statuses": ("New", "In Progress")}, {"c1", "c2", "g1", "ties"}),
    ({"severities": ("Critical", "Low")}, {"c1", "c3", "g1"}),
    ({"assignee": "ana"}, {"c1"}),
    ({"assignee": "Bob@Corp.Test"}, {"c2"}),
    ({"unassigned": True, "statuses": ("Resolved", "Escalated")}, {"c3", "c4"}),
    ({"name": "PHISH"}, {"c1"}),
    ({"tags": ("malware", "email")}, {"c1", "c2"}),
    ({"min_score": 70.5}, {"c1", "c2", "g1"}),
    ({"search": "clicked"}, {"c1"}),
    ({"search": "PHISHING finance"}, {"c1"}),
    ({"search": "bob"}, {"c2"}),
    ({"cust_id": None, "search": "zebraword"}, {"g1"}),
    ({"created_from": to_ms(at(1)), "created_to": to_ms(at(3))}, {"c2", "c3", "c4"}),
    ({"modified_from": to_ms(at(10)), "modified_to": to_ms(at(20))}, {"c2", "c3"}),
    ({"statuses": ("New",), "tags": ("phishing",), "min_score": 92}, {"g1"}),
]


def test_list_filters(w, backend):
    names = {n: getattr(w, n) for n in ("c1", "c2", "c3", "c4", "g1")}
    for filters, expected in FILTERS:
        want = {names[n].ticket_id for n in expected - {"ties"}} | (
            {c.ticket_id for c in w.ties} if "ties" in expected else set())
        query = CaseQuery(limit=50, **filters)
        page = backend.list_cases(ROOT_SCOPE, query)
        assert tickets(page) == want, filters
        assert page.total == len(want) and page.next_cursor is None, filters
        assert page.items == reference.list_cases(ROOT_SCOPE, query).items, filters


def test_tenant_filter_and_scope(w, backend):
    acme_only = backend.list_cases(w.acme_scope, CaseQuery(limit=50))
    assert {c["cust_id"] for c in acme_only.items} == {w.acme.cust_id} and acme_only.total == 7
    assert tickets(backend.list_cases(ROOT_SCOPE, CaseQuery(cust_id=w.globex.cust_id))) == {w.g1.ticket_id}
    # A tenant outside the scope, and a scope without tenants, list nothing (no error, no count).
    for scope, cust_id in ((w.acme_scope, w.globex.cust_id), (NO_TENANTS, None)):
        page = backend.list_cases(scope, CaseQuery(cust_id=cust_id))
        assert (page.items, page.total, page.next_cursor) == ([], 0, None)
    two = TenantScope(all_tenants=False, cust_ids=frozenset({w.acme.cust_id, w.globex.cust_id}))
    assert backend.list_cases(two, CaseQuery(limit=50)).total == 8


@pytest.mark.parametrize("sort", ["created_at", "modified_at", "score", "ticket_id", "severity"])
def test_sort_and_paging(w, backend, sort):
    for order in ("asc", "desc"):
        everything = reference.list_cases(ROOT_SCOPE, CaseQuery(sort=sort, order=order, limit=50)).items
        seen, totals, cursor = [], set(), None
        while True:
            page = backend.list_cases(ROOT_SCOPE, CaseQuery(sort=sort, order=order, limit=2, cursor=cursor))
            seen += page.items
            totals.add(page.total)
            if (cursor := page.next_cursor) is None:
                break
        assert seen == everything, (sort, order)
        assert totals == {len(everything)}


def test_pages_do_not_shift_when_cases_arrive(w, backend):
    seen: list[str] = []
    page = backend.list_cases(ROOT_SCOPE, CaseQuery(limit=3))
    first_total = page.total
    while True:
        seen += [c["_id"] for c in page.items]
        make_case(w.acme, name="Arrived meanwhile", created_at=at(60 + len(seen)))  # newer than all listed
        if page.next_cursor is None:
            break
        page = backend.list_cases(ROOT_SCOPE, CaseQuery(limit=3, cursor=page.next_cursor))
    assert len(seen) == len(set(seen)) == first_total == 8


def test_cursor_errors(w, backend):
    first = backend.list_cases(ROOT_SCOPE, CaseQuery(limit=1))
    cursor = first.next_cursor
    bad = [
        (ROOT_SCOPE, CaseQuery(limit=1, severities=("High",), cursor=cursor)),  # other filters
        (w.acme_scope, CaseQuery(limit=1, cursor=cursor)),  # other caller
        (ROOT_SCOPE, CaseQuery(limit=1, cursor=cursor[:-3] + ("aaa" if not cursor.endswith("aaa") else "bbb"))),
        (ROOT_SCOPE, CaseQuery(limit=1, cursor="forged")),
    ]
    for scope, query in bad:
        with pytest.raises(InvalidArgument) as exc:
            backend.list_cases(scope, query)
        assert "cursor is invalid or belongs to a different query" in exc.value.message
    # The limit may change between pages.
    assert backend.list_cases(ROOT_SCOPE, CaseQuery(limit=5, cursor=cursor)).items


@pytest.mark.parametrize("query", [
    CaseQuery(sort="name"), CaseQuery(order="up"), CaseQuery(limit=0), CaseQuery(limit=501),
    CaseQuery(statuses=("Open-ish",)), CaseQuery(severities=("Urgent",)),
])
def test_list_argument_errors(w, backend, query):
    same_error(lambda: backend.list_cases(ROOT_SCOPE, query), lambda: reference.list_cases(ROOT_SCOPE, query))


# --- get_case and its sections ------------------------------------------------------------------------

def test_get_case(w, backend):
    for case in (w.c1, w.c3, w.g1):
        by_id = backend.get_case(ROOT_SCOPE, case_id=case.stellar_id)
        assert by_id == reference.get_case(ROOT_SCOPE, case_id=case.stellar_id)
        assert backend.get_case(ROOT_SCOPE, ticket_id=case.ticket_id) == by_id
    record = backend.get_case(ROOT_SCOPE, case_id=w.c1.stellar_id)
    assert record["assignee"] == "ana" and record["assignee_name"] == "Ana Alves"
    assert record["acknowledged"] == to_ms(at(5)) and record["closed"] == 0 and record["closed_iso"] is None
    assert backend.get_case(ROOT_SCOPE, case_id=w.c3.stellar_id)["resolution"] == "Benign"


@pytest.mark.parametrize("who", ["missing", "other tenant"])
def test_get_case_misses_read_alike(w, backend, who):
    scope = w.acme_scope
    case_id, ticket_id = ("0123456789abcdef01234567", 999_999) if who == "missing" else (w.g1.stellar_id, w.g1.ticket_id)
    err = same_error(lambda: backend.get_case(scope, case_id=case_id), lambda: reference.get_case(scope, case_id=case_id))
    assert isinstance(err, NotFound) and err.message == f"No case with _id {case_id} is visible to this key."
    same_error(lambda: backend.get_case(scope, ticket_id=ticket_id), lambda: reference.get_case(scope, ticket_id=ticket_id))
    for args in ({}, {"case_id": w.c1.stellar_id, "ticket_id": w.c1.ticket_id}):
        same_error(lambda: backend.get_case(scope, **args), lambda: reference.get_case(scope, **args))


def test_sections(w, backend):
    cid = w.c1.stellar_id
    assert backend.get_case_summary(ROOT_SCOPE, cid) == w.c1.summary
    assert backend.get_case_ai_summary(ROOT_SCOPE, cid) == AI
    assert backend.get_case_ai_summary(ROOT_SCOPE, w.c2.stellar_id) is None
    for method, limit in (("list_case_comments", 3), ("list_case_activities", 5), ("list_case_scores", 4)):
        page = getattr(backend, method)(ROOT_SCOPE, cid, limit=limit)
        expected = getattr(reference, method)(ROOT_SCOPE, cid, limit=limit)
        assert (page.items, page.total, page.next_cursor) == (expected.items, expected.total, None), method
        assert len(page.items) == limit
    assert backend.list_case_comments(ROOT_SCOPE, cid, limit=3).total == 13
    observables = backend.list_case_observables(ROOT_SCOPE, cid)
    assert observables == reference.list_case_observables(ROOT_SCOPE, cid)
    assert [o["value"] for o in observables["ip"]] == ["10.0.0.5", "10.0.0.6"]
    users = backend.list_assignable_users(ROOT_SCOPE, cid)
    assert users == reference.list_assignable_users(ROOT_SCOPE, cid)
    assert {u["username"] for u in users} == {"ana", "bob", "root"}


def test_sections_of_hidden_and_missing_cases(w, backend):
    calls = {
        "summary": lambda b, s, c: b.get_case_summary(s, c),
        "ai summary": lambda b, s, c: b.get_case_ai_summary(s, c),
        "alerts": lambda b, s, c: b.list_case_alerts(s, c, limit=5, cursor=None),
        "comments": lambda b, s, c: b.list_case_comments(s, c, limit=5),
        "observables": lambda b, s, c: b.list_case_observables(s, c),
        "activities": lambda b, s, c: b.list_case_activities(s, c, limit=5),
        "scores": lambda b, s, c: b.list_case_scores(s, c, limit=5),
        "assignees": lambda b, s, c: b.list_assignable_users(s, c),
    }
    for name, call in calls.items():
        for scope, case_id in ((w.acme_scope, w.g1.stellar_id), (ROOT_SCOPE, "0123456789abcdef01234567")):
            err = same_error(lambda: call(backend, scope, case_id), lambda: call(reference, scope, case_id))
            assert isinstance(err, NotFound), name


def test_case_alerts_paging(w, backend):
    cid = w.c1.stellar_id
    everything = reference.list_case_alerts(ROOT_SCOPE, cid, limit=50, cursor=None).items
    assert len(everything) == 7
    seen, cursor = [], None
    while True:
        page = backend.list_case_alerts(ROOT_SCOPE, cid, limit=3, cursor=cursor)
        assert page.total == 7
        seen += page.items
        if (cursor := page.next_cursor) is None:
            break
    assert seen == everything
    assert backend.list_case_alerts(ROOT_SCOPE, cid, limit=60, cursor=None).items == everything
    first = backend.list_case_alerts(ROOT_SCOPE, cid, limit=2, cursor=None)
    for scope, case_id in ((ROOT_SCOPE, w.c2.stellar_id), (w.acme_scope, cid)):  # another case, another caller
        with pytest.raises(InvalidArgument, match="cursor is invalid"):
            backend.list_case_alerts(scope, case_id, limit=2, cursor=first.next_cursor)
    for limit in (0, 501):
        same_error(lambda: backend.list_case_alerts(ROOT_SCOPE, cid, limit=limit, cursor=None),
                   lambda: reference.list_case_alerts(ROOT_SCOPE, cid, limit=limit, cursor=None))


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


# --- alerts -------------------------------------------------------------------------------------------

def test_get_alert(w, backend):
    for scope, alert_id in ((ROOT_SCOPE, w.alerts[0].stellar_uuid), (ROOT_SCOPE, w.g_alert.stellar_uuid),
                            (ROOT_SCOPE, w.shared_a.stellar_uuid), (w.acme_scope, "shared-es-id")):
        assert backend.get_alert(scope, alert_id) == reference.get_alert(scope, alert_id)
    assert backend.get_alert(ROOT_SCOPE, w.g_alert.stellar_uuid)["ai_summary"] == {"summary": "beacon"}
    assert backend.get_alert(ROOT_SCOPE, w.alerts[1].es_id) == reference.get_alert(ROOT_SCOPE, w.alerts[1].stellar_uuid)
    # An _id two visible alerts share is ambiguous; with one of them hidden it is not.
    same_error(lambda: backend.get_alert(ROOT_SCOPE, "shared-es-id"),
               lambda: reference.get_alert(ROOT_SCOPE, "shared-es-id"))
    for scope, alert_id in ((w.acme_scope, w.g_alert.stellar_uuid), (ROOT_SCOPE, "no-such-alert"),
                            (ROOT_SCOPE, 'quo"te\\d OR _id:*')):
        same_error(lambda: backend.get_alert(scope, alert_id), lambda: reference.get_alert(scope, alert_id))


# --- tenants ------------------------------------------------------------------------------------------

def test_tenants(w, backend):
    for scope in (ROOT_SCOPE, w.acme_scope, NO_TENANTS):
        assert backend.list_tenants(scope) == reference.list_tenants(scope)
    assert [t["cust_name"] for t in backend.list_tenants(ROOT_SCOPE)] == ["Acme", "Globex"]
    detail = backend.get_tenant(w.acme_scope, w.acme.cust_id)
    assert detail == reference.get_tenant(w.acme_scope, w.acme.cust_id)
    assert detail["attributes"] == {"contact": "soc@acme.test"} and detail["open_cases"]["total"] == 6
    for scope, cust_id in ((w.acme_scope, w.globex.cust_id), (ROOT_SCOPE, "0123456789abcdef0123456789abcdef")):
        same_error(lambda: backend.get_tenant(scope, cust_id), lambda: reference.get_tenant(scope, cust_id))
