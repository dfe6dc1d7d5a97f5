"""The case reads of the embedded backend as SQL: the conditions of a query, pages, counts, single cases.

`case_conditions` turns a `CaseQuery` and the caller's scope into typed conditions; listCases and the
Stellar-compatible REST API both start from it, so they cannot disagree on what a filter means. `Plan`
reads a page and counts as the conditions are written, which is what PostgreSQL's planner needs; SQLite's
reads are planned by sqlite_plan.py. Columns are read under the names of the serializers' field lists
(`tenant__cust_id`, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tenants.scope import TenantScope

from .base import CaseQuery
from .serializers import from_ms
from .sql import (
    CASES,
    LIKE_ESCAPE,
    TAGS,
    TENANTS,
    USERS,
    Kind,
    Row,
    Where,
    fetch,
    fetch_value,
    like_contains,
    param_datetime,
    placeholders,
    postgres,
    rows_as_dicts,
)
from .text_matches import MATCHES

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
# A trigram index finds texts of three characters or more; shorter ones are looked for in every row.
INDEXED_LENGTH = 3


def _from(record: bool) -> str:
    joins = f" FROM {CASES} c INNER JOIN {TENANTS} t ON t.id = c.tenant_id LEFT JOIN {USERS} u ON u.id = c.assignee_id"
    if record:
        joins += (f" LEFT JOIN {USERS} cu ON cu.id = c.created_by_id"
                  f" LEFT JOIN {USERS} mu ON mu.id = c.modified_by_id")
    return joins


def select_columns(record: bool) -> tuple[list[str], str]:
    """The row names and the SELECT ... FROM of a page of cases, list or full-record columns."""
    columns = _RECORD_COLUMNS if record else _LIST_COLUMNS
    return list(columns), "SELECT " + ", ".join(columns.values()) + _from(record)


def decode(names: list[str], rows: list[tuple[Any, ...]]) -> list[Row]:
    return rows_as_dicts(names, rows, datetimes=_DATETIMES.intersection(names), jsons=("tags",))


# --- conditions ----------------------------------------------------------------------------------


def scope_condition(where: Where, scope: TenantScope, tenant_column: str = "c.tenant_id", *,
                    kind: Kind = Kind.SCOPE) -> None:
    # A subquery of tenant ids rather than a join on cust_id: the database then walks the
    # (created_at, id) index in page order and stops at the page size.
    if not scope.all_tenants:
        cust_ids = sorted(scope.cust_ids) or [""]
        where.add(f"{tenant_column} IN (SELECT id FROM {TENANTS} WHERE cust_id IN ({placeholders(cust_ids)}))",
                  *cust_ids, kind=kind)


def case_conditions(scope: TenantScope, query: CaseQuery, *, search_by_like: bool = False) -> Where:
    """The conditions on `c` (the case) that select the rows of `query` within `scope`. On SQLite a text
    of three characters or more is matched in the FTS5 index unless `search_by_like` says to test each
    case's search_text for the `search` terms (the same cases either way)."""
    where = Where()
    scope_condition(where, scope)
    if len(query.tenants) == 1:
        where.add(f"c.tenant_id = (SELECT id FROM {TENANTS} WHERE cust_id = %s)", query.tenants[0], kind=Kind.TENANT)
    elif query.tenants:
        scope_condition(where, TenantScope(all_tenants=False, cust_ids=frozenset(query.tenants)), kind=Kind.TENANT)
    column = Kind.COLUMN
    if query.statuses:
        where.add(f"c.status IN ({placeholders(query.statuses)})", *query.statuses, kind=column)
    if query.severities:
        where.add(f"c.severity IN ({placeholders(query.severities)})", *query.severities, kind=column)
    if query.unassigned:
        where.add("c.assignee_id IS NULL", kind=column)
    if query.assignee:
        where.add(f"c.assignee_id IN (SELECT id FROM {USERS} WHERE UPPER(username) = UPPER(%s) "
                  "OR UPPER(email) = UPPER(%s))", query.assignee, query.assignee, kind=column)
    if query.min_score is not None:
        where.add("c.score >= %s", query.min_score, kind=column)
    if query.tags:
        listing = f"SELECT case_id FROM {TAGS} WHERE tag IN ({placeholders(query.tags)})"
        where.add(f"c.id IN ({listing})", *query.tags, kind=Kind.TAGS, listing=listing)
    _text_conditions(where, query, search_by_like)
    time_range(where, "created_at", query.created_from, query.created_to)
    time_range(where, "modified_at", query.modified_from, query.modified_to)
    # The Public API's filters.
    if query.ticket_id is not None:
        where.add("c.ticket_id = %s", query.ticket_id)
    if query.ticket_from is not None:
        where.add("c.ticket_id >= %s", query.ticket_from)
    if query.ticket_to is not None:
        where.add("c.ticket_id <= %s", query.ticket_to)
    if query.max_score is not None:
        where.add("c.score <= %s", query.max_score)
    return where


def time_range(where: Where, column: str, low: int | None, high: int | None) -> None:
    # Bounds are inclusive in epoch ms; timestamps are stored to the microsecond, so "up to ms N"
    # means "before ms N+1".
    if low is not None:
        where.add(f"c.{column} >= %s", param_datetime(from_ms(low)), kind=Kind.TIME, column=column, op=">=")
    if high is not None:
        where.add(f"c.{column} < %s", param_datetime(from_ms(high + 1)), kind=Kind.TIME, column=column, op="<")


def _text_conditions(where: Where, query: CaseQuery, search_by_like: bool) -> None:
    """`name`: a case-insensitive substring of the name. `search`: every term a substring of the
    lower-cased search_text (so lower-cased terms match case-insensitively)."""
    indexed: list[str] = []  # FTS5 column filters, AND-ed into one condition
    if query.name:
        if postgres():
            # The UPPER() form is the expression of the trigram index.
            where.add("UPPER(c.name::text) LIKE UPPER(%s)", like_contains(query.name), kind=Kind.LIKE)
        elif len(query.name) >= INDEXED_LENGTH:
            indexed.append("name : " + _fts_string(query.name))
        else:
            where.add(f"c.name LIKE %s{LIKE_ESCAPE}", like_contains(query.name), kind=Kind.LIKE)
    for term in query.search.lower().split() if query.search else ():
        if not postgres() and len(term) >= INDEXED_LENGTH and not search_by_like:
            indexed.append("search_text : " + _fts_string(term))
        else:
            where.add(f"c.search_text LIKE %s{LIKE_ESCAPE}", like_contains(term), kind=Kind.LIKE)
    if indexed:
        where.add(f"c.id IN ({MATCHES})", " AND ".join(indexed), kind=Kind.TEXT, listing=MATCHES)


def _fts_string(text: str) -> str:
    # A quoted FTS5 string is a phrase of the text's trigrams, that is the substring, whatever it holds;
    # the trigram tokenizer folds case.
    return '"' + text.replace('"', '""') + '"'


def after(where: Where, column: str, value: Any, pk: int, *, descending: bool, pk_column: str = "c.id") -> None:
    """Only rows after (value, pk) in the page order. The redundant bound on `column` alone lets the
    database seek into the (column, id) index instead of filtering from the first row."""
    op = "<" if descending else ">"
    where.add(f"{column} {op}= %s AND ({column} {op} %s OR ({column} = %s AND {pk_column} {op} %s))",
              value, value, value, pk)


def order_by(column: str, descending: bool, pk_column: str = "c.id") -> str:
    direction = "DESC" if descending else "ASC"
    return f" ORDER BY {column} {direction}, {pk_column} {direction}"


# --- reading -------------------------------------------------------------------------------------


@dataclass
class Plan:
    """How the cases of a query are read: a page of them, and their number. This one reads them as the
    conditions are written, which PostgreSQL's planner, with its statistics, plans well by itself;
    sqlite_plan.plan_page makes SQLite's. `total` is the count when planning took it."""

    where: Where
    total: int | None = None

    def rows(self, after: Where, order: str, *, limit: int, offset: int = 0, record: bool = False) -> list[Row]:
        """The page after the rows `after` excludes, in `order`, with the list (or full-record) columns."""
        names, select = select_columns(record)
        where = self.where + after
        offset_sql = " OFFSET %s" if offset else ""
        rows = fetch(f"{select}{where.sql()}{order} LIMIT %s{offset_sql}",
                     [*where.params, limit, *([offset] if offset else [])])
        return decode(names, rows)

    def count(self, limit: int | None = None) -> int:
        return count_cases(self.where, limit)


# listCases counts matches exactly up to this many, then says "at least" (as Elasticsearch's
# track_total_hits does by default): at a million cases the last 24 hours hold 150,000 and a common word
# matches 100,000, and counting those took 20 ms and 3 s where the page itself took 2 ms.
EXACT_COUNT_LIMIT = 10_000


def count_cases(where: Where, limit: int | None = None) -> int:
    """The number of cases matching `where`; with `limit`, at most limit + 1."""
    if limit is None:
        return fetch_value(f"SELECT COUNT(*) FROM {CASES} c{where.sql()}", where.params)
    return fetch_value(f"SELECT COUNT(*) FROM (SELECT 1 FROM {CASES} c{where.sql()} LIMIT %s) counted",
                       [*where.params, limit + 1])


def case_record_by(scope: TenantScope, column: str, value: Any) -> Row | None:
    """The full record of the case whose `column` ("stellar_id" or "ticket_id") is `value`, if visible."""
    where = Where()
    where.add(f"c.{column} = %s", value)
    scope_condition(where, scope)
    names, select = select_columns(record=True)
    rows = decode(names, fetch(f"{select}{where.sql()}", where.params))
    return rows[0] if rows else None
