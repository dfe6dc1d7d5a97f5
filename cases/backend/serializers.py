"""Model rows to the plain dicts of the backend interface (Stellar Cyber Public API field names).

Timestamps are UTC epoch milliseconds computed with integer arithmetic (float seconds * 1000 can land
one millisecond short), with ISO-8601 twins for the case timestamps a person reads.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cases.models import Alert, Case, Tenant

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_US = timedelta(microseconds=1)

# Columns the list view reads (with `.only()`); `case_item` touches nothing else.
CASE_LIST_COLUMNS = (
    "stellar_id",
    "ticket_id",
    "name",
    "status",
    "severity",
    "severity_rank",
    "score",
    "size",
    "tags",
    "created_at",
    "modified_at",
    "version",
    "resolution",
    "tenant__cust_id",
    "tenant__cust_name",
    "assignee__username",
    "assignee__first_name",
    "assignee__last_name",
)


def to_ms(value: datetime | None) -> int | None:
    return None if value is None else (value - EPOCH) // _MS


def to_us(value: datetime) -> int:
    return (value - EPOCH) // _US


def from_ms(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def to_iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def user_display_name(user: Any) -> str:
    """Full name, else username; what `assignee_name`, `user_name` and `modified_by_name` show."""
    full = f"{user.first_name} {user.last_name}".strip()
    return full or user.username


def case_item(case: Case) -> dict[str, Any]:
    """A `listCases` item. Reads only CASE_LIST_COLUMNS."""
    assignee = case.assignee
    item: dict[str, Any] = {
        "_id": case.stellar_id,
        "ticket_id": case.ticket_id,
        "name": case.name,
        "status": case.status,
        "severity": case.severity,
        "score": case.score,
        "size": case.size,
        "assignee": assignee.username if assignee else None,
        "assignee_name": user_display_name(assignee) if assignee else "Unassigned",
        "tags": list(case.tags or ()),
        "cust_id": case.tenant.cust_id,
        "tenant_name": case.tenant.cust_name,
        "created_at": to_ms(case.created_at),
        "created_at_iso": to_iso(case.created_at),
        "modified_at": to_ms(case.modified_at),
        "modified_at_iso": to_iso(case.modified_at),
        "version": case.version,
    }
    if case.resolution:
        item["resolution"] = case.resolution
    return item


def _actor(user: Any, stored_name: str) -> str:
    # Upstream shows "System" for automatic changes; a person is named by username.
    return user.username if user is not None else stored_name


def case_record(case: Case) -> dict[str, Any]:
    """The full case (getCaseDetail's `case`, updateCase's result). Needs tenant, assignee, created_by and
    modified_by loaded (select_related)."""
    record = case_item(case)
    record.update(
        {
            "tenant_group_name": case.tenant.tgrp_name,
            "created_by": _actor(case.created_by, case.created_by_name),
            "created_by_name": case.created_by_name,
            "modified_by": _actor(case.modified_by, case.modified_by_name),
            "modified_by_name": case.modified_by_name,
            "resolution_note": case.resolution_note,
        }
    )
    # Upstream reports unset timestamps as 0.
    for name in ("acknowledged", "closed", "start_timestamp", "end_timestamp"):
        value = getattr(case, name)
        record[name] = to_ms(value) or 0
        record[f"{name}_iso"] = to_iso(value)
    return record


def alert_item(alert: Alert) -> dict[str, Any]:
    return {
        "_id": alert.es_id,
        "_index": alert.index,
        "stellar_uuid": alert.stellar_uuid,
        "name": alert.name,
        "tactic": {"id": alert.tactic_id, "name": alert.tactic_name},
        "technique": {"id": alert.technique_id, "name": alert.technique_name},
        "severity": alert.severity,
        "event_score": alert.event_score,
        "event_status": alert.event_status,
        "srcip": alert.srcip,
        "dstip": alert.dstip,
        "timestamp": to_ms(alert.timestamp),
        "timestamp_iso": to_iso(alert.timestamp),
    }


def tenant_item(tenant: Tenant) -> dict[str, Any]:
    return {
        "cust_id": tenant.cust_id,
        "cust_name": tenant.cust_name,
        "tgrp_name": tenant.tgrp_name,
        "created_at": to_ms(tenant.created_at),
    }
