"""The one way rows get into the Activity Log: `record_access(AccessRecord(...), required=...)`.

Callers (the MCP endpoint and the Public API) build an `AccessRecord` from what they already hold and
call `record_access` once per call or refused authentication, after the answer is decided and before it
is sent. The recorder redacts and bounds what the client sent and writes one row with a single INSERT.

A failure is logged at ERROR. For a call whose row is `required` (every change, and every read unless
the operator set AUDIT_READS_FAIL_OPEN) it then raises AuditUnavailable: the caller rolls the change back
and answers a retryable error instead of the result, so nothing happens off the record. A refusal's
row is never required: the refusal stands either way.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connections, router, transaction
from django.utils import timezone

from stellar_mcp_site.sql import Quote, once_per_database

from .models import ACTIVITY_PUBLIC_API_ACCESS, Outcome, PublicApiAccess, Source
from .redaction import cut, redact_arguments, redact_id, redact_text, redact_value

logger = logging.getLogger("audit")

MAX_ERROR = 2000
MAX_CHANGES_BYTES = 4096
UNAVAILABLE_MESSAGE = (
    "The call was not carried out: its Activity Log record could not be written (audit database busy or "
    "unavailable), so nothing was changed. Retry in a few seconds."
)


class AuditUnavailable(Exception):
    """A required row could not be written: the call must not take effect or be answered."""

    def __init__(self, message: str = UNAVAILABLE_MESSAGE) -> None:
        super().__init__(message)
        self.message = message


def row_required(*, write: bool) -> bool:
    """Whether a call's row must be written for the call to stand: always for a change; for a read
    unless the operator chose to keep answering reads while the log cannot be written."""
    return write or not settings.AUDIT_READS_FAIL_OPEN


@dataclass(kw_only=True)
class AccessRecord:
    """One Public API access, as the caller knows it. Mutable, so a caller can fill it as the call runs."""

    # A record that is written without an outcome is a call that blew up before deciding one.
    outcome: str = Outcome.SERVER_ERROR
    user: Any = None  # the key owner (a saved User), None for a refused authentication
    api_key: Any = None  # accounts.ApiKey, None when no key was recognised
    key_public_id: str = ""  # the presented key's public id when it parses but no ApiKey matched
    source: str = Source.MCP
    endpoint: str = ""  # the Public API endpoint the call mirrors, e.g. "GET /connect/api/v1/cases"
    tool: str = ""
    arguments: Any = None  # raw tool arguments; redacted and bounded by the recorder
    error: str = ""
    tenant_ids: Iterable[str] = ()
    case_ids: Iterable[str] = ()
    alert_ids: Iterable[str] = ()
    changes: list[dict[str, Any]] | None = None  # updateCase: [{"field", "from", "to"}, ...]
    http_status: int = 200
    response_bytes: int = 0  # the payload answered: a tool's result JSON, a REST body
    duration_ms: float = 0.0
    client_ip: str | None = None
    user_agent: str = ""
    protocol_version: str = ""
    request_id: str = ""


def _join_ids(values: Iterable[Any] | str | None, limit: int) -> str:
    """Comma-separated ids, whole ids only, with a count of the ones that did not fit."""
    if not values:
        return ""
    if isinstance(values, str):
        values = [values]
    ids = [redact_id(v) for v in values if v not in (None, "")]
    out: list[str] = []
    for index, value in enumerate(ids):
        left_after = len(ids) - index - 1
        marker = f",+{left_after}" if left_after else ""
        if len(",".join([*out, value])) + len(marker) > limit:
            out.append(f"+{len(ids) - index}")
            break
        out.append(value)
    return ",".join(out)


def _valid_ip(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None


def _snapshots(rec: AccessRecord) -> tuple[Any, str, Any, str]:
    """The user, username, key and key id to store, read from the objects passed in (no query)."""
    api_key = rec.api_key
    user = rec.user
    key_public_id = getattr(api_key, "public_id", "") if api_key is not None else ""
    key_public_id = key_public_id or rec.key_public_id or ""
    if user is None and api_key is not None:
        user = api_key._state.fields_cache.get("user")
    username = user.get_username() if user is not None else ""
    return user, username, api_key, key_public_id


def _row_values(rec: AccessRecord) -> dict[str, Any]:
    """The new row's column values by attribute name, redacted and bounded. A dict rather than a model
    instance: building a PublicApiAccess (descriptors, defaults, signals' bookkeeping) cost more than the
    values themselves, and the row is only ever inserted."""
    user, username, api_key, key_public_id = _snapshots(rec)
    for linked in (user, api_key):
        if linked is not None and linked.pk is None:
            # What save() would refuse: the link would be lost silently.
            raise ValueError(f"cannot audit a call by an unsaved {type(linked).__name__}")
    return {
        "timestamp": timezone.now(),
        # Without a loaded owner the key row still names it (no query).
        "user_id": user.pk if user is not None else getattr(api_key, "user_id", None),
        "username": cut(username, 150),
        "api_key_id": api_key.pk if api_key is not None else None,
        "key_public_id": redact_id(key_public_id)[:16] if key_public_id else "",
        "key_name": redact_text(str(getattr(api_key, "name", "") or ""), 100),
        "activity_type": ACTIVITY_PUBLIC_API_ACCESS,
        "source": str(rec.source)[:8],
        "endpoint": redact_text(str(rec.endpoint), 120),
        "tool": redact_text(str(rec.tool), 64),
        "arguments": redact_arguments(rec.arguments),
        "outcome": str(rec.outcome)[:16],
        "error": redact_text(str(rec.error or ""), MAX_ERROR),
        "tenant_ids": _join_ids(rec.tenant_ids, 500),
        "case_ids": _join_ids(rec.case_ids, 500),
        "alert_ids": _join_ids(rec.alert_ids, 500),
        "changes": redact_value(list(rec.changes), MAX_CHANGES_BYTES) if rec.changes is not None else None,
        "http_status": int(rec.http_status),
        "response_bytes": max(0, int(rec.response_bytes or 0)),
        "duration_ms": round(float(rec.duration_ms), 3),
        "client_ip": _valid_ip(rec.client_ip),
        "user_agent": redact_text(str(rec.user_agent or ""), 300),
        "protocol_version": cut(str(rec.protocol_version or ""), 20),
        "request_id": cut(str(rec.request_id or ""), 40),
    }


@once_per_database
def _insert_plan(qn: Quote) -> tuple[str, list[Any]]:
    """The INSERT statement and the fields it sets, in order."""
    fields = [f for f in PublicApiAccess._meta.concrete_fields if not f.primary_key]
    sql = (f"INSERT INTO {qn(PublicApiAccess._meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "
           f"VALUES ({', '.join(['%s'] * len(fields))})")
    return sql, fields


def _insert(values: dict[str, Any], using: str) -> None:
    """INSERT the row with each field's own database preparation (what `save()` does), without the
    ORM's statement compilation: it is one write on every tool call, and compiling it cost several
    times the INSERT itself. No RETURNING: nothing reads the new id. A column missing from `values`
    is a KeyError: every column is set on purpose."""
    connection = connections[using]
    sql, fields = _insert_plan(using=using)
    params = [f.get_db_prep_save(values[f.attname], connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def record_access(rec: AccessRecord, *, required: bool = False) -> None:
    """Write one PublicApiAccess row for `rec`. A failure is logged at ERROR and, when `required`, raised
    as AuditUnavailable.

    A change and its row commit together: inside the caller's transaction the INSERT runs in a savepoint
    of it when the log shares the database (PostgreSQL by default), and otherwise commits on its own
    before the caller's transaction does, so a failed INSERT rolls the change back. What remains is a
    failure of that final COMMIT after the row was written: a row then records a change that did not
    happen, never the reverse.
    """
    try:
        values = _row_values(rec)
        using = router.db_for_write(PublicApiAccess)
        # Inside a caller's transaction, a savepoint keeps a failed insert from breaking that
        # transaction; in autocommit the INSERT stands alone (one statement, no BEGIN). On SQLite that
        # also skips the writers' turn (stellar_mcp_site/sqlite_backend): a BEGIN and COMMIT around every
        # read's audit row cost listTenant a tenth of its throughput at 8 clients.
        in_atomic = connections[using].in_atomic_block
        with transaction.atomic(using=using) if in_atomic else contextlib.nullcontext():
            _insert(values, using)
    except Exception:
        logger.exception(
            "AUDIT WRITE FAILED: a Public API access was not recorded",
            extra={
                "audit_request_id": str(getattr(rec, "request_id", ""))[:40],
                "audit_tool": str(getattr(rec, "tool", ""))[:64],
                "audit_outcome": str(getattr(rec, "outcome", ""))[:16],
                "audit_key_id": str(getattr(getattr(rec, "api_key", None), "public_id", "") or "")[:16],
            },
        )
        if required:
            raise AuditUnavailable() from None
