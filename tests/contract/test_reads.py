"""The backend contract: listing, a case and its sections, alerts and tenants, alike on both backends."""

from __future__ import annotations

import pytest

from cases.backend import CaseQuery, InvalidArgument, NotFound
from cases.backend.serializers import to_ms
from tenants.scope import TenantScope
from tests.contract.world import AI, at, reference, same_error, tickets
from tests.factories import NO_TENANTS, ROOT_SCOPE, make_case

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
    ({"tenants": (), "search": "zebraword"}, {"g1"}),
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
    assert tickets(backend.list_cases(ROOT_SCOPE, CaseQuery(tenants=(w.globex.cust_id,)))) == {w.g1.ticket_id}
    # A tenant outside the scope, and a scope without tenants, list nothing (no error, no count).
    for scope, cust_id in ((w.acme_scope, w.globex.cust_id), (NO_TENANTS, None)):
        page = backend.list_cases(scope, CaseQuery(tenants=(cust_id,) if cust_id else ()))
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
