"""The upstream backend: the backend interface over a Stellar Cyber Public API (STELLAR_BACKEND=upstream).

The gateway's own rules still apply on top of the upstream key's: every answer is limited to the
caller's TenantScope (tenantid is sent when the scope or the query names tenants, and results are
filtered again here), and anything outside it is NotFound worded exactly as the embedded backend
words it. See upstream_client.py for tokens, pooling, retries and error messages.

What the platform does not have, and how this backend copes (all documented in the README):
- `search`, `name`, `unassigned`, sorting by ticket_id or severity, alert `total`, comment/activity/
  score `total`, tenant case counts, /ai_summary and /assignees are extensions this project's own
  Public API serves. Against a platform without them, search/name/unassigned are whatever it makes of
  the parameters, tenant counts are counted with /cases calls, and missing sections read as empty.
- Cursors wrap skip/limit, signed and bound to the query and scope. For the created_at, modified_at,
  score and ticket_id sorts a cursor also anchors the next page at the last row's value with a
  FROM~/TO~ bound (skip then only steps over the rows of that value already seen), so cases created
  while a client pages do not shift the pages; the severity sort pages by plain skip.
- updateCase reads the case, checks expected_version, sends a PUT with only the fields that change,
  and reports the changes by comparing the case before and after. The check and the PUT are two calls:
  a change made by someone else between them is not detected (the platform has no conditional update).
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any
from urllib.parse import quote

from cases.models import CaseStatus
from tenants.scope import TenantScope

from . import cursor as cursors
from .base import (
    CaseQuery,
    CaseUpdate,
    Conflict,
    InvalidArgument,
    NotFound,
    Page,
    UpstreamUnavailable,
    check_case_query,
    check_case_update,
    check_comment,
    check_limit,
    shown,
)
from .queries import case_not_found
from .upstream_client import (
    CASES,
    UpstreamClient,
    UpstreamConfig,
    UpstreamRefusal,
    client_for,
)
from .upstream_directory import AlertsAndTenants
from .upstream_memory import CaseTenants
from .upstream_mapping import (
    alert_item,
    case_changes,
    case_list_item,
    case_params,
    case_record,
    changed_fields,
    is_full_record,
)

ALERTS_PAGE = 50  # the platform's cap per /alerts call
SECTION_LIMIT = 500
CASE_CURSOR_SALT = "cases.backend.upstream.list_cases"
ALERT_CURSOR_SALT = "cases.backend.upstream.list_case_alerts"
ANCHORED_SORTS = ("created_at", "modified_at", "score", "ticket_id")
# The cursor holds numbers only (rows seen, rows of the anchor value seen, the anchor value).
_NUMBER = (int, float, type(None))


def _case_path(case_id: str, section: str = "") -> str:
    return f"{CASES}/{quote(str(case_id), safe='')}" + (f"/{section}" if section else "")


class UpstreamBackend(AlertsAndTenants):
    def __init__(self, config: UpstreamConfig | None = None) -> None:
        self.config = config or UpstreamConfig.from_settings()
        self._case_tenants = CaseTenants()

    @property
    def client(self) -> UpstreamClient:
        return client_for(self.config)

    # --- helpers -------------------------------------------------------------------------------
    def _get(self, path: str, *, what: str, params: dict[str, Any] | None = None) -> Any:
        return self.client.call("GET", path, what=what, params=params)

    def _refused(self, exc: UpstreamRefusal, what: str) -> Exception:
        """An UpstreamRefusal nobody expected, as the error the tool shows."""
        if exc.status in (400, 422):
            return InvalidArgument(exc.message or f"The Stellar Cyber API refused the request to {what} as invalid.")
        if exc.status == 409:
            return Conflict(exc.message or f"The Stellar Cyber API refused to {what}: the case changed meanwhile.")
        return UpstreamUnavailable(
            f"The Stellar Cyber API at {self.config.host} refused to {what} ({exc.status}): the gateway's upstream "
            f"key lacks that privilege or object; retrying will not help.",
            retryable=False,
        )

    @staticmethod
    def _tenant_filter(scope: TenantScope, named: tuple[str, ...] = ()) -> list[str] | None:
        """Tenants to send as tenantid: None for no filter, [] when nothing can match."""
        if named:
            return [cust_id for cust_id in named if scope.allows(cust_id)]
        if scope.all_tenants:
            return None
        return sorted(scope.cust_ids)

    def _fetch_case(self, case_id: str) -> dict[str, Any]:
        try:
            body = self._get(_case_path(case_id), what=f"read case {shown(case_id)}")
        except UpstreamRefusal as exc:
            if exc.status in (403, 404, 400, 422):
                raise case_not_found(case_id) from None
            raise self._refused(exc, "read a case") from None
        case = body.get("data") if isinstance(body, dict) else None
        if not isinstance(case, dict):
            raise case_not_found(case_id)
        self._case_tenants.put(case.get("_id") or case_id, case.get("cust_id"))
        return case

    def _check_visible(self, scope: TenantScope, case_id: str) -> None:
        """NotFound unless the case lies in the scope (no call for a root scope: the section call tells)."""
        if scope.all_tenants:
            return
        cust_id = self._case_tenants.get(case_id)
        if cust_id is None:
            cust_id = self._fetch_case(case_id).get("cust_id")
        if not cust_id or not scope.allows(cust_id):
            raise case_not_found(case_id)

    def _section(self, scope: TenantScope, case_id: str, section: str, *, params: dict | None = None) -> Any:
        self._check_visible(scope, case_id)
        try:
            return self._get(_case_path(case_id, section), what=f"read the {section} of case {shown(case_id)}",
                             params=params)
        except UpstreamRefusal as exc:
            if exc.status in (403, 404):
                raise case_not_found(case_id) from None
            raise self._refused(exc, f"read the {section} of a case") from None

    def _extension(self, scope: TenantScope, case_id: str, section: str, empty: Any) -> Any:
        """A section only this project's Public API serves; `empty` when the upstream has no such endpoint."""
        self._check_visible(scope, case_id)
        try:
            return self._get(_case_path(case_id, section), what=f"read the {section} of case {shown(case_id)}")
        except UpstreamRefusal as exc:
            if exc.status in (403, 404):
                self._fetch_case(case_id)  # NotFound if the case itself is missing
                return {"data": empty}
            raise self._refused(exc, f"read the {section} of a case") from None

    # --- cases ---------------------------------------------------------------------------------
    def list_cases(self, scope: TenantScope, query: CaseQuery) -> Page:
        check_case_query(query)
        bound_to = cursors.case_query_binding("upstream-cases", scope, query)
        seen, tied, anchor = 0, 0, None
        if query.cursor:
            seen, tied, anchor = cursors.decode(CASE_CURSOR_SALT, bound_to, query.cursor, (int, int, _NUMBER))
        tenants = self._tenant_filter(scope, query.tenants)
        if tenants == []:
            return Page(items=[], total=0, next_cursor=None)

        params = case_params(query, tenants)
        anchored = query.sort in ANCHORED_SORTS
        if anchored and anchor is not None:
            # The next page starts at the last row's value; rows of that value already seen are skipped.
            name = f"{'TO' if query.order == 'desc' else 'FROM'}~{query.sort}"
            current = params.get(name)
            if current is None:
                params[name] = anchor
            else:
                params[name] = min(current, anchor) if query.order == "desc" else max(current, anchor)
        skip = tied if anchored else seen
        params.update(sort=query.sort, order=query.order, skip=skip, limit=query.limit)
        try:
            body = self._get(CASES, what="list cases", params=params)
        except UpstreamRefusal as exc:
            if exc.status == 403:  # a tenant the upstream key may not see: nothing the caller may see either
                return Page(items=[], total=0, next_cursor=None)
            raise self._refused(exc, "list cases") from None
        data = body.get("data") if isinstance(body, dict) else None
        rows = data.get("cases") if isinstance(data, dict) else None
        rows = [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else None
        if rows is None:
            raise UpstreamUnavailable(
                f"The Stellar Cyber API at {self.config.host} answered the case list without data.cases; "
                f"retrying later may help."
            )
        upstream_total = data.get("total") if isinstance(data.get("total"), int) else skip + len(rows)
        items = []
        for row in rows:
            self._case_tenants.put(row.get("_id"), row.get("cust_id"))
            if scope.allows(row.get("cust_id") or ""):
                items.append(case_list_item(row))
        dropped = len(rows) - len(items)  # only if the upstream ignored tenantid: never shown, never counted

        # Rows before the anchor value are not in an anchored answer's total; an offset answer counts all.
        before = seen - tied if anchored else 0
        total = before + upstream_total - dropped
        next_cursor = None
        if rows and skip + len(rows) < upstream_total:
            last = rows[-1].get(query.sort)
            if anchored:
                same = sum(1 for row in rows if row.get(query.sort) == last)
                tied_next = (tied if last == anchor else 0) + same
                key = [seen + len(rows), tied_next, last]
            else:
                key = [seen + len(rows), 0, None]
            next_cursor = cursors.encode(CASE_CURSOR_SALT, bound_to, key)
        return Page(items=items, total=total, next_cursor=next_cursor)

    def get_case(self, scope: TenantScope, *, case_id: str | None = None, ticket_id: int | None = None) -> dict[str, Any]:
        if (case_id is None) == (ticket_id is None):
            raise InvalidArgument("Give exactly one of _id and ticket_id.")
        if case_id is not None:
            case = self._fetch_case(case_id)
            if not scope.allows(case.get("cust_id") or ""):
                raise case_not_found(case_id)
            return case_record(case)
        if isinstance(ticket_id, bool) or not isinstance(ticket_id, int):
            raise InvalidArgument("ticket_id must be an integer.")
        missing = NotFound(f"No case with ticket_id {ticket_id} is visible to this key.")
        tenants = self._tenant_filter(scope)
        if tenants == []:
            raise missing
        params = case_params(CaseQuery(), tenants)
        params.update(ticket_id=ticket_id, limit=1)
        try:
            body = self._get(CASES, what=f"find case number {ticket_id}", params=params)
        except UpstreamRefusal as exc:
            if exc.status == 403:
                raise missing from None
            raise self._refused(exc, "find a case by number") from None
        data = body.get("data") if isinstance(body, dict) else None
        rows = data.get("cases") if isinstance(data, dict) else None
        rows = [r for r in rows if isinstance(r, dict) and r.get("ticket_id") == ticket_id
                and scope.allows(r.get("cust_id") or "")] if isinstance(rows, list) else []
        if not rows:
            raise missing
        case = rows[0]
        self._case_tenants.put(case.get("_id"), case.get("cust_id"))
        return case_record(case if is_full_record(case) else self._fetch_case(case["_id"]))

    def reading_one_case(self) -> AbstractContextManager[None]:
        return nullcontext()  # each read is its own Public API request

    def get_case_summary(self, scope: TenantScope, case_id: str) -> str:
        body = self._section(scope, case_id, "summary", params={"formatted": "true"})
        summary = body.get("data") if isinstance(body, dict) else None
        return summary if isinstance(summary, str) else ""

    def get_case_ai_summary(self, scope: TenantScope, case_id: str) -> dict[str, Any] | None:
        body = self._extension(scope, case_id, "ai_summary", None)
        value = body.get("data") if isinstance(body, dict) else None
        return value if isinstance(value, dict) else None

    def list_case_alerts(self, scope: TenantScope, case_id: str, *, limit: int, cursor: str | None) -> Page:
        check_limit(limit)
        bound_to = cursors.binding("upstream-alerts", case_id, cursors.scope_key(scope))
        skip = cursors.decode(ALERT_CURSOR_SALT, bound_to, cursor, (int,))[0] if cursor else 0
        hits: list[dict[str, Any]] = []
        total = None
        while len(hits) < limit:
            want = min(ALERTS_PAGE, limit - len(hits))
            body = self._section(scope, case_id, "alerts", params={"skip": skip + len(hits), "limit": want})
            data = body.get("data") if isinstance(body, dict) else None
            docs = data.get("docs") if isinstance(data, dict) else None
            if not isinstance(docs, list):
                raise UpstreamUnavailable(
                    f"The Stellar Cyber API at {self.config.host} answered the case's alerts without data.docs; "
                    f"retrying later may help."
                )
            hits.extend(d for d in docs if isinstance(d, dict))
            if isinstance(data.get("total"), int):
                total = data["total"]
            if len(docs) < want:
                total = skip + len(hits) if total is None else total
                break
        if total is None:  # the platform gives no total: the case's alert count is its `size`
            total = max(int(self._fetch_case(case_id).get("size") or 0), skip + len(hits))
        next_cursor = None
        if hits and skip + len(hits) < total:
            next_cursor = cursors.encode(ALERT_CURSOR_SALT, bound_to, [skip + len(hits)])
        return Page(items=[alert_item(h) for h in hits], total=total, next_cursor=next_cursor)

    def _latest(self, scope: TenantScope, case_id: str, section: str, limit: int, order_by: str) -> tuple[list, int]:
        check_limit(limit)
        body = self._section(scope, case_id, section)
        body = body if isinstance(body, dict) else {}
        rows = body.get("data")
        rows = [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []
        total = body["total"] if isinstance(body.get("total"), int) else len(rows)
        # Latest first whatever order the upstream uses (a stable sort keeps its order among equals).
        rows = sorted(rows, key=lambda r: r.get(order_by) or 0, reverse=True)
        return rows[:limit], total

    def list_case_comments(self, scope: TenantScope, case_id: str, *, limit: int) -> Page:
        rows, total = self._latest(scope, case_id, "comments", limit, "created_at")
        keys = ("_id", "comment", "user", "user_name", "created_at", "modified_at")
        return Page(items=[{k: r.get(k) for k in keys} for r in rows], total=total, next_cursor=None)

    def list_case_observables(self, scope: TenantScope, case_id: str) -> dict[str, list[dict[str, Any]]]:
        body = self._section(scope, case_id, "observables")
        grouped = body.get("observables") if isinstance(body, dict) else None
        if not isinstance(grouped, dict):
            return {}
        return {str(kind): [o for o in items if isinstance(o, dict)] for kind, items in grouped.items()
                if isinstance(items, list)}

    def list_case_activities(self, scope: TenantScope, case_id: str, *, limit: int) -> Page:
        rows, total = self._latest(scope, case_id, "activities", limit, "timestamp")
        keys = ("field", "from", "to", "user", "user_name", "timestamp")
        return Page(items=[{k: r.get(k) for k in keys} for r in rows], total=total, next_cursor=None)

    def list_case_scores(self, scope: TenantScope, case_id: str, *, limit: int) -> Page:
        rows, total = self._latest(scope, case_id, "scores", limit, "timestamp")
        items = [{"score": r.get("score"), "timestamp": r.get("timestamp"), "reasons": r.get("reasons") or []}
                 for r in rows]
        return Page(items=items, total=total, next_cursor=None)

    def list_assignable_users(self, scope: TenantScope, case_id: str) -> list[dict[str, Any]]:
        body = self._extension(scope, case_id, "assignees", [])
        users = body.get("data") if isinstance(body, dict) else None
        keys = ("username", "email", "name")
        return [{k: u.get(k) for k in keys} for u in users if isinstance(u, dict)] if isinstance(users, list) else []

    def add_case_comment(self, scope: TenantScope, case_id: str, comment: str, *, actor: Any) -> dict[str, Any]:
        text = check_comment(comment)
        case = self._fetch_case(case_id)
        if not scope.allows(case.get("cust_id") or ""):
            raise case_not_found(case_id)
        username = actor.get_username() if getattr(actor, "pk", None) is not None else ""
        try:
            answer = self.client.call(
                "POST", _case_path(case_id, "comments"), what=f"add a comment to case {shown(case_id)}",
                json={"comment": text}, headers={"X-On-Behalf-Of": username} if username else None, idempotent=False,
            )
        except UpstreamRefusal as exc:
            if exc.status == 404:
                raise case_not_found(case_id) from None
            raise self._refused(exc, "add a comment") from None
        created = answer.get("data") if isinstance(answer, dict) else None
        created = created if isinstance(created, dict) else {}
        item = {k: created.get(k) for k in ("_id", "comment", "user", "user_name", "created_at", "modified_at")}
        return {"comment": {**item, "comment": item["comment"] or text}, "cust_id": case["cust_id"]}

    def update_case(self, scope: TenantScope, case_id: str, update: CaseUpdate, *, actor: Any) -> dict[str, Any]:
        tags_add, tags_delete = check_case_update(update)
        before = self._fetch_case(case_id)
        if not scope.allows(before.get("cust_id") or ""):
            raise case_not_found(case_id)
        if update.resolution is not None and (update.status or before.get("status")) != CaseStatus.RESOLVED:
            raise InvalidArgument(
                "resolution is only accepted with status Resolved: add status 'Resolved' to the update, or leave resolution out."
            )
        version = before.get("version")
        if update.expected_version is not None and version != update.expected_version:
            raise Conflict(
                f"Case {before.get('_id', case_id)} was changed meanwhile: its version is now {version}, not "
                f"{update.expected_version}. Nothing was changed; read it again with getCaseDetail and retry "
                f"with expected_version {version}."
            )
        body = changed_fields(before, update, tags_add, tags_delete)
        if not body:
            return {"case": case_record(before), "changes": []}
        username = actor.get_username() if getattr(actor, "pk", None) is not None else ""
        try:
            answer = self.client.call(
                "PUT", _case_path(case_id), what=f"update case {shown(case_id)}", json=body,
                headers={"X-On-Behalf-Of": username} if username else None,
            )
        except UpstreamRefusal as exc:
            if exc.status == 404:
                raise case_not_found(case_id) from None
            raise self._refused(exc, "update a case") from None
        after = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(after, dict) or not is_full_record(after):
            after = self._fetch_case(case_id)
        before_record, after_record = case_record(before), case_record(after)
        return {"case": after_record, "changes": case_changes(before_record, after_record)}
