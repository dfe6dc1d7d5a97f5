"""The embedded backend's case listing against real rows: filters, items, sorting, keyset paging, cursors."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from cases.backend import cursor as cursors
from cases.backend.base import (
    CaseQuery,
    InvalidArgument,
)
from cases.backend.embedded import ALERT_CURSOR_SALT, CASE_CURSOR_SALT
from cases.models import Case
from tests.embedded_world import World, at, backend, ids, ms
from tests.factories import (
    NO_TENANTS,
    ROOT_SCOPE,
    SORT_KEYS,
    make_alert,
    make_case,
    scope_for,
)

pytestmark = pytest.mark.django_db


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
    assert ids(backend.list_cases(ROOT_SCOPE, CaseQuery(tenants=(w.globex.cust_id,)))) == [w.g1.stellar_id]
    # A tenant outside the scope gives the same empty answer as an unknown one.
    assert backend.list_cases(w.acme_scope, CaseQuery(tenants=(w.globex.cust_id,))).items == []
    assert backend.list_cases(w.acme_scope, CaseQuery(tenants=("0" * 32,))).items == []


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
        {"tenants": ("0" * 32,)},
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
