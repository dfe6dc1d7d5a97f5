"""getCaseDetail and getCaseAlerts: one case, by _id or ticket_id, with its sections or all its alerts."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from cases.backend import InvalidArgument

from ..results import CaseAlertsResult, CaseDetailResult
from ..registry import Tool, ToolArgs, ToolContext, ToolError, registry
from .common import backend, check_case_id, clip, split_list


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


def get_case_detail(ctx: ToolContext, args: CaseDetailArgs) -> CaseDetailResult:
    with backend().reading_one_case():
        return _case_detail(ctx, args)


def _case_detail(ctx: ToolContext, args: CaseDetailArgs) -> CaseDetailResult:
    scope, b = ctx.principal.tenants, backend()
    case = _resolve_case(ctx, args)
    case_id = case["_id"]
    wanted = args.include or list(SECTIONS)
    result: CaseDetailResult = {"_id": case_id, "ticket_id": case["ticket_id"]}
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


def get_case_alerts(ctx: ToolContext, args: CaseAlertsArgs) -> CaseAlertsResult:
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
        result=CaseDetailResult,
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
        result=CaseAlertsResult,
        endpoint="GET /connect/api/v1/cases/{id}/alerts",
    )
)

