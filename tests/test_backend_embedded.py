"""The embedded backend against real rows: filters, sorting, keyset paging, cursors, tenant scope,
the detail sections, tenants, and updateCase (validation, conflicts, atomicity, activity, tags)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from cases.backend import cursor as cursors
from cases.backend.base import (
    CaseQuery,
    CaseUpdate,
    Conflict,
    InvalidArgument,
    NotFound,
)
from cases.backend.embedded import ALERT_CURSOR_SALT, CASE_CURSOR_SALT, EmbeddedBackend
from cases.backend.tenant_counts import forget_tenant_case_counts
from cases.models import Activity, Case, CaseTag
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

backend = EmbeddedBackend()
T0 = datetime(2024, 3, 20, 12, 0, tzinfo=UTC)


def ms(value: datetime) -> int:
    return int((value - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(milliseconds=1))


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def ids(page) -> list[str]:
    return [item["_id"] for item in page.items]


class World:
    """Two tenants. Acme: c1..c4; Globex: g1 (words only Globex has: 'falcon', 'zebraword')."""

    def __init__(self) -> None:
        self.acme = make_tenant("Acme", tgrp_name="Group A")
        self.globex = make_tenant("Globex")
        self.ana = make_user("ana", tenants=[self.acme], first_name="Ana", last_name="Alves")
        self.bob = make_user("bob", tenants=[self.acme, self.globex], email="bob@corp.test")
        self.gus = make_user("gus", tenants=[self.globex])
        self.root = make_user("root", root=True, email="root@corp.test")
        self.ghost = make_user("ghost", tenants=[self.acme], is_active=False)
        self.c1 = make_case(
            self.acme, name="Phishing email to finance", status="New", severity="Critical", score=90,
            assignee=self.ana, tags=["phishing", "email"], created_at=at(0), modified_at=at(30),
            summary="A user clicked the link",
        )
        self.c2 = make_case(
            self.acme, name="Malware beacon", status="In Progress", severity="High", score=70,
            assignee=self.bob, tags=["malware"], created_at=at(1), modified_at=at(10),
        )
        self.c3 = make_case(
            self.acme, name="Port scan", status="Resolved", severity="Low", score=10, tags=[],
            created_at=at(2), modified_at=at(20), resolution="Benign",
        )
        self.c4 = make_case(
            self.acme, name="Odd login", status="Escalated", severity="Medium", score=50, tags=["phishing"],
            created_at=at(3), modified_at=at(5),
        )
        self.g1 = make_case(
            self.globex, name="Globex secret falcon incident", status="New", severity="Critical", score=95,
            assignee=self.gus, tags=["phishing"], created_at=at(4), modified_at=at(4), summary="zebraword",
        )
        self.acme_scope = scope_for(self.acme)
        self.globex_scope = scope_for(self.globex)

    def label(self, case_id: str) -> str:
        for name in ("c1", "c2", "c3", "c4", "g1"):
            if getattr(self, name).stellar_id == case_id:
                return name
        return case_id


@pytest.fixture
def w() -> World:
    return World()


# --- filters ----------------------------------------------------------------------------------------

FILTERS = [
    ({}, {"c1", "c2", "c3", "c4", "g1"}),
    ({"statuses": ("New",)}, {"c1", "g1"}),
    ({"statuses": ("New", "Resolved")}, {"c1", "c3", "g1"}),
    ({"severities": ("Critical",)}, {"c1", "g1"}),
    ({"severities": ("Critical", "Low")}, {"c1", "c3", "g1"}),
    ({"statuses": ("New",), "severities": ("Low",)}, set()),
    ({"statuses": ("New", "Resolved"), "severities": ("Low", "High")}, {"c3"}),
    ({"assignee": "ana"}, {"c1"}),
    ({"assignee": "ANA"}, {"c1"}),
    ({"assignee": "Bob@Corp.Test"}, {"c2"}),
    ({"assignee": "nobody"}, set()),
    ({"unassigned": True}, {"c3", "c4"}),
    ({"unassigned": True, "severities": ("Medium",)}, {"c4"}),
    ({"name": "PHISH"}, {"c1"}),
    ({"name": "o"}, {"c1", "c2", "c3", "c4", "g1"}),
    ({"tags": ("phishing",)}, {"c1", "c4", "g1"}),
    ({"tags": ("malware", "email")}, {"c1", "c2"}),
    ({"tags": ("nope",)}, set()),
    ({"min_score": 70}, {"c1", "c2", "g1"}),
    ({"min_score": 70.5}, {"c1", "g1"}),
    ({"min_score": 0}, {"c1", "c2", "c3", "c4", "g1"}),
    ({"search": "clicked"}, {"c1"}),  # summary
    ({"search": "PHISHING Finance"}, {"c1"}),  # every term, any case
    ({"search": "phishing zzz"}, set()),
    ({"search": "bob"}, {"c2"}),  # assignee username
    ({"search": "  malware   beacon "}, {"c2"}),
    ({"tags": ("phishing",), "severities": ("Medium",)}, {"c4"}),
    ({"statuses": ("New",), "tags": ("phishing",), "min_score": 92}, {"g1"}),
    ({"assignee": "ana", "statuses": ("In Progress",)}, set()),
]


@pytest.mark.parametrize(("filters", "expected"), FILTERS)
def test_each_filter_and_combinations(w: World, filters: dict, expected: set[str]) -> None:
    page = backend.list_cases(ROOT_SCOPE, CaseQuery(limit=100, **filters))
    assert {w.label(i) for i in ids(page)} == expected
    assert page.total == len(expected)


def test_search_matches_ticket_id(w: World) -> None:
    page = backend.list_cases(ROOT_SCOPE, CaseQuery(search=str(w.c3.ticket_id)))
    assert ids(page) == [w.c3.stellar_id]


def test_cust_id_filter(w: World) -> None:
    assert ids(backend.list_cases(ROOT_SCOPE, CaseQuery(cust_id=w.globex.cust_id))) == [w.g1.stellar_id]
    # A tenant outside the scope gives the same empty answer as an unknown one.
    assert backend.list_cases(w.acme_scope, CaseQuery(cust_id=w.globex.cust_id)).items == []
    assert backend.list_cases(w.acme_scope, CaseQuery(cust_id="0" * 32)).items == []


def test_created_range_is_inclusive_in_milliseconds(w: World) -> None:
    # Stored to the microsecond: 12:02:00.000900 is millisecond 12:02:00.000, so inside "to 12:02:00.000".
    late = make_case(w.acme, created_at=at(2) + timedelta(microseconds=900))
    page = backend.list_cases(ROOT_SCOPE, CaseQuery(created_from=ms(at(1)), created_to=ms(at(2)), limit=100))
    assert {w.label(i) for i in ids(page)} == {"c2", "c3", late.stellar_id}
    page = backend.list_cases(ROOT_SCOPE, CaseQuery(created_from=ms(at(2)) + 1, created_to=ms(at(3)), limit=100))
    assert {w.label(i) for i in ids(page)} == {"c4"}
    page = backend.list_cases(ROOT_SCOPE, CaseQuery(created_from=ms(at(3)), limit=100))
    assert {w.label(i) for i in ids(page)} == {"c4", "g1"}
    page = backend.list_cases(ROOT_SCOPE, CaseQuery(created_to=ms(at(0)), limit=100))
    assert {w.label(i) for i in ids(page)} == {"c1"}


@pytest.mark.parametrize("field", ["created", "modified"])
def test_total_of_a_range_counts_only_inside_its_upper_bound(w: World, field: str) -> None:
    # The count leaves an upper bound out when no case lies beyond it; here cases do, then none do.
    moments = sorted(getattr(c, f"{field}_at") for c in Case.objects.all())
    middle = moments[len(moments) // 2]
    inside = sum(1 for m in moments if ms(m) <= ms(middle))
    for to, expected in [(ms(middle), inside), (ms(moments[-1]) + 86_400_000, len(moments))]:
        assert 1 < expected
        query = CaseQuery(**{f"{field}_from": 0, f"{field}_to": to}, limit=1)
        assert backend.list_cases(ROOT_SCOPE, query).total == expected


def test_modified_range(w: World) -> None:
    page = backend.list_cases(ROOT_SCOPE, CaseQuery(modified_from=ms(at(5)), modified_to=ms(at(20)), limit=100))
    assert {w.label(i) for i in ids(page)} == {"c2", "c3", "c4"}
    page = backend.list_cases(
        ROOT_SCOPE, CaseQuery(modified_from=ms(at(5)), modified_to=ms(at(20)), created_from=ms(at(2)), limit=100)
    )
    assert {w.label(i) for i in ids(page)} == {"c3", "c4"}


@pytest.mark.parametrize(
    ("query", "word"),
    [
        (CaseQuery(statuses=("Open",)), "status"),
        (CaseQuery(severities=("critical",)), "severity"),
        (CaseQuery(sort="name"), "sort"),
        (CaseQuery(order="up"), "order"),
        (CaseQuery(limit=0), "limit"),
        (CaseQuery(limit=501), "limit"),
    ],
)
def test_invalid_query_values_are_refused(w: World, query: CaseQuery, word: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        backend.list_cases(ROOT_SCOPE, query)
    assert err.value.message.startswith(word)


# --- items ------------------------------------------------------------------------------------------


def test_list_item_fields(w: World) -> None:
    w.c1.created_at = datetime(2024, 3, 20, 12, 0, 0, 1999, tzinfo=UTC)  # 1.999 ms: floor to 1
    w.c1.save()
    items = {i["_id"]: i for i in backend.list_cases(ROOT_SCOPE, CaseQuery(limit=100)).items}
    c1 = items[w.c1.stellar_id]
    assert c1 == {
        "_id": w.c1.stellar_id,
        "ticket_id": w.c1.ticket_id,
        "name": "Phishing email to finance",
        "status": "New",
        "severity": "Critical",
        "score": 90,
        "size": 0,
        "assignee": "ana",
        "assignee_name": "Ana Alves",
        "tags": ["phishing", "email"],
        "cust_id": w.acme.cust_id,
        "tenant_name": "Acme",
        "created_at": 1710936000001,
        "created_at_iso": "2024-03-20T12:00:00.001Z",
        "modified_at": ms(at(30)),
        "modified_at_iso": "2024-03-20T12:30:00.000Z",
        "version": 1,
    }
    assert items[w.c2.stellar_id]["assignee_name"] == "bob"  # no full name: the username
    assert items[w.c3.stellar_id]["assignee"] is None
    assert items[w.c3.stellar_id]["assignee_name"] == "Unassigned"
    assert items[w.c3.stellar_id]["resolution"] == "Benign"


def test_list_cases_is_two_queries_without_per_row_lookups(w: World, django_assert_num_queries) -> None:
    for _ in range(5):
        make_case(w.acme, assignee=w.ana)
    with django_assert_num_queries(2):  # page + count
        page = backend.list_cases(w.acme_scope, CaseQuery(limit=3))
        assert len(page.items) == 3 and page.total == 9
    with django_assert_num_queries(1):  # a single short page counts itself
        assert backend.list_cases(w.acme_scope, CaseQuery(limit=50)).total == 9


# --- sorting ----------------------------------------------------------------------------------------

SORT_KEYS = {
    "created_at": lambda c: c.created_at,
    "modified_at": lambda c: c.modified_at,
    "score": lambda c: c.score,
    "ticket_id": lambda c: c.ticket_id,
    "severity": lambda c: c.severity_rank,
}


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("sort", list(SORT_KEYS))
def test_sorting_each_field_both_orders_ties_by_id(w: World, sort: str, order: str) -> None:
    # Ties on every sort field but ticket_id.
    make_case(w.acme, created_at=at(2), modified_at=at(10), score=70, severity="High")
    make_case(w.globex, created_at=at(2), modified_at=at(10), score=70, severity="High")
    cases = list(Case.objects.all())
    expected = sorted(cases, key=lambda c: (SORT_KEYS[sort](c), c.pk), reverse=order == "desc")
    page = backend.list_cases(ROOT_SCOPE, CaseQuery(sort=sort, order=order, limit=100))
    assert ids(page) == [c.stellar_id for c in expected]
    # The same order page by page.
    paged, cursor = [], None
    while True:
        page = backend.list_cases(ROOT_SCOPE, CaseQuery(sort=sort, order=order, limit=2, cursor=cursor))
        paged += ids(page)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert paged == [c.stellar_id for c in expected]


def test_severity_sorts_by_rank_not_alphabet(w: World) -> None:
    page = backend.list_cases(w.acme_scope, CaseQuery(sort="severity", order="desc"))
    assert [i["severity"] for i in page.items] == ["Critical", "High", "Medium", "Low"]


# --- keyset paging ----------------------------------------------------------------------------------


def test_paging_with_inserts_between_pages_has_no_duplicates_or_skips(w: World) -> None:
    originals = {c.stellar_id for c in Case.objects.all()}
    for i in range(10):
        originals.add(make_case(w.acme, created_at=at(10 + i // 2)).stellar_id)  # pairs share created_at
    seen: list[str] = []
    inserted_older: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = backend.list_cases(ROOT_SCOPE, CaseQuery(limit=4, cursor=cursor))
        seen += ids(page)
        pages += 1
        assert page.total == len(originals) + 3 * (pages - 1)  # three inserts per page turn
        # Meanwhile: a newer case (before the cursor), an older one (after it), and one tied with the
        # last row's created_at (before it in desc order, since its id is larger).
        if page.next_cursor:
            last = Case.objects.get(stellar_id=page.items[-1]["_id"])
            make_case(w.acme, created_at=at(100))
            inserted_older.append(make_case(w.acme, created_at=at(-100 - pages)).stellar_id)
            make_case(w.acme, created_at=last.created_at)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert set(seen) == originals | set(inserted_older)


def test_next_cursor_is_none_on_last_page_and_total_counts_all(w: World) -> None:
    page = backend.list_cases(ROOT_SCOPE, CaseQuery(limit=2))
    assert page.total == 5 and page.next_cursor
    page = backend.list_cases(ROOT_SCOPE, CaseQuery(limit=2, cursor=page.next_cursor))
    assert page.total == 5 and page.next_cursor
    page = backend.list_cases(ROOT_SCOPE, CaseQuery(limit=2, cursor=page.next_cursor))
    assert page.total == 5 and page.next_cursor is None and len(page.items) == 1
    exact = backend.list_cases(ROOT_SCOPE, CaseQuery(limit=5))
    assert exact.next_cursor is None and len(exact.items) == 5


def test_changing_limit_between_pages_keeps_the_cursor_valid(w: World) -> None:
    first = backend.list_cases(ROOT_SCOPE, CaseQuery(limit=2))
    rest = backend.list_cases(ROOT_SCOPE, CaseQuery(limit=10, cursor=first.next_cursor))
    assert ids(first) + ids(rest) == ids(backend.list_cases(ROOT_SCOPE, CaseQuery(limit=10)))


# --- cursors ----------------------------------------------------------------------------------------


def _first_cursor(scope, **filters) -> str:
    cursor = backend.list_cases(scope, CaseQuery(limit=1, **filters)).next_cursor
    assert cursor
    return cursor


def _assert_cursor_refused(scope, query: CaseQuery) -> None:
    with pytest.raises(InvalidArgument) as err:
        backend.list_cases(scope, query)
    assert "cursor" in err.value.message and "without cursor" in err.value.message


def test_tampered_cursor_is_refused(w: World) -> None:
    cursor = _first_cursor(ROOT_SCOPE)
    payload, _, signature = cursor.rpartition(".")
    forged_payload = base64.urlsafe_b64encode(b'["x",1,1]').rstrip(b"=").decode()
    other_salt = cursors.sign(ALERT_CURSOR_SALT, json.loads(base64.urlsafe_b64decode(payload + "==")))
    for bad in (cursor[:-1] + ("A" if cursor[-1] != "A" else "B"), forged_payload + "." + signature, "garbage",
                "a.b.c", payload, "é" + cursor, other_salt, payload + "!." + signature):
        _assert_cursor_refused(ROOT_SCOPE, CaseQuery(limit=1, cursor=bad))


def test_cursor_with_a_forged_but_signed_shape_is_refused(w: World) -> None:
    # Correctly signed (as if the salt leaked) but the wrong shape: still a clear error, not a crash.
    for bad in (cursors.sign(CASE_CURSOR_SALT, ["x", "y"]), cursors.sign(CASE_CURSOR_SALT, {"a": 1}),
                cursors.sign(CASE_CURSOR_SALT, [True, 1, 1])):
        _assert_cursor_refused(ROOT_SCOPE, CaseQuery(limit=1, cursor=bad))
    bad = cursors.sign(CASE_CURSOR_SALT, "x")
    _assert_cursor_refused(ROOT_SCOPE, CaseQuery(limit=1, cursor=bad))


@pytest.mark.parametrize(
    "other",
    [
        {"statuses": ("New",)},
        {"sort": "score"},
        {"order": "asc"},
        {"search": "phishing"},
        {"min_score": 1},
        {"created_from": 0, "created_to": 2**41},
        {"cust_id": "0" * 32},
        {"tags": ("phishing",)},
    ],
)
def test_cursor_of_another_query_is_refused(w: World, other: dict) -> None:
    cursor = _first_cursor(ROOT_SCOPE)
    _assert_cursor_refused(ROOT_SCOPE, CaseQuery(limit=1, cursor=cursor, **other))


def test_cursor_ignores_the_order_of_multi_values(w: World) -> None:
    cursor = _first_cursor(ROOT_SCOPE, statuses=("New", "Resolved"))
    page = backend.list_cases(ROOT_SCOPE, CaseQuery(limit=1, statuses=("Resolved", "New"), cursor=cursor))
    assert len(page.items) == 1


def test_cursor_of_another_scope_is_refused(w: World) -> None:
    both = scope_for(w.acme, w.globex)
    cursor = _first_cursor(both)
    _assert_cursor_refused(w.acme_scope, CaseQuery(limit=1, cursor=cursor))
    _assert_cursor_refused(ROOT_SCOPE, CaseQuery(limit=1, cursor=cursor))
    _assert_cursor_refused(NO_TENANTS, CaseQuery(limit=1, cursor=cursor))
    assert backend.list_cases(both, CaseQuery(limit=1, cursor=cursor)).items


def test_alert_cursor_is_not_a_case_cursor(w: World) -> None:
    for i in range(3):
        make_alert(w.c1, timestamp=at(i))
    alert_cursor = backend.list_case_alerts(ROOT_SCOPE, w.c1.stellar_id, limit=1, cursor=None).next_cursor
    _assert_cursor_refused(ROOT_SCOPE, CaseQuery(limit=1, cursor=alert_cursor))
    case_cursor = _first_cursor(ROOT_SCOPE)
    with pytest.raises(InvalidArgument):
        backend.list_case_alerts(ROOT_SCOPE, w.c1.stellar_id, limit=1, cursor=case_cursor)


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
