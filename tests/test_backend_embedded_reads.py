"""The embedded backend's reads against real rows: tenant scope, the detail sections, alerts, tenants."""

from __future__ import annotations

import pytest
from django.test import override_settings

from cases.backend.base import (
    CaseQuery,
    CaseUpdate,
    InvalidArgument,
    NotFound,
)
from cases.backend.tenant_counts import forget_tenant_case_counts
from cases.models import Activity
from tests.embedded_world import World, at, backend, ids, ms
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

pytestmark = pytest.mark.django_db


# --- scope isolation --------------------------------------------------------------------------------


def _not_found_message(call) -> str:
    with pytest.raises(NotFound) as err:
        call()
    return err.value.message


def test_other_tenants_case_is_not_found_worded_like_a_miss(w: World) -> None:
    g1, fake = w.g1.stellar_id, "0" * 24
    s = w.acme_scope
    calls = {
        "get_case": lambda cid: backend.get_case(s, case_id=cid),
        "summary": lambda cid: backend.get_case_summary(s, cid),
        "ai_summary": lambda cid: backend.get_case_ai_summary(s, cid),
        "alerts": lambda cid: backend.list_case_alerts(s, cid, limit=5, cursor=None),
        "comments": lambda cid: backend.list_case_comments(s, cid, limit=5),
        "observables": lambda cid: backend.list_case_observables(s, cid),
        "activities": lambda cid: backend.list_case_activities(s, cid, limit=5),
        "scores": lambda cid: backend.list_case_scores(s, cid, limit=5),
        "assignees": lambda cid: backend.list_assignable_users(s, cid),
        "update": lambda cid: backend.update_case(s, cid, CaseUpdate(status="Resolved"), actor=w.ana),
    }
    for name, call in calls.items():
        foreign = _not_found_message(lambda: call(g1))
        missing = _not_found_message(lambda: call(fake))
        assert foreign.replace(g1, "ID") == missing.replace(fake, "ID"), name
        assert foreign == f"No case with _id {g1} is visible to this key.", name
    w.g1.refresh_from_db()
    assert w.g1.status == "New" and w.g1.version == 1
    assert not Activity.objects.filter(case=w.g1).exists()


def test_other_tenants_case_by_ticket_id_is_not_found(w: World) -> None:
    foreign = _not_found_message(lambda: backend.get_case(w.acme_scope, ticket_id=w.g1.ticket_id))
    missing = _not_found_message(lambda: backend.get_case(w.acme_scope, ticket_id=999999))
    assert foreign.replace(str(w.g1.ticket_id), "N") == missing.replace("999999", "N")
    assert backend.get_case(w.globex_scope, ticket_id=w.g1.ticket_id)["_id"] == w.g1.stellar_id


def test_list_and_search_never_show_other_tenants(w: World) -> None:
    for query in (
        CaseQuery(limit=100),
        CaseQuery(search="zebraword"),
        CaseQuery(search="falcon"),
        CaseQuery(search=str(w.g1.ticket_id)),
        CaseQuery(assignee="gus"),
        CaseQuery(tags=("phishing",)),
        CaseQuery(min_score=91),
    ):
        page = backend.list_cases(w.acme_scope, query)
        assert w.g1.stellar_id not in ids(page)
        assert all(item["cust_id"] == w.acme.cust_id for item in page.items)
    assert backend.list_cases(w.acme_scope, CaseQuery(search="zebraword")).total == 0
    assert ids(backend.list_cases(w.globex_scope, CaseQuery(search="zebraword"))) == [w.g1.stellar_id]


def test_no_tenants_sees_nothing(w: World) -> None:
    make_alert(w.c1)
    assert backend.list_cases(NO_TENANTS, CaseQuery(limit=100)).items == []
    assert backend.list_tenants(NO_TENANTS) == []
    with pytest.raises(NotFound):
        backend.get_case(NO_TENANTS, case_id=w.c1.stellar_id)
    with pytest.raises(NotFound):
        backend.get_tenant(NO_TENANTS, w.acme.cust_id)


def test_other_tenants_alert_is_not_found_by_uuid_or_es_id(w: World) -> None:
    alert = make_alert(w.g1)
    for alert_id in (alert.stellar_uuid, alert.es_id):
        foreign = _not_found_message(lambda: backend.get_alert(w.acme_scope, alert_id))
        assert foreign == f"No alert with id {alert_id} is visible to this key."
        assert backend.get_alert(w.globex_scope, alert_id)["_id"] == alert.es_id


def test_other_tenants_tenant_is_not_found(w: World) -> None:
    foreign = _not_found_message(lambda: backend.get_tenant(w.acme_scope, w.globex.cust_id))
    missing = _not_found_message(lambda: backend.get_tenant(w.acme_scope, "f" * 32))
    assert foreign.replace(w.globex.cust_id, "X") == missing.replace("f" * 32, "X")
    assert [t["cust_id"] for t in backend.list_tenants(w.acme_scope)] == [w.acme.cust_id]


# --- case detail sections ---------------------------------------------------------------------------


def test_get_case_full_record(w: World) -> None:
    w.c3.acknowledged = at(1)
    w.c3.closed = at(2)
    w.c3.start_timestamp = at(-10)
    w.c3.resolution_note = "scanner of the IT team"
    w.c3.modified_by = w.bob
    w.c3.modified_by_name = "bob"
    w.c3.save()
    record = backend.get_case(w.acme_scope, case_id=w.c3.stellar_id)
    assert backend.get_case(w.acme_scope, ticket_id=w.c3.ticket_id) == record
    assert record["tenant_group_name"] == "Group A"
    assert record["created_by"] == "System" and record["created_by_name"] == "System"
    assert record["modified_by"] == "bob"
    assert record["acknowledged"] == ms(at(1)) and record["acknowledged_iso"] == "2024-03-20T12:01:00.000Z"
    assert record["closed"] == ms(at(2))
    assert record["start_timestamp"] == ms(at(-10))
    assert record["end_timestamp"] == 0 and record["end_timestamp_iso"] is None
    assert record["resolution"] == "Benign" and record["resolution_note"] == "scanner of the IT team"
    assert "resolution" not in backend.get_case(w.acme_scope, case_id=w.c1.stellar_id)
    with pytest.raises(InvalidArgument):
        backend.get_case(w.acme_scope)
    with pytest.raises(InvalidArgument):
        backend.get_case(w.acme_scope, case_id=w.c3.stellar_id, ticket_id=w.c3.ticket_id)


def test_summary_and_ai_summary(w: World) -> None:
    w.c1.ai_summary = {"verdict": "malicious"}
    w.c1.save()
    assert backend.get_case_summary(w.acme_scope, w.c1.stellar_id) == "A user clicked the link"
    assert backend.get_case_ai_summary(w.acme_scope, w.c1.stellar_id) == {"verdict": "malicious"}
    assert backend.get_case_ai_summary(w.acme_scope, w.c2.stellar_id) is None


def test_case_alerts_newest_first_with_keyset_cursor(w: World) -> None:
    alerts = [make_alert(w.c1, timestamp=at(i // 2), tactic_id="TA0001", tactic_name="Initial Access") for i in range(7)]
    make_alert(w.c2)
    expected = [a.es_id for a in sorted(alerts, key=lambda a: (a.timestamp, a.pk), reverse=True)]
    seen, cursor = [], None
    while True:
        page = backend.list_case_alerts(w.acme_scope, w.c1.stellar_id, limit=3, cursor=cursor)
        assert page.total == 7 + (len(seen) // 3)  # one alert inserted per page turn below
        seen += [a["_id"] for a in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
        make_alert(w.c1, timestamp=at(50), tactic_id="TA0001", tactic_name="Initial Access")  # newer than the cursor: not in later pages
    assert seen == expected
    item = backend.list_case_alerts(w.acme_scope, w.c1.stellar_id, limit=1, cursor=None).items[0]
    assert set(item) == {
        "_id", "_index", "stellar_uuid", "name", "tactic", "technique", "severity", "event_score",
        "event_status", "srcip", "dstip", "timestamp", "timestamp_iso",
    }
    assert item["tactic"] == {"id": "TA0001", "name": "Initial Access"}
    assert item["timestamp"] == ms(at(50)) and item["timestamp_iso"] == "2024-03-20T12:50:00.000Z"


def test_alert_cursor_bound_to_case_and_scope(w: World) -> None:
    for i in range(3):
        make_alert(w.c1, timestamp=at(i))
        make_alert(w.c2, timestamp=at(i))
    cursor = backend.list_case_alerts(w.acme_scope, w.c1.stellar_id, limit=1, cursor=None).next_cursor
    with pytest.raises(InvalidArgument):
        backend.list_case_alerts(w.acme_scope, w.c2.stellar_id, limit=1, cursor=cursor)
    with pytest.raises(InvalidArgument):
        backend.list_case_alerts(scope_for(w.acme, w.globex), w.c1.stellar_id, limit=1, cursor=cursor)
    assert backend.list_case_alerts(w.acme_scope, w.c1.stellar_id, limit=1, cursor=cursor).items


def test_comments_activities_scores_latest_with_totals(w: World) -> None:
    for i in range(5):
        make_comment(w.c1, f"note {i}", user=w.ana if i % 2 else None, at=at(i))
        make_activity(w.c1, to_value=f"v{i}", timestamp=at(i))
        make_score(w.c1, score=10 * i, timestamp=at(i))
    comments = backend.list_case_comments(w.acme_scope, w.c1.stellar_id, limit=2)
    assert comments.total == 5 and [c["comment"] for c in comments.items] == ["note 4", "note 3"]
    assert comments.items[1]["user"] == "ana" and comments.items[0]["user"] is None
    assert comments.items[0]["created_at"] == ms(at(4))
    activities = backend.list_case_activities(w.acme_scope, w.c1.stellar_id, limit=3)
    assert activities.total == 5 and [a["to"] for a in activities.items] == ["v4", "v3", "v2"]
    assert activities.items[0]["from"] == "New" and activities.items[0]["field"] == "status"
    scores = backend.list_case_scores(w.acme_scope, w.c1.stellar_id, limit=10)
    assert scores.total == 5 and [s["score"] for s in scores.items] == [40, 30, 20, 10, 0]
    assert scores.items[0]["reasons"] == [{"reason": "New alert added"}]
    assert backend.list_case_comments(w.acme_scope, w.c2.stellar_id, limit=5).total == 0


def test_observables_grouped_by_type(w: World) -> None:
    make_observable(w.c1, "ip", "10.0.0.1", count=1, first_seen=at(0), last_seen=at(1))
    make_observable(w.c1, "ip", "10.0.0.2", count=5, first_seen=at(0), last_seen=at(1))
    make_observable(w.c1, "host", "WS-01", count=2, first_seen=at(0), last_seen=at(1))
    make_observable(w.c2, "host", "other", count=2)
    grouped = backend.list_case_observables(w.acme_scope, w.c1.stellar_id)
    assert grouped == {
        "host": [{"value": "WS-01", "count": 2, "first_seen": ms(at(0)), "last_seen": ms(at(1))}],
        "ip": [
            {"value": "10.0.0.2", "count": 5, "first_seen": ms(at(0)), "last_seen": ms(at(1))},
            {"value": "10.0.0.1", "count": 1, "first_seen": ms(at(0)), "last_seen": ms(at(1))},
        ],
    }


def test_assignable_users_are_active_users_with_access(w: World) -> None:
    make_user("nobody", access=False)
    users = backend.list_assignable_users(w.acme_scope, w.c1.stellar_id)
    assert users == [
        {"username": "ana", "email": "ana@example.com", "name": "Ana Alves"},
        {"username": "bob", "email": "bob@corp.test", "name": "bob"},
        {"username": "root", "email": "root@corp.test", "name": "root"},
    ]
    assert [u["username"] for u in backend.list_assignable_users(ROOT_SCOPE, w.g1.stellar_id)] == ["bob", "gus", "root"]


# --- alerts -----------------------------------------------------------------------------------------


def test_get_alert_by_uuid_or_es_id(w: World) -> None:
    alert = make_alert(w.c1, ai_summary={"verdict": "benign"}, source={"a": 1, "nested": {"b": [1, 2]}})
    expected = {
        "_index": alert.index,
        "_id": alert.es_id,
        "stellar_uuid": alert.stellar_uuid,
        "cust_id": w.acme.cust_id,
        "case_id": w.c1.stellar_id,
        "_source": {"a": 1, "nested": {"b": [1, 2]}},
        "ai_summary": {"verdict": "benign"},
    }
    assert backend.get_alert(w.acme_scope, alert.stellar_uuid) == expected
    assert backend.get_alert(w.acme_scope, alert.es_id) == expected
    with pytest.raises(NotFound):
        backend.get_alert(w.acme_scope, "nope")


def test_get_alert_with_an_ambiguous_es_id(w: World) -> None:
    a1 = make_alert(w.c1, es_id="dup")
    make_alert(w.c2, es_id="dup")
    other = make_alert(w.g1, es_id="dup-g")
    with pytest.raises(InvalidArgument, match="stellar_uuid"):
        backend.get_alert(w.acme_scope, "dup")
    assert backend.get_alert(w.acme_scope, a1.stellar_uuid)["stellar_uuid"] == a1.stellar_uuid
    assert backend.get_alert(w.globex_scope, "dup-g")["stellar_uuid"] == other.stellar_uuid
    # Another tenant's alert with the same _id does not make ours ambiguous.
    make_alert(w.g1, es_id="solo")
    make_alert(w.c1, es_id="solo")
    assert backend.get_alert(w.acme_scope, "solo")["cust_id"] == w.acme.cust_id


# --- tenants ----------------------------------------------------------------------------------------


def test_list_tenants_with_counts(w: World) -> None:
    make_tenant("Empty Inc")
    tenants = backend.list_tenants(ROOT_SCOPE)
    assert [(t["cust_name"], t["case_count"], t["open_case_count"]) for t in tenants] == [
        ("Acme", 4, 3),
        ("Empty Inc", 0, 0),
        ("Globex", 1, 1),
    ]
    assert tenants[0]["tgrp_name"] == "Group A" and tenants[0]["cust_id"] == w.acme.cust_id
    assert isinstance(tenants[0]["created_at"], int)


def test_list_tenants_counts_in_one_query(w: World, django_assert_num_queries) -> None:
    with django_assert_num_queries(2):  # the tenants, then the counts of every tenant
        backend.list_tenants(ROOT_SCOPE)


@override_settings(TENANT_COUNTS_CACHE_SECONDS=60)
def test_list_tenants_counts_are_cached_and_dropped_by_a_status_change(
    w: World, django_capture_on_commit_callbacks
) -> None:
    forget_tenant_case_counts()

    def acme_counts() -> tuple[int, int]:
        [acme] = [t for t in backend.list_tenants(ROOT_SCOPE) if t["cust_id"] == w.acme.cust_id]
        return acme["case_count"], acme["open_case_count"]

    assert acme_counts() == (4, 3)
    make_case(w.acme, status="New")  # written behind the gateway's back: seen when the cache expires
    assert acme_counts() == (4, 3)
    with django_capture_on_commit_callbacks(execute=True):
        backend.update_case(w.acme_scope, w.c1.stellar_id, CaseUpdate(status="Resolved"), actor=w.ana)
    assert acme_counts() == (5, 3)  # the new case counted, c1 no longer open
    with django_capture_on_commit_callbacks(execute=True):
        backend.update_case(w.acme_scope, w.c1.stellar_id, CaseUpdate(tags_add=("x",)), actor=w.ana)
    assert acme_counts() == (5, 3)


def test_get_tenant_open_case_counts(w: World) -> None:
    make_case(w.acme, status="New", severity="Low")
    make_case(w.acme, status="Cancelled", severity="Critical")
    tenant = backend.get_tenant(w.acme_scope, w.acme.cust_id)
    assert tenant["cust_name"] == "Acme" and tenant["case_count"] == 6
    assert tenant["open_cases"] == {
        "total": 4,
        "by_severity": {"Critical": 1, "High": 1, "Medium": 1, "Low": 1},
        "by_status": {"New": 2, "In Progress": 1, "Escalated": 1},
    }


@override_settings(TENANT_COUNTS_CACHE_SECONDS=60)
def test_get_tenant_counts_are_cached_and_dropped_by_a_status_change(
    w: World, django_capture_on_commit_callbacks
) -> None:
    forget_tenant_case_counts(w.acme.pk)

    def acme_counts() -> tuple[int, int, int]:
        tenant = backend.get_tenant(w.acme_scope, w.acme.cust_id)
        return tenant["case_count"], tenant["open_cases"]["total"], tenant["open_cases"]["by_status"]["New"]

    before = acme_counts()
    assert before == (4, 3, 1)
    make_case(w.acme, status="New")  # written behind the gateway's back: seen when the cache expires
    assert acme_counts() == before
    with django_capture_on_commit_callbacks(execute=True):
        backend.update_case(w.acme_scope, w.c1.stellar_id, CaseUpdate(tags_add=("x",)), actor=w.ana)
    assert acme_counts() == before  # not a status change
    with django_capture_on_commit_callbacks(execute=True):
        backend.update_case(w.acme_scope, w.c1.stellar_id, CaseUpdate(status="Resolved"), actor=w.ana)
    assert acme_counts() == (5, 3, 1)  # the new case counted; c1 no longer open nor New


def test_list_counts_exactly_up_to_the_limit_then_says_at_least(w: World, monkeypatch) -> None:
    from cases.backend import case_sql

    monkeypatch.setattr(case_sql, "EXACT_COUNT_LIMIT", 2)
    page = backend.list_cases(w.acme_scope, CaseQuery(limit=1))
    assert (page.total, page.total_relation) == (2, "gte") and page.next_cursor
    later = backend.list_cases(w.acme_scope, CaseQuery(limit=1, cursor=page.next_cursor))
    assert (later.total, later.total_relation) == (2, "gte")
    assert (backend.list_cases(w.acme_scope, CaseQuery(limit=1, statuses=("New",))).total_relation) == "eq"
    monkeypatch.setattr(case_sql, "EXACT_COUNT_LIMIT", 4)
    page = backend.list_cases(w.acme_scope, CaseQuery(limit=1))
    assert (page.total, page.total_relation) == (4, "eq")
