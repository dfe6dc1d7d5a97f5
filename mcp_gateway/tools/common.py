"""Small pieces every tool uses: enum normalisation, comma lists, id checks, text clipping."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from cases.backend import get_backend as _get_backend
from cases.models import CaseStatus, Resolution, Severity

HEX24 = re.compile(r"^[0-9a-f]{24}$")
HEX32 = re.compile(r"^[0-9a-f]{32}$")
# Epoch values below this are almost certainly seconds, not milliseconds (it is March 1973 in ms).
MIN_EPOCH_MS = 100_000_000_000

STATUSES = list(CaseStatus.values)
SEVERITIES = list(Severity.values)
RESOLUTIONS = list(Resolution.values)
UNASSIGNED_WORDS = {"none", "unassigned", "nobody", "null"}


def backend():
    return _get_backend()


def split_list(value: str | list[str] | None) -> list[str]:
    """Accept a JSON list or a comma-separated string; drop empty items."""
    if value is None:
        return []
    items: Iterable[Any] = value.split(",") if isinstance(value, str) else value
    return [str(v).strip() for v in items if str(v).strip()]


def normalise_choice(value: str, choices: Iterable[str], *, argument: str) -> str:
    """Case-insensitive match of `value` to one of `choices` ("in progress" → "In Progress")."""
    wanted = re.sub(r"[\s_-]+", " ", value).strip().lower()
    for choice in choices:
        if choice.lower() == wanted:
            return choice
    raise ValueError(f"{argument} {value[:40]!r} is not one of {', '.join(choices)}")


def check_case_id(value: str) -> str:
    value = value.strip().lower()
    if not HEX24.fullmatch(value):
        raise ValueError("_id must be the 24-character hexadecimal case id (e.g. from listCases); "
                         "for a case number use ticket_id")
    return value


def check_cust_id(value: str) -> str:
    value = value.strip().lower()
    if not HEX32.fullmatch(value):
        raise ValueError("cust_id must be a 32-character hexadecimal tenant id: call listTenant for the ids")
    return value


def clip(text: str | None, limit: int) -> str | None:
    """Cut long text with a marker that says how much was left out, never silently."""
    if text is None or len(text) <= limit:
        return text
    return f"{text[:limit]}… [cut: {len(text) - limit} more characters]"


def refuse_ticket_id(tool: str, data: Any) -> Any:
    """A change names its case by _id; given a ticket_id, say how to get the _id."""
    if isinstance(data, dict) and "ticket_id" in data:
        raise ValueError(
            f"{tool} needs the case _id, not ticket_id: call getCaseDetail with "
            f"ticket_id={str(data['ticket_id'])[:20]} and use the _id it returns"
        )
    return data
