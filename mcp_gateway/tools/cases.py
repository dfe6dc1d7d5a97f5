"""Case tools: listCases, getCaseDetail, getCaseAlerts, updateCase."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cases.backend import CaseQuery, CaseUpdate, InvalidArgument
from cases.models import OPEN_STATUSES, CaseStatus, Resolution, Severity

from ..registry import Tool, ToolArgs, ToolContext, ToolError, registry
from .common import MIN_EPOCH_MS, backend, check_case_id, check_cust_id, clip, normalise_choice, split_list

DAY_MS = 24 * 3600 * 1000
STATUSES = list(CaseStatus.values)
SEVERITIES = list(Severity.values)
RESOLUTIONS = list(Resolution.values)
UNASSIGNED_WORDS = {"none", "unassigned", "nobody", "null"}

# ---------------------------------------------------------------------------------------------
# listCases
# ---------------------------------------------------------------------------------------------

_RANGE_PAIRS = (("created_at_from", "created_at_to"), ("modified_at_from", "modified_at_to"))

EpochMs = Field(default=None, ge=0, le=32503680000000, description="UTC epoch milliseconds.")


class ListCasesArgs(ToolArgs):
    cust_id: str | None = Field(None, description="Tenant id (32 hex); use listTenant for ids.")
    status: list[str] | str | None = Field(
        None, description="One or several of New, In Progress, Escalated, Resolved, Cancelled; 'Open' = the first three."
    )
    severity: list[str] | str | None = Field(None, description="One or several of Critical, High, Medium, Low.")
    assignee: str | None = Field(None, description="Username or email; 'me' = the key's owner; 'none' = unassigned.")
    name: str | None = Field(None, max_length=200, description="Substring of the case name.")
    tags: list[str] | str | None = Field(None, description="Comma-separated tags; a case matches if it has any.")
    min_score: float | None = Field(None, ge=0, le=100, description="Minimum case score (0-100).")
    search: str | None = Field(
        None, max_length=200, description="Full-text terms over name, tags, summary, assignee and ticket id."
    )
    created_at_from: int | None = EpochMs
    created_at_to: int | None = EpochMs
    modified_at_from: int | None = EpochMs
    modified_at_to: int | None = EpochMs
    sort: Literal["created_at", "modified_at", "score", "ticket_id", "severity"] = "created_at"
    order: Literal["asc", "desc"] = "desc"
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, max_length=2000, description="next_cursor of the previous page.")

    @field_validator("status")
    @classmethod
    def _status(cls, value: Any) -> list[str] | None:
        out: list[str] = []
        for item in split_list(value):
            if item.lower() == "open":
                out.extend(OPEN_STATUSES)
            else:
                out.append(normalise_choice(item, STATUSES, argument="status"))
        return list(dict.fromkeys(out)) or None

    @field_validator("severity")
    @classmethod
    def _severity(cls, value: Any) -> list[str] | None:
        return [normalise_choice(v, SEVERITIES, argument="severity") for v in split_list(value)] or None

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: Any) -> list[str] | None:
        return split_list(value) or None

    @field_validator("cust_id")
    @classmethod
    def _cust_id(cls, value: str | None) -> str | None:
        return check_cust_id(value) if value else None

    @model_validator(mode="after")
    def _ranges(self) -> "ListCasesArgs":
        for low, high in _RANGE_PAIRS:
            a, b = getattr(self, low), getattr(self, high)
            if (a is None) != (b is None):
                missing = high if b is None else low
                raise ValueError(
                    f"{missing} is missing: give both bounds in epoch milliseconds, or neither for the last 24 hours"
                )
            if a is not None:
                if a < MIN_EPOCH_MS or b < MIN_EPOCH_MS:
                    raise ValueError(f"{low}/{high} look like seconds: give epoch milliseconds (seconds × 1000)")
                if a > b:
                    raise ValueError(f"{low} is after {high}: swap them")
        return self


def _iso(ms: int) -> str:
    moment = datetime.fromtimestamp(ms // 1000, tz=timezone.utc).replace(microsecond=(ms % 1000) * 1000)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


_BAD_CURSOR = "cursor is invalid or belongs to a different query: repeat the query without cursor to start again."


def _read_cursor(cursor: str) -> tuple[str, list[int] | None]:
    """The backend's cursor and the default window it pages through (None: the query gave a range).

    The window travels in the clear before the backend's cursor, which is signed and bound to the whole
    query, the window's bounds included: a window changed in transit no longer matches its cursor."""
    parts = cursor.split("~")
    if len(parts) == 1:
        return cursor, None
    if len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit():
        return parts[2], [int(parts[0]), int(parts[1])]
    raise ToolError(_BAD_CURSOR)


def list_cases(ctx: ToolContext, args: ListCasesArgs) -> dict[str, Any]:
    explicit_range = args.created_at_from is not None or args.modified_at_from is not None
    backend_cursor, window = _read_cursor(args.cursor) if args.cursor else (None, None)
    created_from, created_to = args.created_at_from, args.created_at_to
    default_window = None
    if not explicit_range:
        # The default window is fixed when the first page is asked for and travels in the cursor,
        # so every page of one listing covers the same 24 hours.
        if window is None:
            if backend_cursor is not None:
                raise ToolError(_BAD_CURSOR)
            now = int(time.time() * 1000)
            window = [now - DAY_MS, now]
        created_from, created_to = window
        default_window = {"created_at_from": created_from, "created_at_to": created_to, "default": "last 24 hours"}
    elif window is not None:
        raise ToolError(_BAD_CURSOR)

    assignee, unassigned = args.assignee, False
    if assignee:
        if assignee.lower() == "me":
            assignee = ctx.principal.user.get_username()
        elif assignee.lower() in UNASSIGNED_WORDS:
            assignee, unassigned = None, True

    query = CaseQuery(
        cust_id=args.cust_id,
        statuses=tuple(args.status or ()),
        severities=tuple(args.severity or ()),
        assignee=assignee or None,
        unassigned=unassigned,
        name=args.name or None,
        tags=tuple(args.tags or ()),
        min_score=args.min_score,
        search=args.search or None,
        created_from=created_from,
        created_to=created_to,
        modified_from=args.modified_at_from,
        modified_to=args.modified_at_to,
        sort=args.sort,
        order=args.order,
        limit=args.limit,
        cursor=backend_cursor,
    )
    try:
        page = backend().list_cases(ctx.principal.tenants, query)
    except InvalidArgument as exc:
        raise ToolError(exc.message) from None
    next_cursor = page.next_cursor
    if next_cursor and not explicit_range:
        next_cursor = f"{window[0]}~{window[1]}~{next_cursor}"
    for case in page.items:
        ctx.tenant_ids.add(case["cust_id"])

    applied: dict[str, Any] = {
        k: v
        for k, v in {
            "cust_id": args.cust_id,
            "status": args.status,
            "severity": args.severity,
            "assignee": assignee,
            "unassigned": unassigned or None,
            "name": args.name,
            "tags": args.tags,
            "min_score": args.min_score,
            "search": args.search,
            "created_at_from": args.created_at_from,
            "created_at_to": args.created_at_to,
            "modified_at_from": args.modified_at_from,
            "modified_at_to": args.modified_at_to,
        }.items()
        if v is not None
    }
    if default_window:
        applied["default_window"] = {**default_window, "from_iso": _iso(created_from), "to_iso": _iso(created_to)}
    applied.update(sort=args.sort, order=args.order, limit=args.limit)
    return {"cases": page.items, "total": page.total, "next_cursor": next_cursor, "applied_filters": applied}


registry.register(
    Tool(
        name="listCases",
        title="List cases",
        description=(
            "List and search security cases with filters, sorting and cursor pagination. Without "
            "created_at_from/to or modified_at_from/to it covers only cases created in the last 24 hours; "
            "for older cases give both bounds of a range in UTC epoch milliseconds. Filters combine with AND; "
            "several values of status or severity combine with OR. Returns cases (with _id for the other "
            "tools and ticket_id, the human case number), total, next_cursor (null on the last page) and "
            "applied_filters. For 'most severe' sort by severity or score, order desc."
        ),
        args_model=ListCasesArgs,
        handler=list_cases,
        endpoint="GET /connect/api/v1/cases",
    )
)

# ---------------------------------------------------------------------------------------------
# getCaseDetail and getCaseAlerts
# ---------------------------------------------------------------------------------------------

SECTIONS = ("case", "summary", "alerts", "comments", "observables", "activities", "scores", "assignees", "aiSummary")
INLINE_ALERTS = 5
LATEST_COMMENTS = 10
LATEST_ACTIVITIES = 20
LATEST_SCORES = 10
SUMMARY_CHARS = 4000
COMMENT_CHARS = 1000


class CaseRef(ToolArgs):
    """Exactly one of `_id` and `ticket_id`."""

    case_id: str | None = Field(None, alias="_id", description="Case _id (24 hex).")
    ticket_id: int | None = Field(None, ge=0, le=2**31, description="Case number, e.g. 1300.")

    @field_validator("case_id")
    @classmethod
    def _case_id(cls, value: str | None) -> str | None:
        return check_case_id(value) if value is not None else None

    @model_validator(mode="after")
    def _exactly_one(self) -> "CaseRef":
        if (self.case_id is None) == (self.ticket_id is None):
            raise ValueError("give exactly one of _id (24 hex) or ticket_id (the case number)")
        return self


class CaseDetailArgs(CaseRef):
    include: list[Literal[SECTIONS]] | str | None = Field(  # type: ignore[valid-type]
        None, description=f"Sections to return (default all): {', '.join(SECTIONS)}."
    )

    @field_validator("include")
    @classmethod
    def _include(cls, value: Any) -> list[str] | None:
        items = split_list(value)
        for item in items:
            if item not in SECTIONS:
                raise ValueError(f"include {item[:40]!r} is not one of {', '.join(SECTIONS)}")
        return items or None


def _resolve_case(ctx: ToolContext, args: CaseRef) -> dict[str, Any]:
    case = backend().get_case(ctx.principal.tenants, case_id=args.case_id, ticket_id=args.ticket_id)
    ctx.case_ids.add(case["_id"])
    ctx.tenant_ids.add(case["cust_id"])
    return case


def get_case_detail(ctx: ToolContext, args: CaseDetailArgs) -> dict[str, Any]:
    with backend().reading_one_case():
        return _case_detail(ctx, args)


def _case_detail(ctx: ToolContext, args: CaseDetailArgs) -> dict[str, Any]:
    scope, b = ctx.principal.tenants, backend()
    case = _resolve_case(ctx, args)
    case_id = case["_id"]
    wanted = args.include or list(SECTIONS)
    result: dict[str, Any] = {"_id": case_id, "ticket_id": case["ticket_id"]}
    errors: list[str] = []
    if "case" in wanted:
        result["case"] = case
    if "summary" in wanted:
        result["summary"] = clip(b.get_case_summary(scope, case_id), SUMMARY_CHARS)
    if "alerts" in wanted:
        page = b.list_case_alerts(scope, case_id, limit=INLINE_ALERTS, cursor=None)
        result["alerts"] = page.items
        result["alerts_total"] = page.total
        if page.total > len(page.items):
            result["more_alerts"] = (
                f"{page.total - len(page.items)} more alerts: call getCaseAlerts with _id={case_id} to page through all."
            )
        ctx.alert_ids.update(a["stellar_uuid"] for a in page.items)
    if "comments" in wanted:
        page = b.list_case_comments(scope, case_id, limit=LATEST_COMMENTS)
        result["comments"] = [{**c, "comment": clip(c.get("comment"), COMMENT_CHARS)} for c in page.items]
        result["comments_total"] = page.total
    if "observables" in wanted:
        result["observables"] = b.list_case_observables(scope, case_id)
    if "activities" in wanted:
        page = b.list_case_activities(scope, case_id, limit=LATEST_ACTIVITIES)
        result["activities"], result["activities_total"] = page.items, page.total
    if "scores" in wanted:
        page = b.list_case_scores(scope, case_id, limit=LATEST_SCORES)
        result["scores"] = {"current": case.get("score"), "history": page.items, "history_total": page.total}
    if "assignees" in wanted:
        result["assignees"] = b.list_assignable_users(scope, case_id)
    if "aiSummary" in wanted:
        if not ctx.ai_summary_enabled:
            if args.include:
                errors.append("aiSummary is not available: the AI summary feature is disabled in System Settings.")
        else:
            ai = b.get_case_ai_summary(scope, case_id)
            if ai is not None:
                result["aiSummary"] = ai
            elif args.include:
                errors.append("aiSummary: this case has no AI summary yet.")
    if errors:
        result["errors"] = errors
    return result


class CaseAlertsArgs(CaseRef):
    limit: int = Field(20, ge=1, le=50)
    cursor: str | None = Field(None, max_length=2000, description="next_cursor of the previous page.")


def get_case_alerts(ctx: ToolContext, args: CaseAlertsArgs) -> dict[str, Any]:
    case = _resolve_case(ctx, args)
    try:
        page = backend().list_case_alerts(ctx.principal.tenants, case["_id"], limit=args.limit, cursor=args.cursor)
    except InvalidArgument as exc:
        raise ToolError(exc.message) from None
    ctx.alert_ids.update(a["stellar_uuid"] for a in page.items)
    return {"_id": case["_id"], "ticket_id": case["ticket_id"], "alerts": page.items, "total": page.total,
            "next_cursor": page.next_cursor}


registry.register(
    Tool(
        name="getCaseDetail",
        title="Get case detail",
        description=(
            "Everything about one case in a single call, by _id or ticket_id (exactly one): case fields, "
            "summary, up to 5 alerts (use getCaseAlerts for more), comments, observables (IPs, hosts, users, "
            "...), activities, score history, assignable users and the AI summary (timeline, MITRE ATT&CK "
            "hypothesis, entities, recommendations, verdict) when that feature is on. `include` selects "
            "sections. The preferred starting point for reviewing a case."
        ),
        args_model=CaseDetailArgs,
        handler=get_case_detail,
        endpoint="GET /connect/api/v1/cases/{id}",
    )
)

registry.register(
    Tool(
        name="getCaseAlerts",
        title="Get case alerts",
        description=(
            "Page through all alerts of a case (by _id or ticket_id), newest first: name, MITRE tactic and "
            "technique, severity, event_score, status, source and destination IP, timestamp. limit up to 50; "
            "pass next_cursor to continue. Use getAlertDetail with an alert's stellar_uuid for the full document."
        ),
        args_model=CaseAlertsArgs,
        handler=get_case_alerts,
        endpoint="GET /connect/api/v1/cases/{id}/alerts",
    )
)

# ---------------------------------------------------------------------------------------------
# updateCase
# ---------------------------------------------------------------------------------------------


class TagChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")

    add: list[str] = Field(default_factory=list, max_length=50)
    delete: list[str] = Field(default_factory=list, max_length=50)

    @field_validator("add", "delete")
    @classmethod
    def _clean(cls, value: list[str]) -> list[str]:
        out = []
        for tag in value:
            tag = tag.strip()
            if not tag or len(tag) > 100:
                raise ValueError("each tag must be 1 to 100 characters")
            out.append(tag)
        return list(dict.fromkeys(out))


class UpdateCaseArgs(ToolArgs):
    case_id: str = Field(alias="_id", description="Case _id (24 hex), not the ticket_id.")
    status: str | None = Field(None, description="New, In Progress, Escalated, Resolved or Cancelled.")
    severity: str | None = Field(None, description="Critical, High, Medium or Low.")
    assignee: str | None = Field(
        None, description="Username or email of one of the case's assignable users; null or 'none' to unassign."
    )
    tags: TagChanges | None = Field(None, description='{"add": [...], "delete": [...]}')
    resolution: str | None = Field(None, description="False Positive, Benign or True Positive; with status Resolved.")
    resolution_note: str | None = Field(None, max_length=2000)
    expected_version: int | None = Field(
        None, ge=1, description="The case version you read; the update is refused if it changed meanwhile."
    )

    @model_validator(mode="before")
    @classmethod
    def _ticket_id_instead_of_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and "ticket_id" in data:
            raise ValueError(
                f"updateCase needs the case _id, not ticket_id: call getCaseDetail with ticket_id={str(data['ticket_id'])[:20]} "
                "and use the _id it returns"
            )
        return data

    @field_validator("case_id")
    @classmethod
    def _case_id(cls, value: str) -> str:
        return check_case_id(value)

    @field_validator("status")
    @classmethod
    def _status(cls, value: str | None) -> str | None:
        return normalise_choice(value, STATUSES, argument="status") if value else None

    @field_validator("severity")
    @classmethod
    def _severity(cls, value: str | None) -> str | None:
        return normalise_choice(value, SEVERITIES, argument="severity") if value else None

    @field_validator("resolution")
    @classmethod
    def _resolution(cls, value: str | None) -> str | None:
        return normalise_choice(value, RESOLUTIONS, argument="resolution") if value else None

    @model_validator(mode="after")
    def _consistent(self) -> "UpdateCaseArgs":
        if self.resolution and self.status != CaseStatus.RESOLVED:
            raise ValueError("resolution can only be set together with status 'Resolved'")
        changing = {"status", "severity", "assignee", "tags", "resolution", "resolution_note"} & self.model_fields_set
        if not changing:
            raise ValueError(
                "nothing to update: give at least one of status, severity, assignee, tags, resolution, resolution_note"
            )
        return self


def update_case(ctx: ToolContext, args: UpdateCaseArgs) -> dict[str, Any]:
    unassign = "assignee" in args.model_fields_set and (
        args.assignee is None or args.assignee.strip().lower() in UNASSIGNED_WORDS | {""}
    )
    update = CaseUpdate(
        status=args.status,
        severity=args.severity,
        assignee=None if unassign else args.assignee,
        unassign=unassign,
        tags_add=tuple(args.tags.add) if args.tags else (),
        tags_delete=tuple(args.tags.delete) if args.tags else (),
        resolution=args.resolution,
        resolution_note=args.resolution_note,
        expected_version=args.expected_version,
    )
    ctx.case_ids.add(args.case_id)
    try:
        outcome = backend().update_case(ctx.principal.tenants, args.case_id, update, actor=ctx.principal.user)
    except InvalidArgument as exc:
        raise ToolError(exc.message) from None
    ctx.tenant_ids.add(outcome["case"]["cust_id"])
    ctx.changes = outcome["changes"]
    result: dict[str, Any] = {"case": outcome["case"], "changes": outcome["changes"]}
    if not outcome["changes"]:
        result["message"] = "No change: the case already has these values; its version was not bumped."
    return result


registry.register(
    Tool(
        name="updateCase",
        title="Update case",
        description=(
            "Change a case's status, severity, assignee, tags ({add, delete}) or resolution (False Positive, "
            "Benign, True Positive; only with status Resolved). Needs the case _id (not ticket_id) and a "
            "read-write key. Values are validated before anything is written; pass expected_version (the "
            "case's version) to refuse the update if someone changed the case meanwhile. Assignable users: "
            "getCaseDetail include=assignees. Returns the updated case and the changes (field, from, to)."
        ),
        args_model=UpdateCaseArgs,
        handler=update_case,
        endpoint="PUT /connect/api/v1/cases/{id}",
        read_only=False,
        idempotent=True,
    )
)
