"""How a page of cases is found on SQLite: every SQLite-only decision of listCases, behind `plan_page`.

SQLite's planner keeps one average per column. It cannot tell how many cases a filter or an FTS5 match
selects, and the fast way to a page depends on it. So, in order:

1. **Probe the listed conditions.** A text (`search`, `name`) or tag filter lists its cases in an index
   of its own. Up to COMMON_MATCHES of them are read from it (a text's are kept per worker while the
   index is unchanged, text_matches.py). A rare one becomes the list of its cases: the page reads those
   by id and sorts them. A common one is hidden from the planner (unary +): its matches are collected
   once and each case of the page order is tested against them.
2. **Count first when it decides.** With a common text or tag, or a filter on a column an index holds
   (status, severity, assignee, score), the cases are counted first (from an index, ~1 ms on 100,000
   cases). Few matches: the planner reads them through its chosen index and sorts them. Many: the page
   is read in sort order with every such filter hidden, so the first rows hold it (open Critical over
   30 days: 0.3 ms against 15 sorting all 7,836).
3. **Walk first.** A page sorted by other than creation, with many matches, is first looked for among
   the next WALKED cases of its order (the default 24 hours by severity: 0.5 ms against 4.9).
4. **Choose ids, then read rows.** A page's ids are chosen from an index that holds the filtered and
   sorted columns (migration cases.0006) before its rows are read.
5. **Count cheaply.** Time bounds that exclude no case are dropped; a text alone is counted in its
   index; a common text over a range holding most of the cases' time is counted as all its matches less
   those beyond the range (10 ms against 31 for 10,000 matches).

Each step's worth at 8 clients: benchmarks/HISTORY.md (2026-12-02).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta

from tenants.scope import TenantScope

from .base import CaseQuery
from .case_sql import Plan, case_conditions, count_cases, decode, select_columns
from .sql import (
    CASES,
    NOTHING,
    Condition,
    Kind,
    Row,
    Where,
    db_datetime,
    fetch,
    fetch_value,
    placeholders,
)
from .text_matches import MATCHES, match_count, rare_ids

# From how many matches a text, a tag or a filter counts as common.
COMMON_MATCHES = 1000
# How many cases of its order a page sorted by other than creation first looks through.
WALKED = 200
# The share of the cases' time a creation range may leave out for a text's matches to be counted by
# complement: the cases beyond it are read in the created_at index.
LEAVING_OUT_AT_MOST = 0.25
# A text's matches among a span of case ids: FTS5 seeks its lists of matches to the span's first id.
_MATCHES_IN_SPAN = f"c.id IN ({MATCHES} AND rowid BETWEEN %s AND %s)"
# The kinds hidden when a page is read in sort order: every filter an index could serve but the
# tenants and the time ranges, which are one stretch of every order.
_TESTED_IN_ORDER = (Kind.COLUMN, Kind.TAGS, Kind.TEXT)


@dataclass
class SqlitePlan(Plan):
    """`where` counts the cases; `page` reads a page of them; `walk`: look among the next WALKED cases of
    the order first."""

    page: Where = field(default_factory=Where)
    walk: bool = False

    def rows(self, after: Where, order: str, *, limit: int, offset: int = 0, record: bool = False) -> list[Row]:
        if self.walk and not offset:
            rows = _walking(self.page, after, order, limit=limit, record=record)
            if rows is not None:
                return rows
        return _ids_then_rows(self.page + after, order, limit=limit, offset=offset, record=record)

    def count(self, limit: int | None = None) -> int:
        # Exact whatever the limit: SQLite's counts (the search index's, complements) cost no more.
        return count(self.where)


def plan_page(scope: TenantScope, query: CaseQuery) -> SqlitePlan:
    where, rare, common = _probed(case_conditions(scope, query))
    walk = query.sort != "created_at"
    if rare:
        total = 0 if where.of(Kind.NOTHING) else count(where)
        # Only the lists of ids visible: SQLite reads those cases by id and sorts them, rather than walk
        # the range in page order testing each against the list (1.3 ms against 0.2 for 230 matches).
        page = where.hiding(Kind.SCOPE, Kind.TENANT, Kind.COLUMN, Kind.LIKE, Kind.TIME, Kind.OTHER)
        return SqlitePlan(where, total, page, walk=False)
    if not (common or _filters_indexed_columns(query)):
        return SqlitePlan(where, None, where, walk=walk)
    total = count(where)
    if total < COMMON_MATCHES:
        return SqlitePlan(where, total, where, walk=False)
    # Many matches: read in page order, each filter tested on the cases as they come. `search` terms are
    # then tested on each case's text (LIKE), which costs less than collecting every match from the index.
    in_order = case_conditions(scope, query, search_by_like=True).hiding(*_TESTED_IN_ORDER)
    return SqlitePlan(where, total, in_order, walk=walk)


def _probed(where: Where) -> tuple[Where, bool, bool]:
    """`where` with each text and tag condition probed: a rare one replaced by the list of its cases, a
    common one hidden. Also whether any was rare, and whether any was common."""
    conditions: list[Condition] = []
    rare = common = False
    for condition in where.conditions:
        if condition.kind in (Kind.TEXT, Kind.TAGS):
            ids = _rare_case_ids(condition)
            if ids is None:
                condition, common = replace(condition, hidden=True), True
            else:
                condition, rare = Condition(Kind.IDS, f"c.id IN ({placeholders(ids)})", tuple(ids)) if ids else NOTHING, True
        conditions.append(condition)
    return Where(conditions), rare, common


def _rare_case_ids(condition: Condition) -> list[int] | None:
    """The ids of the cases a listed condition selects when fewer than COMMON_MATCHES, else None."""
    if condition.kind is Kind.TEXT:
        return rare_ids(condition.params[0], COMMON_MATCHES)
    ids = [row[0] for row in fetch(f"SELECT DISTINCT * FROM ({condition.listing}) LIMIT %s",
                                   [*condition.params, COMMON_MATCHES])]
    return ids if len(ids) < COMMON_MATCHES else None


def _filters_indexed_columns(query: CaseQuery) -> bool:
    """Whether `query` filters a column an index of the cases holds, other than time."""
    return bool(query.statuses or query.severities or query.assignee or query.unassigned
                or query.min_score is not None)


def _ids_then_rows(where: Where, order: str, *, limit: int, offset: int = 0, record: bool = False) -> list[Row]:
    """The page's ids chosen first, then its rows read. Sorting whole rows made SQLite carry every listed
    column of every case in range through the sort, each case read from its own table page: 13-21 ms for
    the default 24 hours sorted by severity, against 2-4 ms for the ids from a created_at index."""
    names, select = select_columns(record)
    offset_sql = " OFFSET %s" if offset else ""
    sql = f"{select} WHERE c.id IN (SELECT c.id FROM {CASES} c{where.sql()}{order} LIMIT %s{offset_sql}){order}"
    return decode(names, fetch(sql, [*where.params, limit, *([offset] if offset else [])]))


def _walking(where: Where, after: Where, order: str, *, limit: int, record: bool) -> list[Row] | None:
    """The page if the next WALKED cases of `order` (after `after`) hold it, else None. The matches found
    there are the first of the whole order, so a full page is the answer; a short one is not (the oldest
    Low cases by severity come last: 0.15 ms spent for nothing)."""
    walked = Condition(Kind.IDS, f"c.id IN (SELECT c.id FROM {CASES} c{after.sql()}{order} LIMIT {WALKED})",
                       tuple(after.params))
    rows = _ids_then_rows(Where([walked, *where.conditions, *after.conditions]), order, limit=limit, record=record)
    return rows if len(rows) == limit else None


# --- counting ------------------------------------------------------------------------------------


def count(where: Where) -> int:
    where = _without_bounds_holding_every_case(where)
    text = where.of(Kind.TEXT)
    bounds = where.of(Kind.TIME)
    if len(text) == 1 and len(where.conditions) == 1 + len(bounds) and all(b.column == "created_at" for b in bounds):
        expression = text[0].params[0]
        if not bounds:
            # The text alone: its index holds one row per case (the triggers of migration 0004 keep it so),
            # so they are counted there, not tested case by case (26,000 matches: 13 ms against 40).
            return match_count(expression)
        total = _count_by_complement(expression, bounds)
        if total is not None:
            return total
    return count_cases(where)


def _without_bounds_holding_every_case(where: Where) -> Where:
    """`where` less the time bounds beyond which no case lies: the default window ends "now", after the
    newest case, and counting a range with both bounds reads every index entry's value (100,000 cases,
    13,400 in the window: 1.0 ms against 0.4 with the lower bound alone). MIN() and MAX() are one step to
    either end of the column's index; NULL (no case at all) keeps the bound."""
    bounds = where.of(Kind.TIME)
    if not bounds:
        return where
    checks = ", ".join(f"(SELECT {'MIN' if b.op == '>=' else 'MAX'}({b.column}) FROM {CASES}) {b.op} %s" for b in bounds)
    holding = fetch(f"SELECT {checks}", [b.params[0] for b in bounds])[0]
    dropped = [b for b, holds_every_case in zip(bounds, holding) if holds_every_case]
    return Where([c for c in where.conditions if c not in dropped])


def _count_by_complement(expression: str, bounds: list[Condition]) -> int | None:
    """The cases matching a text within a creation range that holds most of the cases' time, counted as
    all the text's matches less those created beyond the range (None when the range holds less).

    Tested case by case, a range of 30 days up to now that leaves out a few hours of cases cost 31 ms for a
    term 10,000 cases hold (100,000 cases): every case of the range was read and looked up among the
    matches. In the index all the matches are counted at once, and those beyond the range are looked for
    only among the ids of the cases created there (ids grow with creation; 0.3 ms for 100 cases). The
    bounds still select the cases beyond, so the count is exact whatever the ids."""
    if len({b.op for b in bounds}) != len(bounds):
        return None  # a bound given twice: the complement reads one value per side
    oldest, newest = (db_datetime(v) for v in fetch(
        f"SELECT (SELECT MIN(created_at) FROM {CASES}), (SELECT MAX(created_at) FROM {CASES})")[0])
    if oldest is None or newest == oldest:
        return None
    left_out, beyond = timedelta(0), []
    for bound in bounds:
        value = db_datetime(bound.params[0])
        if bound.op == ">=":
            left_out += max(value - oldest, timedelta(0))
            beyond.append(("c.created_at < %s", bound.params[0]))
        else:
            left_out += max(newest - value, timedelta(0))
            beyond.append(("c.created_at >= %s", bound.params[0]))
    if left_out > LEAVING_OUT_AT_MOST * (newest - oldest):
        return None
    total = match_count(expression)
    for condition, value in beyond:
        # MIN and MAX together: SQLite then reads the created_at index over the cases beyond alone.
        first, last = fetch(f"SELECT MIN(c.id), MAX(c.id) FROM {CASES} c WHERE {condition}", [value])[0]
        if first is not None:
            total -= fetch_value(f"SELECT COUNT(*) FROM {CASES} c WHERE {condition} AND {_MATCHES_IN_SPAN}",
                                 [value, expression, first, last])
    return total
