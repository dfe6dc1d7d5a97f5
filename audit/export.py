"""Activity Log export as CSV or JSON Lines, shared by the admin and `export_public_api_access`.

Rows are streamed with `iterator()` over `values_list`, so an export of millions of rows needs neither
the memory for them nor model instances.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet

FORMATS = ("csv", "jsonl")
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}
FIELDS = (
    "id",
    "timestamp",
    "user_id",
    "username",
    "api_key_id",
    "key_public_id",
    "key_name",
    "activity_type",
    "source",
    "endpoint",
    "tool",
    "arguments",
    "outcome",
    "error",
    "tenant_ids",
    "case_ids",
    "alert_ids",
    "changes",
    "http_status",
    "response_bytes",
    "duration_ms",
    "client_ip",
    "user_agent",
    "protocol_version",
    "request_id",
)
_ID_LISTS = {"tenant_ids", "case_ids", "alert_ids"}
_JSON_FIELDS = {"arguments", "changes"}
# Spreadsheet formula injection: a cell a client controls must not start a formula when opened.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 2000


class _Line:
    """A file-like object whose write returns the line, so csv.writer can feed a generator."""

    def write(self, value: str) -> str:
        return value


def _csv_cell(name: str, value: Any) -> Any:
    if value is None:
        return ""
    if name == "timestamp":
        return value.isoformat()
    if name in _JSON_FIELDS:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _json_value(name: str, value: Any) -> Any:
    if name == "timestamp":
        return value.isoformat()
    if name in _ID_LISTS:
        return [v for v in value.split(",") if v]
    return value


def export_lines(queryset: QuerySet, fmt: str) -> Iterator[str]:
    """The rows of `queryset` (in its order) as lines of CSV (with a header) or JSON Lines."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    rows = queryset.values_list(*FIELDS).iterator(chunk_size=CHUNK)
    if fmt == "csv":
        writer = csv.writer(_Line())
        yield writer.writerow(FIELDS)
        for row in rows:
            yield writer.writerow([_csv_cell(name, value) for name, value in zip(FIELDS, row)])
    else:
        for row in rows:
            record = {name: _json_value(name, value) for name, value in zip(FIELDS, row)}
            yield json.dumps(record, ensure_ascii=False) + "\n"
