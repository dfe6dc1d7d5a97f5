"""listCases: filter, sort and page through cases; the last 24 hours unless a range is given."""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from cases.backend import CaseQuery, InvalidArgument
from cases.models import OPEN_STATUSES

from ..results import ListCasesResult
from ..registry import Tool, ToolArgs, ToolContext, ToolError, registry
from .common import (
    SEVERITIES,
    STATUSES,
    UNASSIGNED_WORDS,
    backend,
    check_cust_id,
    normalise_choice,
    split_list,
)
from .time_ranges import BOUND_FORMS, DAY_MS, DURATION_FORMS, bound_ms, duration_ms, iso

# The two ranges: (field the duration is given in, lower bound, upper bound).
_RANGES = {"created": ("created_within", "created_at_from", "created_at_to"),
           "modified": ("modified_within", "modified_at_from", "modified_at_to")}


def _bound(description: str) -> Any:
    return Field(None, description=f"{description}: {BOUND_FORMS}.")


def _within(what: str) -> Any:
    return Field(None, max_length=20, description=f"Cases {what} in the last ...: {DURATION_FORMS}. "
                                                   f"Instead of {what.split()[0]}_at_from/_to.")


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
    created_at_from: int | str | None = _bound("Created at or after")
    created_at_to: int | str | None = _bound("Created at or before")
    modified_at_from: int | str | None = _bound("Modified at or after")
    modified_at_to: int | str | None = _bound("Modified at or before")
    created_within: str | None = _within("created")
    modified_within: str | None = _within("modified")
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
        """Bounds resolved to epoch milliseconds (both or neither), durations to their length."""
        for within, low, high in _RANGES.values():
            a, b = getattr(self, low), getattr(self, high)
            if (a is None) != (b is None):
                missing = high if b is None else low
                raise ValueError(
                    f"{missing} is missing: give both bounds in epoch milliseconds (or as ISO 8601 dates), "
                    f"or {within}, or neither for the last 24 hours"
                )
            if getattr(self, within) is not None:
                if a is not None:
                    raise ValueError(f"give {within} or {low}/{high}, not both")
                duration_ms(getattr(self, within), name=within)
            if a is not None:
                if isinstance(a, int) and isinstance(b, int) and a < 100_000_000_000 and b < 100_000_000_000:
                    raise ValueError(f"{low}/{high} look like seconds: give epoch milliseconds (seconds × 1000)")
                a, b = bound_ms(a, end=False, name=low), bound_ms(b, end=True, name=high)
                if a > b:
                    raise ValueError(f"{low} is after {high}: swap them")
                setattr(self, low, a)
                setattr(self, high, b)
        return self

    def durations(self) -> dict[str, int]:
        """The ranges given as a duration ending now, by range ("created", "modified"), in milliseconds."""
        return {name: duration_ms(getattr(self, within), name=within)
                for name, (within, _, _) in _RANGES.items() if getattr(self, within) is not None}


_BAD_CURSOR = "cursor is invalid or belongs to a different query: repeat the query without cursor to start again."


def _read_cursor(cursor: str) -> tuple[str, dict[str, tuple[int, int]]]:
    """The backend's cursor and the windows ending "now" it pages through, by range.

    A window (the default 24 hours, or a created_within/modified_within) is fixed when the first page is
    asked for and travels in the clear before the backend's cursor ("c<from>-<to>~m<from>-<to>~<cursor>"),
    so every page of one listing covers the same span. The backend's cursor is signed and bound to the whole
    query, the windows' bounds included: a window changed in transit no longer matches its cursor."""
    *prefix, backend_cursor = cursor.split("~")
    windows: dict[str, tuple[int, int]] = {}
    for part in prefix:
        name = {"c": "created", "m": "modified"}.get(part[:1])
        bounds = part[1:].split("-")
        if name is None or name in windows or len(bounds) != 2 or not all(b.isdigit() for b in bounds):
            raise ToolError(_BAD_CURSOR)
        windows[name] = (int(bounds[0]), int(bounds[1]))
    return backend_cursor, windows


def _write_cursor(backend_cursor: str, windows: dict[str, tuple[int, int]]) -> str:
    return "~".join([*(f"{name[0]}{a}-{b}" for name, (a, b) in windows.items()), backend_cursor])


def list_cases(ctx: ToolContext, args: ListCasesArgs) -> ListCasesResult:
    durations = args.durations()
    default = args.created_at_from is None and args.modified_at_from is None and not durations
    if default:
        durations = {"created": DAY_MS}
    backend_cursor, windows = _read_cursor(args.cursor) if args.cursor else (None, {})
    if args.cursor is not None and (set(windows) != set(durations)
                                    or any(b - a != durations[name] for name, (a, b) in windows.items())):
        raise ToolError(_BAD_CURSOR)
    if not windows:
        now = int(time.time() * 1000)
        windows = {name: (now - length, now) for name, length in durations.items()}
    created_from, created_to = windows.get("created", (args.created_at_from, args.created_at_to))
    modified_from, modified_to = windows.get("modified", (args.modified_at_from, args.modified_at_to))

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
        modified_from=modified_from,
        modified_to=modified_to,
        sort=args.sort,
        order=args.order,
        limit=args.limit,
        cursor=backend_cursor,
    )
    try:
        page = backend().list_cases(ctx.principal.tenants, query)
    except InvalidArgument as exc:
        raise ToolError(exc.message) from None
    next_cursor = _write_cursor(page.next_cursor, windows) if page.next_cursor else None
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
            "created_within": args.created_within,
            "modified_within": args.modified_within,
        }.items()
        if v is not None
    }
    # Each range as it was resolved, in epoch milliseconds and in UTC ISO 8601.
    for name, low, high in (("created_at", created_from, created_to), ("modified_at", modified_from, modified_to)):
        if low is not None and not default:
            applied.update({f"{name}_from": low, f"{name}_to": high,
                            f"{name}_from_iso": iso(low), f"{name}_to_iso": iso(high)})
    if default:
        applied["default_window"] = {"created_at_from": created_from, "created_at_to": created_to,
                                     "default": "last 24 hours", "from_iso": iso(created_from), "to_iso": iso(created_to)}
    applied.update(sort=args.sort, order=args.order, limit=args.limit)
    return {"cases": page.items, "total": page.total, "total_relation": page.total_relation,
            "next_cursor": next_cursor, "applied_filters": applied}


registry.register(
    Tool(
        name="listCases",
        title="List cases",
        description=(
            "List and search security cases with filters, sorting and cursor pagination. Without a time range "
            "it covers only cases created in the last 24 hours. For other times give created_within or "
            "modified_within (e.g. 7d, 90m), or both bounds of a range as ISO 8601 dates or date-times "
            "(2026-12-01, 2026-12-01T08:00:00Z; a date alone is the whole UTC day) or UTC epoch milliseconds; "
            "applied_filters shows the range as resolved. Filters combine with AND; "
            "several values of status or severity combine with OR. Returns cases (with _id for the other "
            "tools and ticket_id, the human case number), total (exact when total_relation is 'eq'; past "
            "10,000 matches counting stops and total_relation is 'gte': at least that many), next_cursor (null on "
            "the last page) and applied_filters. For 'most severe' sort by severity or score, order desc."
        ),
        args_model=ListCasesArgs,
        handler=list_cases,
        result=ListCasesResult,
        endpoint="GET /connect/api/v1/cases",
    )
)

