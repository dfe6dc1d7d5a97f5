"""Public API JSON to the plain dicts of the backend interface, and CaseQuery to query parameters.

The platform's objects carry more than the interface returns, and sometimes less: records are
projected onto exactly the interface's keys (ISO-8601 twins computed from the epoch-ms values), with
the platform's defaults ("Unassigned", 0 for unset timestamps) where a field is missing.
"""

from __future__ import annotations

from typing import Any

from .base import CaseQuery, CaseUpdate
from .serializers import from_ms, to_iso

# Keys of a listCases item, in the order case_item writes them (`resolution` only when set).
LIST_KEYS = (
    "_id", "ticket_id", "name", "status", "severity", "score", "size", "assignee", "assignee_name", "tags",
    "cust_id", "tenant_name", "created_at", "modified_at", "version",
)
RECORD_KEYS = (
    "tenant_group_name", "created_by", "created_by_name", "modified_by", "modified_by_name", "resolution_note",
)
CASE_TIMES = ("created_at", "modified_at")
OPTIONAL_TIMES = ("acknowledged", "closed", "start_timestamp", "end_timestamp")
_DEFAULTS: dict[str, Any] = {"tags": [], "size": 0, "score": 0, "version": 1, "assignee": None,
                             "assignee_name": "Unassigned", "resolution_note": "", "tenant_group_name": ""}


def _iso(ms: Any) -> str | None:
    return to_iso(from_ms(int(ms))) if isinstance(ms, (int, float)) and not isinstance(ms, bool) and ms else None


def case_list_item(case: dict[str, Any]) -> dict[str, Any]:
    item = {key: case.get(key, _DEFAULTS.get(key)) for key in LIST_KEYS}
    item["assignee"] = item["assignee"] or None
    item["tags"] = list(item["tags"] or ())
    for name in CASE_TIMES:
        item[f"{name}_iso"] = _iso(item[name])
    if case.get("resolution"):
        item["resolution"] = case["resolution"]
    return item


def case_record(case: dict[str, Any]) -> dict[str, Any]:
    record = case_list_item(case)
    record.update({key: case.get(key, _DEFAULTS.get(key)) for key in RECORD_KEYS})
    for name in OPTIONAL_TIMES:
        value = case.get(name) or 0
        record[name] = value
        record[f"{name}_iso"] = _iso(value)
    return record


def is_full_record(case: dict[str, Any]) -> bool:
    return all(key in case for key in ("created_by", "modified_by", "acknowledged"))


def alert_item(hit: dict[str, Any]) -> dict[str, Any]:
    """A case-alert summary from an Elasticsearch hit, as the embedded backend denormalises it."""
    source = hit.get("_source") or {}
    xdr = source.get("xdr_event") or {}
    tactic = xdr.get("tactic") or {}
    technique = xdr.get("technique") or {}
    timestamp = source.get("timestamp")
    return {
        "_id": hit.get("_id"),
        "_index": hit.get("_index"),
        "stellar_uuid": source.get("stellar_uuid") or (source.get("stellar") or {}).get("uuid"),
        "name": xdr.get("display_name") or source.get("event_name") or xdr.get("name") or "",
        "tactic": {"id": tactic.get("id", ""), "name": tactic.get("name", "")},
        "technique": {"id": technique.get("id", ""), "name": technique.get("name", "")},
        "severity": source.get("severity", 0),
        "event_score": source.get("event_score", 0),
        "event_status": source.get("event_status", "New"),
        "srcip": source.get("srcip", ""),
        "dstip": source.get("dstip", ""),
        "timestamp": timestamp,
        "timestamp_iso": _iso(timestamp),
    }


def hit_tenant(hit: dict[str, Any]) -> str | None:
    ext = hit.get("ext") or {}
    source = hit.get("_source") or {}
    return ext.get("cust_id") or source.get("cust_id") or source.get("tenantid")


def tenant_item(tenant: dict[str, Any]) -> dict[str, Any]:
    created = tenant.get("created_at")
    if isinstance(created, (int, float)) and not isinstance(created, bool) and 0 < created < 100_000_000_000:
        created = int(created * 1000)  # some platform versions give seconds
    return {
        "cust_id": tenant.get("cust_id"),
        "cust_name": tenant.get("cust_name", ""),
        "tgrp_name": tenant.get("tgrp_name") or "",
        "created_at": created,
    }


def lucene_phrase(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def case_params(query: CaseQuery, tenants: list[str] | None) -> dict[str, Any]:
    """The filters of `query` as /cases parameters (no paging, sort or cursor anchor)."""
    params: dict[str, Any] = {}
    if tenants:
        params["tenantid"] = ",".join(tenants)
    if query.statuses:
        params["status"] = ",".join(query.statuses)
    if query.severities:
        params["severity"] = ",".join(query.severities)
    if query.assignee:
        params["assignee"] = query.assignee
    if query.unassigned:
        params["unassigned"] = "true"
    if query.name:
        params["name"] = query.name
    if query.tags:
        params["tags"] = ",".join(query.tags)
    if query.search:
        params["search"] = query.search
    if query.min_score is not None:
        params["FROM~score"] = query.min_score
    # The platform answers only the last ~24 hours when no creation range is given.
    params["FROM~created_at"] = query.created_from if query.created_from is not None else 0
    if query.created_to is not None:
        params["TO~created_at"] = query.created_to
    if query.modified_from is not None:
        params["FROM~modified_at"] = query.modified_from
    if query.modified_to is not None:
        params["TO~modified_at"] = query.modified_to
    for name, value in (("ticket_id", query.ticket_id), ("FROM~ticket_id", query.ticket_from),
                        ("TO~ticket_id", query.ticket_to), ("TO~score", query.max_score)):
        if value is not None:
            params[name] = value
    return params


def changed_fields(before: dict, update: CaseUpdate, tags_add: list[str], tags_delete: list[str]) -> dict:
    """The PUT body: only what differs from the case as read (assignees are compared by username;
    an email is sent as given and resolved upstream)."""
    body: dict[str, Any] = {}
    for name in ("status", "severity", "resolution", "resolution_note"):
        value = getattr(update, name)
        if value is not None and value != (before.get(name) or ("" if name == "resolution_note" else None)):
            body[name] = value
    current = (before.get("assignee") or "").lower()
    if update.unassign and current:
        body["assignee"] = None
    elif update.assignee is not None and update.assignee.strip().lower() != current:
        body["assignee"] = update.assignee.strip()
    tags = list(before.get("tags") or ())
    tag_changes = {}
    if add := [t for t in tags_add if t not in tags]:
        tag_changes["add"] = add
    if delete := [t for t in tags_delete if t in tags]:
        tag_changes["delete"] = delete
    if tag_changes:
        body["tags"] = tag_changes
    return body


def case_changes(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Changes in the order and form the embedded backend reports them."""
    changes = []
    for name in ("status", "resolution", "resolution_note", "severity", "assignee", "tags"):
        old, new = before.get(name), after.get(name)
        if name == "resolution":
            old, new = old or None, new or None
        if old != new:
            changes.append({"field": name, "from": old, "to": new})
    return changes
