"""The case reads of the embedded backend as SQL: filters, keyset pages, counts and single cases.

One `case_filters` turns a `CaseQuery` and the caller's scope into WHERE conditions; listCases, the
Stellar-compatible REST API and its counts all start from it, so they cannot disagree on what a filter
means. Columns are read under the names of the serializers' field lists (`tenant__cust_id`, ...).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from enum import Enum
from functools import cache
from typing import Any

from tenants.scope import TenantScope

from .base import CaseQuery
from .serializers import from_ms
from .text_matches import MATCHES, MATCHES_OF, match_count, rare_ids
from .sql import (
    CASES,
    TAGS,
    TENANTS,
    USERS,
    LIKE_ESCAPE,
    Row,
    Where,
    db_datetime,
    fetch,
    fetch_value,
    like_contains,
    param_datetime,
    placeholders,
    postgres,
    rows_as_dicts,
)

# EXPERIMENT ONLY (benchmarks/planner_layers.py): layers of the SQLite planner switched off by name.
LAYERS_OFF = frozenset(os.environ.get("PLANNER_LAYERS_OFF", "").split(","))

# column name of a case row -> SQL expression (c = the case, t = its tenant, u = assignee,
# cu = created_by, mu = modified_by)
_LIST_COLUMNS = {
    "id": "c.id",
    "stellar_id": "c.stellar_id",
    "ticket_id": "c.ticket_id",
    "name": "c.name",
    "status": "c.status",
    "severity": "c.severity",
    "severity_rank": "c.severity_rank",
    "score": "c.score",
    "size": "c.size",
    "tags": "c.tags",
    "created_at": "c.created_at",
    "modified_at": "c.modified_at",
    "version": "c.version",
    "resolution": "c.resolution",
    "tenant__cust_id": "t.cust_id",
    "tenant__cust_name": "t.cust_name",
    "assignee__username": "u.username",
    "assignee__first_name": "u.first_name",
    "assignee__last_name": "u.last_name",
}
_RECORD_COLUMNS = {
    **_LIST_COLUMNS,
    "tenant__tgrp_name": "t.tgrp_name",
    "created_by__username": "cu.username",
    "created_by_name": "c.created_by_name",
    "modified_by__username": "mu.username",
    "modified_by_name": "c.modified_by_name",
    "resolution_note": "c.resolution_note",
    "acknowledged": "c.acknowledged",
    "closed": "c.closed",
    "start_timestamp": "c.start_timestamp",
    "end_timestamp": "c.end_timestamp",
}
_DATETIMES = {"created_at", "modified_at", "acknowledged", "closed", "start_timestamp", "end_timestamp"}

# sort name -> column
SORT_COLUMNS = {
    "created_at": "c.created_at",
    "modified_at": "c.modified_at",
    "score": "c.score",
    "ticket_id": "c.ticket_id",
    "severity": "c.severity_rank",
}


def _from(record: bool) -> str:
    joins = f" FROM {CASES} c INNER JOIN {TENANTS} t ON t.id = c.tenant_id LEFT JOIN {USERS} u ON u.id = c.assignee_id"
    if record:
        joins += (f" LEFT JOIN {USERS} cu ON cu.id = c.created_by_id"
                  f" LEFT JOIN {USERS} mu ON mu.id = c.modified_by_id")
    return joins


@cache
def _select(record: bool) -> tuple[list[str], str]:
    columns = _RECORD_COLUMNS if record else _LIST_COLUMNS
    names = list(columns)
    return names, "SELECT " + ", ".join(columns.values()) + _from(record)


def _decode(names: list[str], rows: list[tuple[Any, ...]]) -> list[Row]:
    return rows_as_dicts(names, rows, datetimes=_DATETIMES.intersection(names), jsons=("tags",))


def scope_filter(where: Where, scope: TenantScope, tenant_column: str = "c.tenant_id") -> None:
    # A subquery of tenant ids rather than a join on cust_id: the database then walks the
    # (created_at, id) index in page order and stops at the page size.
    if not scope.all_tenants:
        cust_ids = sorted(scope.cust_ids) or [""]
        where.add(f"{tenant_column} IN (SELECT id FROM {TENANTS} WHERE cust_id IN ({placeholders(cust_ids)}))",
                  *cust_ids)


# SQLite's FTS5 trigram index of search_text and name (migration 0004). PostgreSQL's are GIN indexes
# (migration 0002) that its planner picks for the LIKE conditions by itself.
_INDEX_MATCH_OF = f"c.id IN ({MATCHES_OF}"
_INDEX_MATCH = f"c.id IN ({MATCHES})"
# The same within a span of case ids: FTS5 seeks its lists of matches to the span's first id.
_INDEX_MATCH_IN_SPAN = f"c.id IN ({MATCHES} AND rowid BETWEEN %s AND %s)"
# A trigram index finds texts of three characters or more; shorter ones are looked for in every row.
_INDEXED_LENGTH = 3
# From how many matches a text, a tag or a filter counts as common (see TextPlan and planned_filters).
COMMON_MATCHES = 1000


class TextPlan(Enum):
    """How SQLite reads the cases a `search` or `name` selects. SQLite's planner cannot tell how many
    cases an FTS5 match holds, and the best way depends on it (100,000 cases, one term, count and page;
    LIKE alone took 140 ms for any term over 30 days):

    - INDEX: the matching ids from the index. planned_filters probes it and then
      - lists the ids of a rare text, each case fetched by id (20 matches: 0.3 ms), given to the count and
        the page so the index is matched once a call (a host name: 11 ms -> 4 ms);
      - hides the match of a common one from the planner (unary +), so SQLite collects the matching ids
        once and walks an index of the cases in range or in page order, testing each id. Common (10,000
        matches), 24 hours: 17 ms to count, 15 for a page, against 29 and 37 ms fetching each case by id;
        but a rare term over 30 days would cost 23 ms (every case in range), hence the probe. The ids it
        collects are limited to those of the cases created in the range (_text_match_in_created_span),
        and a text that is the only condition is counted in its index (count_cases).
    - SCAN_SEARCH: search terms as LIKE on each case's search_text, the cases read in page order; when
      matches are dense a page is found within the first rows (0.4 ms), and when they are sparse it reads
      every case in range. The name filter keeps the index: LIKE folds the case of ASCII letters only.
    """

    INDEX = "index"
    SCAN_SEARCH = "scan search"


def case_filters(scope: TenantScope, query: CaseQuery, text: TextPlan = TextPlan.INDEX,
                 in_page_order: bool = False) -> Where:
    """The conditions on `c` (the case) that select the rows of `query` within `scope`; `text` says how
    the text filters are written on SQLite (the same cases whichever). With `in_page_order` (SQLite only),
    every filter but the tenant's and the time ranges is hidden from the planner (unary +), so the rows
    are read in page order (see planned_filters)."""
    hide = "+" if in_page_order else ""
    where = Where()
    scope_filter(where, scope)
    if query.cust_id is not None:
        where.add(f"c.tenant_id = (SELECT id FROM {TENANTS} WHERE cust_id = %s)", query.cust_id)
    if query.statuses:
        where.add(f"{hide}c.status IN ({placeholders(query.statuses)})", *query.statuses)
    if query.severities:
        where.add(f"{hide}c.severity IN ({placeholders(query.severities)})", *query.severities)
    if query.unassigned:
        where.add(f"{hide}c.assignee_id IS NULL")
    if query.assignee:
        where.add(f"{hide}c.assignee_id IN (SELECT id FROM {USERS} WHERE UPPER(username) = UPPER(%s) "
                  "OR UPPER(email) = UPPER(%s))", query.assignee, query.assignee)
    if query.tags:
        where.add(f"{hide}c.id IN (SELECT case_id FROM {TAGS} WHERE tag IN ({placeholders(query.tags)}))", *query.tags)
    if query.min_score is not None:
        where.add(f"{hide}c.score >= %s", query.min_score)
    text_filters(where, query, text)
    time_range(where, "c.created_at", query.created_from, query.created_to)
    time_range(where, "c.modified_at", query.modified_from, query.modified_to)
    return where


def time_range(where: Where, column: str, low: int | None, high: int | None) -> None:
    # Bounds are inclusive in epoch ms; timestamps are stored to the microsecond, so "up to ms N"
    # means "before ms N+1".
    if low is not None:
        where.add(f"{column} >= %s", param_datetime(from_ms(low)))
    if high is not None:
        where.add(f"{column} < %s", param_datetime(from_ms(high + 1)))


def text_filters(where: Where, query: CaseQuery, plan: TextPlan) -> None:
    """`name`: a case-insensitive substring of the name. `search`: every term a substring of the
    lower-cased search_text (so lower-cased terms match case-insensitively)."""
    indexed: list[str] = []  # FTS5 column filters, AND-ed into one condition
    if query.name:
        if postgres():
            # The UPPER() form is the expression of the trigram index.
            where.add("UPPER(c.name::text) LIKE UPPER(%s)", like_contains(query.name))
        elif len(query.name) >= _INDEXED_LENGTH:
            indexed.append("name : " + _fts_string(query.name))
        else:
            where.add(f"c.name LIKE %s{LIKE_ESCAPE}", like_contains(query.name))
    for term in query.search.lower().split() if query.search else ():
        if not postgres() and len(term) >= _INDEXED_LENGTH and plan is not TextPlan.SCAN_SEARCH:
            indexed.append("search_text : " + _fts_string(term))
        else:
            where.add(f"c.search_text LIKE %s{LIKE_ESCAPE}", like_contains(term))
    if indexed:
        where.add(_INDEX_MATCH if plan is TextPlan.INDEX else "+" + _INDEX_MATCH, " AND ".join(indexed))


def _fts_string(text: str) -> str:
    # A quoted FTS5 string is a phrase of the text's trigrams, that is the substring, whatever it holds;
    # the trigram tokenizer folds case.
    return '"' + text.replace('"', '""') + '"'


# Conditions whose cases an index lists (the FTS5 match, the tags) start so; planned_filters probes them.
_LISTED_BY_INDEX = "c.id IN (SELECT "


def _subquery_of(clause: str) -> str:
    """The `(SELECT ...)` of a `c.id IN (SELECT ...)` condition, hidden from the planner (+) or not."""
    return clause.lstrip("+")[len("c.id IN "):]


def planned_filters(scope: TenantScope, query: CaseQuery) -> tuple[Where, Where, int | None]:
    """The conditions to count the cases of `query` with and those to read a page with, and the count
    when choosing them took it.

    On SQLite a page is read one of two ways, and which is faster depends on how many cases match,
    which SQLite's planner cannot know from its statistics (one average per column):
    - few matches (under COMMON_MATCHES): every match is found through the most selective index and the
      matches are sorted;
    - many: the cases are read in page order (`in_page_order`), testing each; the first rows hold a page.
    On 100,000 cases: open Critical over 30 days (7,836 matches) 15 ms a page as SQLite chose it, sorting
    every match, and 0.3 ms in order. So when the query filters a column an index holds, the cases are
    counted first (from the index alone, 1 ms) and the count decides. Reading in order assumes the
    matches are spread along the page order. A filter that follows it is the exception: Low cases sorted
    by score descending come last. So a page sorted by other than creation is first looked for among the
    next cases of its order (select_cases_walking); when they do not hold it, every match is sorted
    (sorts_every_match says when; otherwise the range is).

    The text match and the tags name their cases through an index of their own (`c.id IN (SELECT ...)`).
    Each is probed for up to COMMON_MATCHES cases: a rare one is replaced by the list of its cases (counted
    first, and the page reads them by id: _read_by_ids), a common one hidden from the planner (see
    TextPlan). A tag 4,126 cases carry, counted over all cases: 53 ms testing each case's tags, 20 ms
    hidden; 24 hours: 5.8 and 3.2 ms.

    PostgreSQL's planner has the statistics to choose by itself.
    """
    where = case_filters(scope, query)
    if postgres():
        return where, where, None
    conditions, common, rare = [], False, False
    for clause, params in where.conditions:
        if clause.startswith(_LISTED_BY_INDEX):
            # Up to COMMON_MATCHES of its cases from its index (0.4-3 ms on 100,000 cases); a text's are
            # kept while the index is unchanged (text_matches).
            if clause == _INDEX_MATCH:
                ids = rare_ids(params[0], COMMON_MATCHES)
            else:
                ids = [row[0] for row in fetch(f"SELECT DISTINCT * FROM {_subquery_of(clause)} LIMIT %s",
                                               [*params, COMMON_MATCHES])]
                ids = ids if len(ids) < COMMON_MATCHES else None
            if ids is not None and "rare_ids" in LAYERS_OFF:
                pass
            elif ids is not None:
                clause, params, rare = (f"c.id IN ({placeholders(ids)})" if ids else "1 = 0"), tuple(ids), True
            else:
                if clause == _INDEX_MATCH:
                    clause, params = _text_match_in_created_span(params, query)
                clause, common = "+" + clause, True
        conditions.append((clause, params))
    where = Where(conditions)
    if rare:
        # Counted first, by id (0.1 ms for 230 cases): then no page looks for its cases in sort order.
        total = 0 if ("1 = 0", ()) in conditions else count_cases(where)
        return where, _read_by_ids(where), total
    if not (common or _filters_indexed_columns(query)):
        return where, where, None
    total = count_cases(where)
    if total < COMMON_MATCHES:
        return where, where, total
    return where, case_filters(scope, query, TextPlan.SCAN_SEARCH, in_page_order=True), total


def _read_by_ids(where: Where) -> Where:
    """`where` with only its lists of case ids visible to the planner, so that a page reads those cases
    by id and sorts them: fewer than COMMON_MATCHES, whatever the range. SQLite otherwise walked the range
    in page order, testing each case against the list until the page was full: a host name 230 cases
    hold, over 30 days, 1.3 ms against 0.2; matches that all lie far back in the order, the whole range."""
    return _hidden_but(where, "c.id IN (")


def _hidden_but(where: Where, *visible: str) -> Where:
    """`where` with each condition on the case hidden from the planner (unary +), but those that start
    with one of `visible`."""
    return Where([
        (clause if clause.startswith(("+", *visible)) or not clause.startswith("c.") else f"+{clause}", params)
        for clause, params in where.conditions
    ])


# The share of the cases' time, the newest, within which a range must start for its span of ids to be
# worth finding: that reads each case of the range in the created_at index (100,000 cases over 30 days:
# 3 ms for 24 hours, 20 ms for all of them) and saves reading the matches before the span.
_SPAN_WITHIN_NEWEST = 0.25


def _text_match_in_created_span(params: tuple[Any, ...], query: CaseQuery) -> tuple[str, tuple[Any, ...]]:
    """A common text's match limited to the ids of the cases created in the query's range, when the range
    is recent. Case ids grow with creation, so the span of a recent range is a short stretch of each
    match list (FTS5 otherwise collects every match of all time, whatever the range). The span only
    narrows what the index hands over: the range still selects the cases. 100,000 cases, a term 26,000
    hold, counted over the last 24 hours: 36 ms, against 3 ms for the span and 10 ms for the count."""
    if query.created_from is None or "span" in LAYERS_OFF:
        return _INDEX_MATCH, params
    oldest, newest = _creation_extent()
    if oldest is None or from_ms(query.created_from) - oldest < (1 - _SPAN_WITHIN_NEWEST) * (newest - oldest):
        return _INDEX_MATCH, params
    span = Where()
    time_range(span, "c.created_at", query.created_from, query.created_to)
    first, last = fetch(f"SELECT MIN(c.id), MAX(c.id) FROM {CASES} c{span.sql()}", span.params)[0]
    if first is None:
        return "1 = 0", ()  # no case in the range
    return _INDEX_MATCH_IN_SPAN, (*params, first, last)


def _creation_extent() -> tuple[datetime | None, datetime | None]:
    """When the oldest and the newest case were created (None, None without cases): one step to either
    end of the created_at index. (One SELECT of both MIN and MAX would read every case instead.)"""
    oldest, newest = fetch(f"SELECT (SELECT MIN(created_at) FROM {CASES}), (SELECT MAX(created_at) FROM {CASES})")[0]
    return db_datetime(oldest), db_datetime(newest)


def _filters_indexed_columns(query: CaseQuery) -> bool:
    """Whether `query` filters a column an index of the cases holds, other than time. (Time ranges stay
    visible to the planner: a range is one stretch of the time, ticket id and modification orders, and
    by severity or score a page read in order may have to pass most cases before reaching it.)"""
    return bool(query.statuses or query.severities or query.assignee or query.unassigned
                or query.min_score is not None)


# Time bounds count_cases may leave out when no case lies beyond them, as the SQL that tells (all of a
# count's bounds in one statement): MIN() and MAX() are one step to either end of the column's index,
# and NULL (no case at all) keeps the bound.
# The default window ends "now", after the newest case. Counting a range with both bounds reads every
# index entry's value; with only the lower bound SQLite counts entries without decoding them (100,000
# cases, 13,400 in the window: 1.0 ms against 0.4 ms). A range that holds every case (30 days of a
# young database) leaves the count to the conditions that select something.
_BOUNDS_EXCLUDING_NOTHING = {
    f"c.{column} {op} %s": f"(SELECT {end}({column}) FROM {CASES}) {holds} %s"
    for column in ("created_at", "modified_at")
    for op, end, holds in ((">=", "MIN", ">="), ("<", "MAX", "<"))
}


def after(where: Where, column: str, value: Any, pk: int, *, descending: bool, pk_column: str = "c.id") -> None:
    """Only rows after (value, pk) in the page order. The redundant bound on `column` alone lets the
    database seek into the (column, id) index instead of filtering from the first row."""
    op = "<" if descending else ">"
    where.add(f"{column} {op}= %s AND ({column} {op} %s OR ({column} = %s AND {pk_column} {op} %s))",
              value, value, value, pk)


def order_by(column: str, descending: bool, pk_column: str = "c.id") -> str:
    direction = "DESC" if descending else "ASC"
    return f" ORDER BY {column} {direction}, {pk_column} {direction}"


def select_cases(where: Where, order: str, *, limit: int, offset: int = 0, record: bool = False) -> list[Row]:
    """Rows of the cases `where` selects, in `order`, with the list (or full record) columns.

    On SQLite the page's ids are chosen first and only then are its rows read. Sorting the rows
    themselves made SQLite carry every listed column of every case in range through the sort, each case
    read from its own table page: 13-21 ms for the default 24 hours sorted by severity, score or ticket
    id against 2-4 ms for the ids, from the created_at index that holds the filtered and sorted columns
    (migration cases.0006). `where` names the case `c` only, so the choice needs no join. PostgreSQL
    plans the single statement as well by itself (no gain measured from the two steps there)."""
    names, select = _select(record)
    pick = f"{where.sql()}{order} LIMIT %s" + (" OFFSET %s" if offset else "")
    params = [*where.params, limit, *([offset] if offset else [])]
    if postgres():
        sql = f"{select}{pick}"
    else:
        sql = f"{select} WHERE c.id IN (SELECT c.id FROM {CASES} c{pick}){order}"
    return _decode(names, fetch(sql, params))


# How many cases of its order a page sorted by other than creation first looks through (SQLite).
WALKED = 200


def worth_walking(query: CaseQuery, total: int | None) -> bool:
    """Whether a page is first looked for among the next WALKED cases of its order (select_cases_walking):
    on SQLite, sorted by other than creation, within a creation range and with many matches (or none
    counted yet), or with no range where sorts_every_match says so. Otherwise SQLite reads the range or
    the few matches and sorts them, or reads in page order."""
    if postgres() or query.sort == "created_at" or "walk" in LAYERS_OFF:
        return False
    if query.created_from is not None:
        return total is None or total >= COMMON_MATCHES
    return sorts_every_match(query, total)


def sorts_every_match(query: CaseQuery, total: int | None) -> bool:
    """Whether a page that the walk did not find is read by sorting every match (select_cases_sorted):
    on SQLite, sorted by other than creation, with many matches of counted filters and no text or tag
    filter.

    Read in page order, a page whose order follows its filter passes most cases first: Low cases come
    last by score descending, and by severity. With no time range (the Public API's listings; listCases
    always has one) that read each case's row from the sort's index (100,000 cases: 130 ms by score,
    110 by severity); within a range, SQLite sorted the range (30 days holding every case: 14-16 ms).
    Sorting every match reads them from an index that holds every column the filters and the sort name:
    the triage index by score (1-2 ms), else a created_at index (6-14 ms). Text and tag filters are left
    out: a text's LIKE reads each case's row, and testing every case against a common tag's list of cases
    cost twice what reading in page order did (a tag 4,126 cases carry, by severity: 28 ms against 15)."""
    return (not postgres() and query.sort != "created_at" and total is not None and total >= COMMON_MATCHES
            and not (query.search or query.name or query.tags) and "sorted" not in LAYERS_OFF)


# The conditions select_cases_sorted leaves visible to the planner: the tenant's, lists of case ids and
# time ranges, which an index of the cases leads with; and by score the status and severity filters,
# which the triage index holds with the time, the tenant and the score (open Critical cases of 30 days
# by score: 0.9 ms from it, 14 ms through the created_at index).
_VISIBLE_WHEN_SORTING = ("c.tenant_id", "c.id IN (", "c.created_at", "c.modified_at")
_VISIBLE_WHEN_SORTING_BY = {"score": ("c.status IN", "c.severity IN")}


def select_cases_sorted(where: Where, query: CaseQuery, resume_at: tuple[Any, int] | None, *,
                        limit: int) -> list[Row]:
    """The page of `query`'s cases (`where`, as counted) after `resume_at` (the previous page's last sort
    value and id), found by sorting every match (see sorts_every_match). The sort, the cursor's bounds
    and the filters an index read in order could use are hidden from the planner (unary +), so that
    SQLite reads the matches from an index that holds what they name (`ORDER BY +column` keeps an index
    from serving the order)."""
    column, descending = SORT_COLUMNS[query.sort], query.order == "desc"
    hidden = _hidden_but(where, *_VISIBLE_WHEN_SORTING, *_VISIBLE_WHEN_SORTING_BY.get(query.sort, ()))
    if resume_at is not None:
        after(hidden, f"+{column}", *resume_at, descending=descending, pk_column="+c.id")
    return select_cases(hidden, order_by(f"+{column}", descending), limit=limit)


def select_cases_walking(where: Where, resume: Where, order: str, *, limit: int) -> list[Row] | None:
    """The page (`limit` rows) if the next WALKED cases of `order` from `resume` on hold it, else None.

    Within a range, SQLite sorts every case of the range to find a page by severity or score, even when
    the first cases of that order hold it: the newest Critical cases come first by severity (ids grow
    with creation), and a day's cases are one in seven of a month's by score. Taking the next WALKED
    cases from the sort's own index and testing the filters on them alone costs about 0.3 ms (the
    default 24 hours of 100,000 cases by severity: 4.9 ms sorted, 0.5 walked). The matches found are
    the first of the whole order, so a full page is the answer; a short one is not, and the caller
    then sorts as before (oldest Low cases first: 0.15 ms spent for nothing)."""
    walked = f"c.id IN (SELECT c.id FROM {CASES} c{resume.sql()}{order} LIMIT {WALKED})"
    rows = select_cases(Where([(walked, tuple(resume.params)), *where.conditions]), order, limit=limit)
    return rows if len(rows) == limit else None


def count_cases(where: Where) -> int:
    bounds = [(clause, params) for clause, params in where.conditions if clause in _BOUNDS_EXCLUDING_NOTHING]
    if bounds:
        checks = ", ".join(_BOUNDS_EXCLUDING_NOTHING[clause] for clause, _ in bounds)
        held = fetch(f"SELECT {checks}", [p for _, params in bounds for p in params])[0]
        for (clause, _), holds_every_case in zip(bounds, held):
            if holds_every_case:
                where = where.without(clause)
    text = _text_within_creation_bounds(where)
    if text is not None:
        clause, params, created = text
        if not created:
            # The text alone: its index holds one row per case (the triggers of migration 0004 keep it
            # so), so they are counted there, not tested case by case (26,000 matches: 13 ms against 40).
            if clause == _INDEX_MATCH:
                return match_count(params[0])
            return fetch_value(f"SELECT COUNT(*) FROM {_subquery_of(clause)}", params)
        if clause == _INDEX_MATCH:
            total = _count_text_by_complement(params, created)
            if total is not None:
                return total
    return fetch_value(f"SELECT COUNT(*) FROM {CASES} c{where.sql()}", where.params)


_CREATED_FROM, _CREATED_BEFORE = "c.created_at >= %s", "c.created_at < %s"
# The share of the cases' time a creation range may leave out for its text matches to be counted by
# complement (_count_text_by_complement): the cases beyond it are read in the created_at index.
_LEAVING_OUT_AT_MOST = 0.25


def _text_within_creation_bounds(where: Where) -> tuple[str, tuple[Any, ...], dict[str, Any]] | None:
    """The text match (unhidden), its parameters and the created_at bounds by clause, when `where` holds
    nothing else."""
    text, bounds = None, {}
    for clause, params in where.conditions:
        if clause.lstrip("+").startswith(_INDEX_MATCH_OF) and text is None:
            text = (clause.lstrip("+"), params)
        elif clause in (_CREATED_FROM, _CREATED_BEFORE) and clause not in bounds:
            bounds[clause] = params[0]
        else:
            return None
    return (*text, bounds) if text is not None else None


def _count_text_by_complement(params: tuple[Any, ...], bounds: dict[str, Any]) -> int | None:
    """The cases matching a text within a creation range that holds most of the cases' time, counted as
    all the text's matches less those created beyond the range (None when the range holds less).

    Tested case by case, a range of 30 days up to now that leaves out a few hours of cases cost 31 ms for
    a term 10,000 cases hold (100,000 cases): every case of the range was read and looked up among the
    matches. In the index, all the matches are counted at once (10 ms), and those beyond the range are
    looked for only among the ids of the cases created there (ids grow with creation; 0.3 ms for 100
    cases). The bounds still select the cases beyond, so the count is exact whatever the ids."""
    oldest, newest = _creation_extent()
    if oldest is None or newest == oldest or "complement" in LAYERS_OFF:
        return None
    beyond = []  # the condition on the far side of each bound (the opposite bound), and its value
    left_out = timedelta(0)
    if _CREATED_FROM in bounds:
        beyond.append((_CREATED_BEFORE, bounds[_CREATED_FROM]))
        left_out += max(db_datetime(bounds[_CREATED_FROM]) - oldest, timedelta(0))
    if _CREATED_BEFORE in bounds:
        beyond.append((_CREATED_FROM, bounds[_CREATED_BEFORE]))
        left_out += max(newest - db_datetime(bounds[_CREATED_BEFORE]), timedelta(0))
    if left_out > _LEAVING_OUT_AT_MOST * (newest - oldest):
        return None
    total = match_count(params[0])
    for condition, value in beyond:
        # MIN and MAX together: SQLite then reads the created_at index over the cases beyond alone.
        first, last = fetch(f"SELECT MIN(c.id), MAX(c.id) FROM {CASES} c WHERE {condition}", [value])[0]
        if first is not None:
            total -= fetch_value(f"SELECT COUNT(*) FROM {CASES} c WHERE {condition} AND {_INDEX_MATCH_IN_SPAN}",
                                 [value, *params, first, last])
    return total


def case_record_by(scope: TenantScope, column: str, value: Any) -> Row | None:
    """The full record of the case whose `column` ("stellar_id" or "ticket_id") is `value`, if visible."""
    where = Where()
    where.add(f"c.{column} = %s", value)
    scope_filter(where, scope)
    names, select = _select(record=True)
    rows = _decode(names, fetch(f"{select}{where.sql()}", where.params))
    return rows[0] if rows else None
