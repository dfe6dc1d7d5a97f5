"""listCases: filter, sort and page through cases; the last 24 hours unless a range is given."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from cases.backend import CaseQuery, InvalidArgument
from cases.models import OPEN_STATUSES

from ..registry import Tool, ToolArgs, ToolContext, ToolError, registry
from .common import (
    MIN_EPOCH_MS,
    SEVERITIES,
    STATUSES,
    UNASSIGNED_WORDS,
    backend,
    check_cust_id,
    normalise_choice,
    split_list,
)

DAY_MS = 24 * 3600 * 1000

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
        tenants=(args.cust_id,) if args.cust_id else (),
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

