"""Query parameters of GET /connect/api/v1/cases, as the platform names them, checked (422 when invalid).

Platform parameters: limit (at most 500; larger values are cut to 500), skip, sort (created_at,
modified_at, score or its alias case_score), order (asc/desc), tenantid / cust_id (a comma list is
accepted), ticket_id, status and severity (comma lists, ORed), assignee, tags (comma list, any of),
FROM~/TO~ ranges (inclusive; epoch ms for created_at and modified_at; score).

Extensions of this instance (a real platform may ignore them): sort by ticket_id or severity
(Critical > High > Medium > Low), FROM~/TO~ticket_id, `unassigned=true`, `name` (substring of the case
name), `search` (alias `q`: every word must appear in the name, tags, assignee, ticket id or summary).
`assignee` is a username or email here (the platform uses its user ids).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import QueryDict

from cases.backend import CaseQuery, InvalidArgument
from cases.backend.base import MAX_EPOCH_MS, MAX_LIMIT, MAX_TICKET_ID, SORTS

DEFAULT_LIMIT = 100
# An offset past this is a mistake: no installation holds two billion cases or alerts.
MAX_SKIP = 2**31 - 1
SORT_ALIASES = {"case_score": "score"}
# Fields FROM~/TO~ may bound: the type of their values and the largest value (None: any finite number).
RANGE_FIELDS: dict[str, tuple[type, int | None]] = {
    "created_at": (int, MAX_EPOCH_MS),
    "modified_at": (int, MAX_EPOCH_MS),
    "score": (float, None),
    "ticket_id": (int, MAX_TICKET_ID),
}
TRUE_WORDS = {"1", "true", "yes"}


@dataclass
class CaseListParams:
    query: CaseQuery
    skip: int = 0


def parse_int(name: str, raw: str, *, minimum: int = 0, maximum: int) -> int:
    """`raw` as an integer from `minimum` to `maximum`, else InvalidArgument (422) naming the parameter."""
    try:
        value = int(raw)
    except ValueError:
        raise InvalidArgument(f"{name} must be an integer, not {raw[:40]!r}.") from None
    if not minimum <= value <= maximum:
        raise InvalidArgument(f"{name} must be an integer from {minimum} to {maximum}.")
    return value


def _number(name: str, raw: str, kind: type, maximum: int | None) -> int | float:
    if kind is int:
        return parse_int(name, raw, maximum=maximum or MAX_SKIP)
    try:
        value = float(raw)
    except ValueError:
        raise InvalidArgument(f"{name} must be a number, not {raw[:40]!r}.") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise InvalidArgument(f"{name} must be a finite number.")
    return value


def comma_list(raw: str | None) -> list[str]:
    return [item.strip() for item in (raw or "").split(",") if item.strip()]


def parse_case_list(params: QueryDict) -> CaseListParams:
    # A limit over the largest is cut to it, as the platform does.
    limit = min(parse_int("limit", params["limit"], minimum=1, maximum=2**63), MAX_LIMIT) if "limit" in params else DEFAULT_LIMIT
    skip = parse_int("skip", params["skip"], maximum=MAX_SKIP) if "skip" in params else 0
    sort = params.get("sort", "created_at")
    sort = SORT_ALIASES.get(sort, sort)
    if sort not in SORTS:
        raise InvalidArgument(f"sort {sort[:40]!r} is not valid: use one of {', '.join(SORTS)}.")
    order = params.get("order", "desc")
    if order not in ("asc", "desc"):
        raise InvalidArgument(f"order {order[:40]!r} is not valid: use asc or desc.")

    tenants = comma_list(params.get("tenantid")) + comma_list(params.get("cust_id"))
    ranges: dict[str, list[Any]] = {}
    for name, raw in params.items():
        bound, sep, fieldname = name.partition("~")
        if not sep:
            continue
        if bound not in ("FROM", "TO"):
            raise InvalidArgument(f"{name[:60]} is not supported: use FROM~<field> or TO~<field>.")
        if fieldname not in RANGE_FIELDS:
            raise InvalidArgument(
                f"{name[:60]} is not supported: ranges apply to {', '.join(RANGE_FIELDS)}."
            )
        ranges.setdefault(fieldname, [None, None])[0 if bound == "FROM" else 1] = _number(
            name, raw, *RANGE_FIELDS[fieldname]
        )
    created = ranges.pop("created_at", [None, None])
    modified = ranges.pop("modified_at", [None, None])
    score = ranges.pop("score", [None, None])
    ticket = ranges.pop("ticket_id", [None, None])

    search = params.get("search") or params.get("q") or None
    query = CaseQuery(
        tenants=tuple(dict.fromkeys(tenants)),
        statuses=tuple(comma_list(params.get("status"))),
        severities=tuple(comma_list(params.get("severity"))),
        assignee=params.get("assignee") or None,
        unassigned=params.get("unassigned", "").lower() in TRUE_WORDS,
        name=params.get("name") or None,
        tags=tuple(comma_list(params.get("tags"))),
        min_score=score[0],
        search=search,
        created_from=created[0],
        created_to=created[1],
        modified_from=modified[0],
        modified_to=modified[1],
        ticket_id=parse_int("ticket_id", params["ticket_id"], maximum=MAX_TICKET_ID) if "ticket_id" in params else None,
        ticket_from=ticket[0],
        ticket_to=ticket[1],
        max_score=score[1],
        sort=sort,
        order=order,
        limit=limit,
    )
    return CaseListParams(query=query, skip=skip)
