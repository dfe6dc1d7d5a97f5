"""How listCases reads cases when it filters indexed columns (sqlite_plan.plan_page): with many matches
a page is read in sort order, every other filter hidden from SQLite's planner; with few, through the
planner's choice of index. Either way the pages hold the same cases in the same order, each once, which
these tests check by paging through with cursors on both databases (the SQL's shape on SQLite only).
With planner statistics, the counts come from the triage and assignee indexes, and a page sorted by
anything within a time range is chosen from a created_at index alone before its rows are read."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases import planner_statistics
from cases.backend import sqlite_plan
from cases.backend.base import CaseQuery
from cases.backend.embedded import EmbeddedBackend
from cases.models import SEVERITY_RANK, Case, CaseTag, build_search_text
from tests.factories import ROOT_SCOPE, make_tenant, make_user, scope_for

backend = EmbeddedBackend()
sqlite = connection.vendor == "sqlite"
OPEN = ("New", "In Progress", "Escalated")
DENSE = sqlite_plan.COMMON_MATCHES


def ms(moment) -> int:
    return int(moment.timestamp() * 1000)


def add_cases(tenants, count: int, *, status: str, severity: str, first_ticket: int, now, assignee=None,
              step=timedelta(seconds=1)) -> list[Case]:
    """`count` cases spread over the tenants, one `step` apart going back from `now`."""
    cases = [
        Case(tenant=tenants[i % len(tenants)], ticket_id=first_ticket + i, name=f"Case {first_ticket + i}",
             status=status, severity=severity, severity_rank=SEVERITY_RANK[severity], score=float(i % 100),
             assignee=assignee, created_at=now - step * i, modified_at=now - step * i,
             search_text=build_search_text(first_ticket + i, f"Case {first_ticket + i}", [], "", ""))
        for i in range(count)
    ]
    return Case.objects.bulk_create(cases)


def tag(cases: list[Case], *tags: str) -> None:
    CaseTag.objects.bulk_create([CaseTag(case=case, tag=t) for case in cases for t in tags])


def page_statements(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT c.id")]


def all_pages(query: CaseQuery, scope=ROOT_SCOPE) -> tuple[list[int], list[int], list[str]]:
    """Ticket ids of every page, followed by cursor, the totals each page gave, and the page SQL."""
    seen, totals, statements = [], [], []
    cursor = None
    while True:
        with CaptureQueriesContext(connection) as captured:
            page = backend.list_cases(scope, replace(query, cursor=cursor))
        statements += page_statements(captured)
        seen += [item["ticket_id"] for item in page.items]
        totals.append(page.total)
        cursor = page.next_cursor
        if cursor is None:
            return seen, totals, statements


@pytest.mark.django_db
def test_many_matches_are_read_in_sort_order_and_every_page_holds_the_next_ones():
    tenants = [make_tenant(), make_tenant()]
    now = timezone.now()
    matching = add_cases(tenants, DENSE + 5, status="New", severity="Critical", first_ticket=10_000, now=now)
    # Interleaved non-matches: resolved and low cases at the same times.
    add_cases(tenants, 300, status="Resolved", severity="Critical", first_ticket=20_000, now=now - timedelta(milliseconds=500))
    add_cases(tenants, 300, status="New", severity="Low", first_ticket=30_000, now=now - timedelta(milliseconds=250))

    query = CaseQuery(statuses=OPEN, severities=("Critical",), limit=100,
                      created_from=ms(now - timedelta(days=1)), created_to=ms(now))
    seen, totals, statements = all_pages(query)

    assert seen == [case.ticket_id for case in matching]  # newest first, each once
    assert set(totals) == {len(matching)}
    if sqlite:
        # The filters are hidden from the planner; the sort column's own range is not.
        assert all("+c.status IN" in sql and "+c.severity IN" in sql for sql in statements)
        assert all(" c.created_at >= " in sql and "+c.created_at" not in sql for sql in statements)


@pytest.mark.django_db
def test_a_time_range_stays_visible_to_the_planner_whatever_the_page_order():
    # By severity, a page read in order may pass most cases before reaching a range (within a severity
    # the order is by id): the range is left to the planner, the other filters are hidden.
    tenants = [make_tenant()]
    now = timezone.now()
    add_cases(tenants, DENSE // 2, status="New", severity="High", first_ticket=10_000, now=now)
    add_cases(tenants, DENSE // 2 + 10, status="In Progress", severity="Medium", first_ticket=20_000,
              now=now - timedelta(milliseconds=500))
    add_cases(tenants, 50, status="New", severity="Critical", first_ticket=30_000, now=now - timedelta(days=3))

    query = CaseQuery(sort="severity", statuses=OPEN, limit=100, created_from=ms(now - timedelta(hours=1)),
                      created_to=ms(now))
    seen, totals, statements = all_pages(query)

    in_window = Case.objects.filter(created_at__gte=now - timedelta(hours=1)).order_by("-severity_rank", "-id")
    assert seen == list(in_window.values_list("ticket_id", flat=True))
    assert set(totals) == {DENSE + 10}
    if sqlite:
        # Pages the walk does not find sort every match (the order hidden from the planner, not the range).
        assert all("+c.status IN" in sql and "+c.created_at" not in sql and " c.created_at >= " in sql
                   and ("ORDER BY c.severity_rank DESC" in sql or "ORDER BY +c.severity_rank DESC" in sql)
                   for sql in statements)


@pytest.mark.django_db
def test_few_matches_are_left_to_the_planner():
    tenants = [make_tenant()]
    now = timezone.now()
    add_cases(tenants, 200, status="Resolved", severity="Low", first_ticket=10_000, now=now)
    matching = add_cases(tenants, 7, status="Escalated", severity="Critical", first_ticket=20_000,
                         now=now - timedelta(milliseconds=500), step=timedelta(minutes=1))

    seen, totals, statements = all_pages(CaseQuery(statuses=("Escalated",), limit=3))

    assert seen == [case.ticket_id for case in matching]
    assert set(totals) == {7}
    if sqlite:
        assert statements and not any("+c." in sql for sql in statements)


@pytest.mark.django_db
def test_a_query_without_indexed_filters_reads_its_page_before_counting():
    tenants = [make_tenant()]
    now = timezone.now()
    add_cases(tenants, 30, status="New", severity="High", first_ticket=10_000, now=now)
    with CaptureQueriesContext(connection) as captured:
        page = backend.list_cases(ROOT_SCOPE, CaseQuery(limit=50, created_from=ms(now - timedelta(hours=1)), created_to=ms(now)))
    assert page.total == 30
    # One page holds them all: no count at all.
    assert not any(q["sql"].startswith("SELECT COUNT(*)") for q in captured.captured_queries)


@pytest.mark.django_db
def test_a_rare_tag_is_probed_once_and_its_cases_listed():
    tenants = [make_tenant()]
    now = timezone.now()
    cases = add_cases(tenants, 40, status="New", severity="High", first_ticket=10_000, now=now)
    tag(cases[:3], "vip")
    tag(cases[2:5], "exec")  # cases[2] carries both: listed once
    tag(cases[5:], "noise")

    with CaptureQueriesContext(connection) as captured:
        seen, totals, statements = all_pages(CaseQuery(tags=("vip", "exec"), limit=2))
        probes = [q["sql"] for q in captured.captured_queries if "FROM \"cases_casetag\"" in q["sql"]]

    assert seen == [case.ticket_id for case in cases[:5]]
    assert set(totals) == {5}
    if sqlite:
        assert len(probes) == len(totals)  # the tag index is read once a call, by the probe
        assert not any("casetag" in sql for sql in statements)


@pytest.mark.django_db
def test_a_common_tag_is_counted_in_range_order_and_its_dense_pages_read_in_sort_order():
    tenants = [make_tenant(), make_tenant()]
    now = timezone.now()
    tagged = add_cases(tenants, DENSE + 5, status="New", severity="High", first_ticket=10_000, now=now)
    others = add_cases(tenants, 200, status="New", severity="High", first_ticket=20_000, now=now - timedelta(milliseconds=500))
    tag(tagged, "phishing", "email")  # two of the tags asked for: each case once
    tag(others, "edr")

    query = CaseQuery(tags=("phishing", "email"), limit=250, created_from=ms(now - timedelta(days=1)), created_to=ms(now))
    with CaptureQueriesContext(connection) as captured:
        seen, totals, statements = all_pages(query)
        counts = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT COUNT(*)")]

    assert seen == [case.ticket_id for case in tagged]
    assert set(totals) == {len(tagged)}
    if sqlite:
        assert counts and all('+c.id IN (SELECT case_id FROM "cases_casetag"' in sql for sql in counts)
        assert all('+c.id IN (SELECT case_id FROM "cases_casetag"' in sql for sql in statements)


@pytest.mark.skipif(not sqlite, reason="SQLite's planner: PostgreSQL has its own statistics")
@pytest.mark.django_db
def test_with_planner_statistics_the_counts_come_from_the_triage_and_assignee_indexes():
    tenants = [make_tenant() for _ in range(3)]
    analyst = make_user("analyst-plans", tenants=tenants)
    now = timezone.now()
    add_cases(tenants, 600, status="Resolved", severity="Low", first_ticket=10_000, now=now)
    add_cases(tenants, 300, status="New", severity="Critical", first_ticket=20_000, now=now, assignee=analyst)
    add_cases(tenants, 300, status="In Progress", severity="Medium", first_ticket=30_000, now=now)
    planner_statistics.analyze(connection, ["cases_case"])

    def count_plan(query: CaseQuery) -> str:
        with CaptureQueriesContext(connection) as captured:
            backend.list_cases(ROOT_SCOPE, query)
        counts = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT COUNT(*)")]
        assert counts, "the query was counted"
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + counts[-1])
            return " | ".join(row[3] for row in cursor.fetchall())

    day = dict(created_from=ms(now - timedelta(days=1)), created_to=ms(now))
    assert "COVERING INDEX case_triage" in count_plan(CaseQuery(statuses=OPEN, severities=("Critical",), limit=5))
    # From an index alone (here SQLite may skip through the two assignee values as well as the tenants).
    assert "USING COVERING INDEX" in count_plan(CaseQuery(statuses=("Resolved",), limit=5, **day))
    assert "COVERING INDEX case_assignee" in count_plan(CaseQuery(assignee="analyst-plans", limit=5, **day))


@pytest.mark.django_db
@pytest.mark.parametrize("sort", ["severity", "score", "ticket_id", "modified_at", "created_at"])
def test_a_page_sorted_within_a_time_range_is_chosen_from_the_created_index_alone(sort):
    tenants = [make_tenant() for _ in range(3)]
    analyst = make_user("analyst-sorted", tenants=tenants)
    now = timezone.now()
    add_cases(tenants, 400, status="Resolved", severity="Low", first_ticket=10_000, now=now)
    add_cases(tenants, 300, status="New", severity="Critical", first_ticket=20_000, now=now - timedelta(milliseconds=300),
              assignee=analyst)
    add_cases(tenants, 300, status="In Progress", severity="Medium", first_ticket=30_000, now=now - timedelta(milliseconds=600))
    add_cases(tenants, 50, status="New", severity="High", first_ticket=40_000, now=now - timedelta(days=3))
    if sqlite:
        planner_statistics.analyze(connection, ["cases_case"])
    since = now - timedelta(days=1)
    day = dict(created_from=ms(since), created_to=ms(now))
    column = {"severity": "severity_rank", "ticket_id": "ticket_id"}.get(sort, sort)
    in_window = Case.objects.filter(created_at__gte=since)

    for scope, filters, expected in [
        (ROOT_SCOPE, {}, in_window),
        (ROOT_SCOPE, {"statuses": OPEN, "min_score": 10}, in_window.filter(status__in=OPEN, score__gte=10)),
        (scope_for(*tenants[:2]), {"severities": ("Critical", "Low")},
         in_window.filter(tenant__in=tenants[:2], severity__in=("Critical", "Low"))),
        (scope_for(tenants[2]), {"assignee": "analyst-sorted"}, in_window.filter(tenant=tenants[2], assignee=analyst)),
    ]:
        seen, _, statements = all_pages(CaseQuery(sort=sort, order="asc", limit=50, **filters, **day), scope)
        assert seen == list(expected.order_by(column, "id").values_list("ticket_id", flat=True))
        if sqlite:
            for sql in statements:
                with connection.cursor() as db:
                    db.execute("EXPLAIN QUERY PLAN " + sql)
                    plan = " | ".join(row[3] for row in db.fetchall())
                # The page's ids from an index (either holds the tenant), without reading a case's row; then
                # its rows by id.
                assert "COVERING INDEX case_created " in plan or "COVERING INDEX case_tenant_created " in plan, plan
                assert "SEARCH c USING INTEGER PRIMARY KEY" in plan, plan


@pytest.mark.django_db
@pytest.mark.parametrize("order", ["desc", "asc"])
def test_a_page_by_severity_in_a_range_is_first_looked_for_among_the_next_cases_of_that_order(order):
    # The newest Critical cases lead the severity order (ids grow with creation) and lie in the range; the
    # oldest Low cases lead it ascending and do not: there the walk comes back short and the range is sorted.
    tenants = [make_tenant(), make_tenant()]
    now = timezone.now()
    add_cases(tenants, 2 * sqlite_plan.WALKED, status="New", severity="Low", first_ticket=10_000, now=now - timedelta(days=5))
    # Many open cases in the range (counted: at least COMMON_MATCHES), and resolved ones in between.
    add_cases(tenants, DENSE // 2 + 50, status="New", severity="Low", first_ticket=20_000, now=now - timedelta(milliseconds=100))
    add_cases(tenants, DENSE // 2 + 50, status="In Progress", severity="Critical", first_ticket=30_000,
              now=now - timedelta(milliseconds=200))
    add_cases(tenants, 300, status="Resolved", severity="High", first_ticket=40_000, now=now - timedelta(milliseconds=300))
    query = CaseQuery(sort="severity", order=order, statuses=OPEN, limit=100,
                      created_from=ms(now - timedelta(days=1)), created_to=ms(now))

    seen, statements, cursor, pages = [], [], None, 0
    while True:
        with CaptureQueriesContext(connection) as captured:
            page = backend.list_cases(ROOT_SCOPE, replace(query, cursor=cursor))
        statements.append(page_statements(captured))
        seen += [item["ticket_id"] for item in page.items]
        cursor, pages = page.next_cursor, pages + 1
        if cursor is None:
            break

    in_range = Case.objects.filter(created_at__gte=now - timedelta(days=1), status__in=OPEN)
    descending = order == "desc"
    expected = in_range.order_by("-severity_rank" if descending else "severity_rank", "-id" if descending else "id")
    assert seen == list(expected.values_list("ticket_id", flat=True))
    if sqlite:
        walked = f"LIMIT {sqlite_plan.WALKED})"
        assert all(walked in page[0] for page in statements[:-1])  # every full page is walked for first
        if descending:
            # The first pages' cases are among the next WALKED of the order: found there, nothing sorted.
            assert statements[0] == statements[0][:1] and statements[1] == statements[1][:1]
        else:
            # The first WALKED cases, ascending, are Low and too old: the walk is short, the range is sorted.
            assert len(statements[0]) == 2 and walked not in statements[0][1]


@pytest.mark.django_db
@pytest.mark.parametrize("sort", ["created_at", "score"])
def test_a_rare_text_or_tag_within_a_range_is_read_by_id_and_sorted(sort):
    """Fewer than COMMON_MATCHES cases named by the index of their text or tags: the page reads them by id
    whatever else the query filters, rather than walking the range in page order until it is full."""
    tenants = [make_tenant() for _ in range(2)]
    now = timezone.now()
    cases = add_cases(tenants, 3000, status="New", severity="High", first_ticket=10_000, now=now)
    spread = cases[::100]  # 30 cases, from the newest to the oldest
    tag(spread, "spread")
    for case in spread:
        Case.objects.filter(pk=case.pk).update(search_text=case.search_text + " beacon-xz")
    if sqlite:
        planner_statistics.analyze(connection, ["cases_case", "cases_casetag"])
    hour = dict(created_from=ms(now - timedelta(hours=1)), created_to=ms(now))
    column = {"created_at": "-created_at", "score": "-score"}[sort]
    for scope, filters, expected in [
        (ROOT_SCOPE, {"tags": ("spread",)}, spread),
        (ROOT_SCOPE, {"search": "beacon-xz"}, spread),
        (scope_for(tenants[0]), {"search": "beacon-xz", "statuses": ("New",)}, [c for c in spread if c.tenant == tenants[0]]),
    ]:
        seen, totals, statements = all_pages(CaseQuery(sort=sort, limit=7, **filters, **hour), scope)
        assert set(totals) == {len(expected)}
        ids = [c.pk for c in expected]
        assert seen == list(Case.objects.filter(pk__in=ids).order_by(column, "-id").values_list("ticket_id", flat=True))
        if sqlite:
            assert len(statements) == -(-len(expected) // 7)  # one a page: not looked for in sort order first
            for sql in statements:
                with connection.cursor() as db:
                    db.execute("EXPLAIN QUERY PLAN " + sql)
                    plan = " | ".join(row[3] for row in db.fetchall())
                assert "SEARCH c USING INTEGER PRIMARY KEY" in plan and "case_created" not in plan, plan
                assert "case_tenant_created" not in plan and "case_triage" not in plan, plan


@pytest.mark.django_db
@pytest.mark.parametrize("sort", ["score", "severity"])
@pytest.mark.parametrize("ranged", [False, True])
@pytest.mark.parametrize("severity, order", [("Low", "desc"), ("Critical", "asc")])
def test_a_page_whose_order_follows_its_filter_holds_the_next_cases(sort, ranged, severity, order):
    """Low cases come last by score or severity descending, Critical cases ascending, so the walk through
    the next WALKED cases of the order comes back short. Each page still holds the next cases, in order,
    for any scope, with and without a range."""
    other = {"Low": "Critical", "Critical": "Low"}[severity]
    tenants = [make_tenant(), make_tenant()]
    now = timezone.now()
    add_cases(tenants, DENSE + 50, status="New", severity=severity, first_ticket=10_000, now=now)
    add_cases(tenants, 2 * sqlite_plan.WALKED, status="New", severity=other, first_ticket=20_000,
              now=now - timedelta(milliseconds=300))
    add_cases(tenants, 100, status="Resolved", severity=severity, first_ticket=30_000,
              now=now - timedelta(milliseconds=600))
    add_cases(tenants, 100, status="New", severity=severity, first_ticket=40_000, now=now - timedelta(days=3))
    Case.objects.filter(severity="Low").update(score=F("score") / 10)  # 0-9.9: below every Critical case
    Case.objects.filter(severity="Critical").update(score=F("score") / 10 + 90)
    if sqlite:
        planner_statistics.analyze(connection, ["cases_case"])
    column = {"severity": "severity_rank"}.get(sort, sort)
    range_ = dict(created_from=ms(now - timedelta(days=1)), created_to=ms(now)) if ranged else {}
    matching = Case.objects.filter(severity=severity, status__in=OPEN)
    if ranged:
        matching = matching.filter(created_at__gte=now - timedelta(days=1))
    sign = "-" if order == "desc" else ""

    for scope, expected in [(ROOT_SCOPE, matching), (scope_for(tenants[1]), matching.filter(tenant=tenants[1]))]:
        seen, totals, statements = all_pages(
            CaseQuery(sort=sort, order=order, statuses=OPEN, severities=(severity,), limit=100, **range_), scope)
        assert seen == list(expected.order_by(f"{sign}{column}", f"{sign}id").values_list("ticket_id", flat=True))
        assert set(totals) == {expected.count()}


@pytest.mark.django_db
def test_with_no_range_a_common_tag_or_text_pages_in_order():
    # The walk comes back short: the tagged cases, which alone hold the text, come last by score.
    tenants = [make_tenant()]
    now = timezone.now()
    cases = add_cases(tenants, DENSE + 50, status="New", severity="Low", first_ticket=10_000, now=now)
    tag(cases, "vip")
    Case.objects.update(search_text=Concat(F("search_text"), Value(" beacon-xz")), score=F("score") / 10)
    add_cases(tenants, 2 * sqlite_plan.WALKED, status="New", severity="Low", first_ticket=20_000,
              now=now - timedelta(milliseconds=300))
    Case.objects.filter(ticket_id__gte=20_000).update(score=99.5)
    for filters in ({"tags": ("vip",)}, {"search": "beacon-xz"}):
        page = backend.list_cases(ROOT_SCOPE, CaseQuery(sort="score", limit=10, **filters))
        assert page.total == DENSE + 50
        expected = Case.objects.filter(ticket_id__lt=20_000).order_by("-score", "-id")
        assert [item["ticket_id"] for item in page.items] == list(expected.values_list("ticket_id", flat=True)[:10])
