"""Model rows to the plain dicts of the backend interface (Stellar Cyber Public API field names).

Timestamps are UTC epoch milliseconds computed with integer arithmetic (float seconds * 1000 can land
one millisecond short), with ISO-8601 twins for the case timestamps a person reads.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_US = timedelta(microseconds=1)

# The keys of a case row (case_sql.py reads them under these names; updateCase with `.values()`).
CASE_LIST_FIELDS = (
    "id",
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
CASE_RECORD_FIELDS = (
    *CASE_LIST_FIELDS,
    "tenant__tgrp_name",
    "created_by__username",
    "created_by_name",
    "modified_by__username",
    "modified_by_name",
    "resolution_note",
    "acknowledged",
    "closed",
    "start_timestamp",
    "end_timestamp",
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


def display_name(first_name: str, last_name: str, username: str) -> str:
    """Full name, else username; what `assignee_name`, `user_name` and `modified_by_name` show."""
    return f"{first_name} {last_name}".strip() or username


def user_display_name(user: Any) -> str:
    return display_name(user.first_name, user.last_name, user.username)


def case_item(row: dict[str, Any]) -> dict[str, Any]:
    """A `listCases` item from a row of CASE_LIST_FIELDS."""
    username = row["assignee__username"]
    item: dict[str, Any] = {
        "_id": row["stellar_id"],
        "ticket_id": row["ticket_id"],
        "name": row["name"],
        "status": row["status"],
        "severity": row["severity"],
        "score": row["score"],
        "size": row["size"],
        "assignee": username,
        "assignee_name": (
            display_name(row["assignee__first_name"], row["assignee__last_name"], username) if username else "Unassigned"
        ),
        "tags": list(row["tags"] or ()),
        "cust_id": row["tenant__cust_id"],
        "tenant_name": row["tenant__cust_name"],
        "created_at": to_ms(row["created_at"]),
        "created_at_iso": to_iso(row["created_at"]),
        "modified_at": to_ms(row["modified_at"]),
        "modified_at_iso": to_iso(row["modified_at"]),
        "version": row["version"],
    }
    if row["resolution"]:
        item["resolution"] = row["resolution"]
    return item


def case_record(row: dict[str, Any]) -> dict[str, Any]:
    """The full case (getCaseDetail's `case`, updateCase's result) from a row of CASE_RECORD_FIELDS."""
    record = case_item(row)
    record.update(
        {
            "tenant_group_name": row["tenant__tgrp_name"],
            # Upstream shows "System" for automatic changes; a person is named by username.
            "created_by": row["created_by__username"] or row["created_by_name"],
            "created_by_name": row["created_by_name"],
            "modified_by": row["modified_by__username"] or row["modified_by_name"],
            "modified_by_name": row["modified_by_name"],
            "resolution_note": row["resolution_note"],
        }
    )
    # Upstream reports unset timestamps as 0.
    for name in ("acknowledged", "closed", "start_timestamp", "end_timestamp"):
        value = row[name]
        record[name] = to_ms(value) or 0
        record[f"{name}_iso"] = to_iso(value)
    return record


def alert_item(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "_id": row["es_id"],
        "_index": row["index"],
        "stellar_uuid": row["stellar_uuid"],
        "name": row["name"],
        "tactic": {"id": row["tactic_id"], "name": row["tactic_name"]},
        "technique": {"id": row["technique_id"], "name": row["technique_name"]},
        "severity": row["severity"],
        "event_score": row["event_score"],
        "event_status": row["event_status"],
        "srcip": row["srcip"],
        "dstip": row["dstip"],
        "timestamp": to_ms(row["timestamp"]),
        "timestamp_iso": to_iso(row["timestamp"]),
    }


def tenant_item(tenant: dict[str, Any]) -> dict[str, Any]:
    """A listTenant item from a tenant row (cust_id, cust_name, tgrp_name, created_at)."""
    return {
        "cust_id": tenant["cust_id"],
        "cust_name": tenant["cust_name"],
        "tgrp_name": tenant["tgrp_name"],
        "created_at": to_ms(tenant["created_at"]),
    }
