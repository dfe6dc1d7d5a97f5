"""What each tool returns, as typed dicts: the handlers are typed to build these, and each tool's
`outputSchema` is generated from its type (registry.output_schema), as the input schemas are from the
argument models. A key of our own records is in the type or the schema refuses it (extra="forbid");
what a platform passes through (an alert's `_source`, AI summaries, tenant attributes) is an open object.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, with_config
from typing_extensions import NotRequired, TypedDict

_closed = with_config(ConfigDict(extra="forbid"))
Open = dict[str, Any]  # a platform's own document, passed through as it is

# --- cases ---------------------------------------------------------------------------------------
CaseItem = _closed(TypedDict("CaseItem", {
    "_id": str, "ticket_id": int, "name": str, "status": str, "severity": str, "score": float | None,
    "size": int | None, "assignee": str | None, "assignee_name": str, "tags": list[str], "cust_id": str,
    "tenant_name": str | None, "created_at": int | None, "created_at_iso": str | None, "modified_at": int | None,
    "modified_at_iso": str | None, "version": int | None, "resolution": NotRequired[str],
}))
CaseRecord = _closed(TypedDict("CaseRecord", {
    **CaseItem.__annotations__,
    "tenant_group_name": str | None, "created_by": str | None, "created_by_name": str | None,
    "modified_by": str | None, "modified_by_name": str | None, "resolution_note": str | None,
    "acknowledged": int, "acknowledged_iso": str | None, "closed": int, "closed_iso": str | None,
    "start_timestamp": int, "start_timestamp_iso": str | None, "end_timestamp": int, "end_timestamp_iso": str | None,
}))
Change = _closed(TypedDict("Change", {"field": str, "from": Any, "to": Any}))
MitreRef = TypedDict("MitreRef", {"id": NotRequired[str | None], "name": NotRequired[str | None]})
AlertItem = _closed(TypedDict("AlertItem", {
    "_id": str, "_index": str | None, "stellar_uuid": str | None, "name": str | None, "tactic": MitreRef | None,
    "technique": MitreRef | None, "severity": int | float | str | None, "event_score": int | float | None,
    "event_status": str | None, "srcip": str | None, "dstip": str | None, "timestamp": int | None,
    "timestamp_iso": str | None,
}))
Comment = _closed(TypedDict("Comment", {
    "_id": str | None, "comment": str | None, "user": str | None, "user_name": str | None,
    "created_at": int | None, "modified_at": int | None,
}))
Activity = _closed(TypedDict("Activity", {
    "field": str | None, "from": Any, "to": Any, "user": str | None, "user_name": str | None, "timestamp": int | None,
}))
Observable = TypedDict("Observable", {"value": Any, "count": NotRequired[int | None],
                                      "first_seen": NotRequired[int | None], "last_seen": NotRequired[int | None]})
ScoreEntry = TypedDict("ScoreEntry", {"score": float | None, "timestamp": int | None, "reasons": list[Open]})
Scores = _closed(TypedDict("Scores", {"current": float | None, "history": list[ScoreEntry], "history_total": int}))
Assignee = _closed(TypedDict("Assignee", {"username": str, "email": str | None, "name": str | None}))


class ListCasesResult(TypedDict):
    cases: list[CaseItem]
    total: int
    total_relation: Literal["eq", "gte"]
    next_cursor: str | None
    applied_filters: Open


CaseDetailResult = _closed(TypedDict("CaseDetailResult", {
    "_id": str, "ticket_id": int,
    # Sections as `include` asked (all by default); one that is not available is explained in `errors`.
    "case": NotRequired[CaseRecord],
    "summary": NotRequired[str | None], "alerts": NotRequired[list[AlertItem]], "alerts_total": NotRequired[int],
    "more_alerts": NotRequired[str], "comments": NotRequired[list[Comment]], "comments_total": NotRequired[int],
    "observables": NotRequired[dict[str, list[Observable]]], "activities": NotRequired[list[Activity]],
    "activities_total": NotRequired[int], "scores": NotRequired[Scores], "assignees": NotRequired[list[Assignee]],
    "aiSummary": NotRequired[Open | None], "errors": NotRequired[list[str]],
}))
CaseAlertsResult = _closed(TypedDict("CaseAlertsResult", {
    "_id": str, "ticket_id": int, "alerts": list[AlertItem], "total": int, "next_cursor": str | None,
}))


class UpdateCaseResult(TypedDict):
    case: CaseRecord
    changes: list[Change]
    message: NotRequired[str]


class AddCaseCommentResult(TypedDict):
    case_id: str
    comment: Comment


# --- alerts, tenants, tokens -------------------------------------------------------------------------
AlertDetailResult = _closed(TypedDict("AlertDetailResult", {
    "_index": str | None, "_id": str, "_source": Open, "ai_summary": NotRequired[Open | None],
    "errors": NotRequired[list[str]],
}))
TenantItem = TypedDict("TenantItem", {
    "cust_id": str, "cust_name": NotRequired[str | None], "tgrp_name": NotRequired[str | None],
    "created_at": NotRequired[int | None], "case_count": NotRequired[int], "open_case_count": NotRequired[int],
})


class ListTenantResult(TypedDict):
    tenants: list[TenantItem]
    total: int


class OpenCases(TypedDict):
    total: int
    by_severity: dict[str, int]
    by_status: dict[str, int]


TenantDetailResult = _closed(TypedDict("TenantDetailResult", {
    "cust_id": str, "cust_name": str | None, "tgrp_name": str | None, "created_at": int | None,
    "attributes": NotRequired[Open | None], "case_count": int, "open_cases": OpenCases,
}))


class AccessTokenResult(TypedDict):
    access_token: str
    token_type: str
    expires_in: int
    exp: int
    expires_at: str


for _result in (ListCasesResult, UpdateCaseResult, AddCaseCommentResult, ListTenantResult, OpenCases, AccessTokenResult):
    _closed(_result)
