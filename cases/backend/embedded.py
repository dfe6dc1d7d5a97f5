"""The embedded backend: case data from this project's own database.

The reads an AI client makes on every call (case pages, a case and its sections, tenants) are
hand-written SQL (case_sql.py, sql.py): Django spent several times the CPU of the SQL itself compiling
those queries. Every statement carries the caller's tenant scope, or starts from `visible_case`, so a
row outside the scope is indistinguishable from one that does not exist. The update (case_update.py)
and the rare reads stay on the ORM.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from django.db.models import Q

from cases.models import OPEN_STATUSES, Severity
from tenants.models import TenantAccess
from tenants.scope import TenantScope

from . import case_sql
from . import cursor as cursors
from .base import (
    CaseQuery,
    CaseUpdate,
    InvalidArgument,
    NotFound,
    Page,
    check_case_query,
    check_limit,
    shown,
)
from .case_update import add_case_comment, update_case
from .queries import case_not_found, memoized_case_lookups, scoped_alerts, visible_case
from .serializers import (
    alert_item,
    case_item,
    case_record,
    display_name,
    from_us,
    tenant_item,
    to_ms,
    to_us,
)
from .sql import (
    ACTIVITIES,
    ALERTS,
    COMMENTS,
    OBSERVABLES,
    SCORES,
    TENANTS,
    USERS,
    Row,
    Where,
    db_datetime,
    db_json,
    fetch,
    fetch_value,
    param_datetime,
    postgres,
    qn,
    rows_as_dicts,
    table,
)
from .sqlite_plan import plan_page
from .tenant_counts import tenant_case_counts, tenant_detail_counts

# sort name -> (model field, cursor value type)
SORTS: dict[str, tuple[str, type | tuple[type, ...]]] = {
    "created_at": ("created_at", int),  # microseconds, so equal-millisecond rows keep their order
    "modified_at": ("modified_at", int),
    "score": ("score", (float, int)),
    "ticket_id": ("ticket_id", int),
    "severity": ("severity_rank", int),
}
_TIME_SORTS = {"created_at", "modified_at"}
CASE_CURSOR_SALT = "cases.backend.list_cases"
ALERT_CURSOR_SALT = "cases.backend.list_case_alerts"
ALERT_LIST_FIELDS = (
    "id",
    "es_id",
    "index",
    "stellar_uuid",
    "timestamp",
    "name",
    "tactic_id",
    "tactic_name",
    "technique_id",
    "technique_name",
    "severity",
    "event_score",
    "event_status",
    "srcip",
    "dstip",
)


def _latest(sql: str, table_name: str, case_pk: int, limit: int) -> tuple[list[tuple[Any, ...]], int]:
    """The first `limit` rows of `sql` (the rows of one case, newest first) and how many the case has;
    the count query is skipped when the page is short."""
    rows = fetch(f"{sql} LIMIT %s", [case_pk, limit])
    if len(rows) < limit:
        return rows, len(rows)
    return rows, fetch_value(f"SELECT COUNT(*) FROM {table_name} WHERE case_id = %s", [case_pk])


# The statements of the case-detail sections, built once ("timestamp", "type", "value", "count" and
# "index" are quoted: they are keywords or function names somewhere).
_TS = qn("timestamp")
_ALERT_TIME = f"a.{_TS}"
_ALERT_SELECT = f"SELECT {', '.join(f'a.{qn(name)}' for name in ALERT_LIST_FIELDS)} FROM {ALERTS} a"
_ALERT_ORDER = case_sql.order_by(_ALERT_TIME, True, pk_column="a.id")
_COMMENTS_SQL = (
    f"SELECT x.stellar_id, x.comment, u.username, x.user_name, x.created_at, x.modified_at FROM {COMMENTS} x "
    f"LEFT JOIN {USERS} u ON u.id = x.user_id WHERE x.case_id = %s ORDER BY x.created_at DESC, x.id DESC"
)
_OBSERVABLES_SQL = (
    f"SELECT {qn('type')}, {qn('value')}, {qn('count')}, first_seen, last_seen FROM {OBSERVABLES} "
    f"WHERE case_id = %s ORDER BY {qn('type')}, {qn('count')} DESC, id"
)
_ACTIVITIES_SQL = (
    f"SELECT x.field, x.from_value, x.to_value, u.username, x.user_name, x.{_TS} FROM {ACTIVITIES} x "
    f"LEFT JOIN {USERS} u ON u.id = x.user_id WHERE x.case_id = %s ORDER BY x.{_TS} DESC, x.id DESC"
)
_SCORES_SQL = f"SELECT x.score, x.{_TS}, x.reasons FROM {SCORES} x WHERE x.case_id = %s ORDER BY x.{_TS} DESC, x.id DESC"
_TENANTS_SELECT = f"SELECT t.id, t.cust_id, t.cust_name, t.tgrp_name, t.created_at, t.attributes FROM {TENANTS} t"

# Active users whose tenant access covers the tenant (root users included), by username.
ASSIGNABLE_USERS_SQL = (
    f"SELECT u.username, u.email, u.first_name, u.last_name FROM {USERS} u "
    f"INNER JOIN {table(TenantAccess)} ta ON ta.user_id = u.id "
    f"WHERE u.is_active = %s AND (ta.all_tenants = %s OR EXISTS (SELECT 1 FROM {table(TenantAccess.tenants.through)} tt "
    "WHERE tt.tenantaccess_id = ta.id AND tt.tenant_id = %s)) ORDER BY u.username"
)


class EmbeddedBackend:
    # --- cases ---------------------------------------------------------------------------------
    @staticmethod
    def _plan(scope: TenantScope, query: CaseQuery) -> case_sql.Plan:
        # SQLite needs help its planner cannot give (sqlite_plan.py); PostgreSQL's plans the query as written.
        check_case_query(query)
        return case_sql.Plan(case_sql.case_conditions(scope, query)) if postgres() else plan_page(scope, query)

    def list_cases(self, scope: TenantScope, query: CaseQuery) -> Page:
        plan = self._plan(scope, query)
        field, value_type = SORTS[query.sort]
        column = case_sql.SORT_COLUMNS[query.sort]
        descending = query.order == "desc"
        bound_to = cursors.case_query_binding("cases", scope, query)
        after = Where()  # after the previous page's last case
        if query.cursor:
            last_value, last_pk = cursors.decode(CASE_CURSOR_SALT, bound_to, query.cursor, (value_type, int))
            if query.sort in _TIME_SORTS:
                last_value = param_datetime(from_us(last_value))
            case_sql.after(after, column, last_value, last_pk, descending=descending)
        rows = plan.rows(after, case_sql.order_by(column, descending), limit=query.limit + 1)
        next_cursor = None
        if len(rows) > query.limit:
            rows = rows[: query.limit]
            value = rows[-1][field]
            if query.sort in _TIME_SORTS:
                value = to_us(value)
            next_cursor = cursors.encode(CASE_CURSOR_SALT, bound_to, [value, rows[-1]["id"]])
        total = plan.total
        if total is None:
            total = len(rows) if query.cursor is None and next_cursor is None else plan.count(case_sql.EXACT_COUNT_LIMIT)
        relation = "eq"
        if total > case_sql.EXACT_COUNT_LIMIT:  # the same answer whichever way the total was found
            total, relation = case_sql.EXACT_COUNT_LIMIT, "gte"
        return Page(items=[case_item(row) for row in rows], total=total, next_cursor=next_cursor,
                    total_relation=relation)

    def case_records(self, scope: TenantScope, query: CaseQuery, *, skip: int) -> tuple[list[dict[str, Any]], int]:
        """An offset page of full case records (the Public API pages with skip/limit; `query.cursor` is not
        read), in listCases' order, and how many cases match in all."""
        plan = self._plan(scope, query)
        order = case_sql.order_by(case_sql.SORT_COLUMNS[query.sort], query.order == "desc")
        rows = plan.rows(Where(), order, limit=query.limit, offset=skip, record=True)
        if rows and len(rows) < query.limit:
            total = skip + len(rows)
        else:
            total = plan.total if plan.total is not None else plan.count()
        return [case_record(row) for row in rows], total

    def get_case(self, scope: TenantScope, *, case_id: str | None = None, ticket_id: int | None = None) -> dict[str, Any]:
        if (case_id is None) == (ticket_id is None):
            raise InvalidArgument("Give exactly one of _id and ticket_id.")
        if case_id is not None:
            row = case_sql.case_record_by(scope, "stellar_id", case_id)
            if row is None:
                raise case_not_found(case_id)
        else:
            if isinstance(ticket_id, bool) or not isinstance(ticket_id, int):
                raise InvalidArgument("ticket_id must be an integer.")
            row = case_sql.case_record_by(scope, "ticket_id", ticket_id)
            if row is None:
                raise NotFound(f"No case with ticket_id {ticket_id} is visible to this key.")
        return case_record(row)

    def reading_one_case(self) -> AbstractContextManager[None]:
        return memoized_case_lookups()

    def get_case_summary(self, scope: TenantScope, case_id: str) -> str:
        return visible_case(scope, case_id, "summary")[2]

    def get_case_ai_summary(self, scope: TenantScope, case_id: str) -> dict[str, Any] | None:
        return visible_case(scope, case_id, "ai_summary")[2]

    def list_case_alerts(self, scope: TenantScope, case_id: str, *, limit: int, cursor: str | None) -> Page:
        check_limit(limit)
        case_pk, _ = visible_case(scope, case_id)
        bound_to = cursors.binding("alerts", case_id, cursors.scope_key(scope))
        where = Where()
        where.add("a.case_id = %s", case_pk)
        if cursor:
            last_us, last_pk = cursors.decode(ALERT_CURSOR_SALT, bound_to, cursor, (int, int))
            case_sql.after(where, _ALERT_TIME, param_datetime(from_us(last_us)), last_pk,
                           descending=True, pk_column="a.id")
        rows = rows_as_dicts(
            ALERT_LIST_FIELDS,
            fetch(f"{_ALERT_SELECT}{where.sql()}{_ALERT_ORDER} LIMIT %s", [*where.params, limit + 1]),
            datetimes=("timestamp",),
        )
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            next_cursor = cursors.encode(ALERT_CURSOR_SALT, bound_to, [to_us(rows[-1]["timestamp"]), rows[-1]["id"]])
        if cursor is None and next_cursor is None:
            total = len(rows)
        else:
            total = fetch_value(f"SELECT COUNT(*) FROM {ALERTS} WHERE case_id = %s", [case_pk])
        return Page(items=[alert_item(row) for row in rows], total=total, next_cursor=next_cursor)

    def list_case_comments(self, scope: TenantScope, case_id: str, *, limit: int) -> Page:
        check_limit(limit)
        case_pk, _ = visible_case(scope, case_id)
        rows, total = _latest(_COMMENTS_SQL, COMMENTS, case_pk, limit)
        items = [
            {
                "_id": stellar_id,
                "comment": comment,
                "user": username,
                "user_name": user_name,
                "created_at": to_ms(db_datetime(created_at)),
                "modified_at": to_ms(db_datetime(modified_at)),
            }
            for stellar_id, comment, username, user_name, created_at, modified_at in rows
        ]
        return Page(items=items, total=total, next_cursor=None)

    def list_case_observables(self, scope: TenantScope, case_id: str) -> dict[str, list[dict[str, Any]]]:
        case_pk, _ = visible_case(scope, case_id)
        grouped: dict[str, list[dict[str, Any]]] = {}
        rows = fetch(_OBSERVABLES_SQL, [case_pk])
        for kind, value, count, first_seen, last_seen in rows:
            grouped.setdefault(kind, []).append(
                {"value": value, "count": count, "first_seen": to_ms(db_datetime(first_seen)),
                 "last_seen": to_ms(db_datetime(last_seen))}
            )
        return grouped

    def list_case_activities(self, scope: TenantScope, case_id: str, *, limit: int) -> Page:
        check_limit(limit)
        case_pk, _ = visible_case(scope, case_id)
        rows, total = _latest(_ACTIVITIES_SQL, ACTIVITIES, case_pk, limit)
        items = [
            {"field": f, "from": before, "to": after, "user": username, "user_name": user_name,
             "timestamp": to_ms(db_datetime(moment))}
            for f, before, after, username, user_name, moment in rows
        ]
        return Page(items=items, total=total, next_cursor=None)

    def list_case_scores(self, scope: TenantScope, case_id: str, *, limit: int) -> Page:
        check_limit(limit)
        case_pk, _ = visible_case(scope, case_id)
        rows, total = _latest(_SCORES_SQL, SCORES, case_pk, limit)
        items = [{"score": score, "timestamp": to_ms(db_datetime(moment)), "reasons": db_json(reasons)}
                 for score, moment, reasons in rows]
        return Page(items=items, total=total, next_cursor=None)

    def list_assignable_users(self, scope: TenantScope, case_id: str) -> list[dict[str, Any]]:
        _, tenant_pk = visible_case(scope, case_id)
        return [
            {"username": username, "email": email, "name": display_name(first_name, last_name, username)}
            for username, email, first_name, last_name in fetch(ASSIGNABLE_USERS_SQL, [True, True, tenant_pk])
        ]

    def update_case(self, scope: TenantScope, case_id: str, update: CaseUpdate, *, actor: Any) -> dict[str, Any]:
        return update_case(scope, case_id, update, actor=actor)

    def add_case_comment(self, scope: TenantScope, case_id: str, comment: str, *, actor: Any) -> dict[str, Any]:
        return add_case_comment(scope, case_id, comment, actor=actor)

    # --- alerts --------------------------------------------------------------------------------
    def get_alert(self, scope: TenantScope, alert_id: str) -> dict[str, Any]:
        matches = list(
            scoped_alerts(scope)
            .filter(Q(stellar_uuid=alert_id) | Q(es_id=alert_id))
            .select_related("tenant", "case")
            .only("es_id", "index", "stellar_uuid", "source", "ai_summary", "tenant__cust_id", "case__stellar_id")
            .order_by("pk")[:3]
        )
        by_uuid = [a for a in matches if a.stellar_uuid == alert_id]
        if by_uuid:
            alert = by_uuid[0]
        elif len(matches) == 1:
            alert = matches[0]
        elif not matches:
            raise NotFound(f"No alert with id {shown(alert_id)} is visible to this key.")
        else:
            raise InvalidArgument(
                f"alert_id {shown(alert_id)} is the _id of several alerts: give the alert's stellar_uuid instead."
            )
        return {
            "_index": alert.index,
            "_id": alert.es_id,
            "stellar_uuid": alert.stellar_uuid,
            "cust_id": alert.tenant.cust_id,
            "case_id": alert.case.stellar_id if alert.case else None,
            "_source": alert.source,
            "ai_summary": alert.ai_summary,
        }

    # --- tenants -------------------------------------------------------------------------------
    def _tenants(self, where: Where) -> list[Row]:
        return rows_as_dicts(
            ("id", "cust_id", "cust_name", "tgrp_name", "created_at", "attributes"),
            fetch(f"{_TENANTS_SELECT}{where.sql()} ORDER BY t.cust_name, t.id", where.params),
            datetimes=("created_at",), jsons=("attributes",),
        )

    def list_tenants(self, scope: TenantScope) -> list[dict[str, Any]]:
        where = Where()
        case_sql.scope_condition(where, scope, tenant_column="t.id")
        counts = tenant_case_counts()
        out = []
        for row in self._tenants(where):
            case_count, open_case_count = counts.get(row["id"], (0, 0))
            out.append({**tenant_item(row), "case_count": case_count, "open_case_count": open_case_count})
        return out

    def get_tenant(self, scope: TenantScope, cust_id: str) -> dict[str, Any]:
        where = Where()
        where.add("t.cust_id = %s", cust_id)
        case_sql.scope_condition(where, scope, tenant_column="t.id")
        tenants = self._tenants(where)
        if not tenants:
            raise NotFound(f"No tenant with cust_id {shown(cust_id)} is visible to this key.")
        tenant = tenants[0]
        by_severity = {s: 0 for s in Severity.values}
        by_status = {s.value: 0 for s in OPEN_STATUSES}
        case_count, open_counts = tenant_detail_counts(tenant["id"])
        for status, severity, n in open_counts:
            by_status[status] += n
            by_severity[severity] += n
        return {
            **tenant_item(tenant),
            "attributes": tenant["attributes"],
            "case_count": case_count,
            "open_cases": {"total": sum(by_status.values()), "by_severity": by_severity, "by_status": by_status},
        }
