"""Turning what happened on /mcp/ into Public API access rows (source MCP)."""

from __future__ import annotations

import time

from django.http import HttpRequest

from accounts.principal import Principal
from audit.recorder import AccessRecord, record_access

from .dispatch import CallReport
from .envelope import peek_tool_call
from .registry import registry

# An unauthenticated request's body is looked into for the tool it names only up to this size: a
# tools/call is a few hundred bytes, and a flood of 1 MiB bodies without a credential must not cost a
# parse each.
REFUSAL_PEEK_BYTES = 16 * 1024


def _common(request: HttpRequest, *, rid: str, ip: str | None, started: float, http_status: int) -> dict:
    return {
        "source": "MCP",
        "client_ip": ip,
        "user_agent": request.headers.get("User-Agent", ""),
        "request_id": rid,
        "http_status": http_status,
        "duration_ms": (time.perf_counter() - started) * 1000,
        "protocol_version": (request.headers.get("MCP-Protocol-Version") or "")[:20],
    }


def record_call(
    request: HttpRequest, call: CallReport, *, principal: Principal, http_status: int, protocol_version: str,
    required: bool, rid: str, ip: str | None, started: float,
) -> None:
    """The row of one tool call; AuditUnavailable when it is `required` and cannot be written."""
    ctx = call.context
    common = _common(request, rid=rid, ip=ip, started=started, http_status=http_status)
    common["protocol_version"] = protocol_version
    record_access(
        AccessRecord(
            user=principal.user,
            api_key=principal.api_key,
            key_public_id=getattr(principal.api_key, "public_id", ""),
            endpoint=call.endpoint,
            tool=call.tool,
            arguments=call.arguments,
            outcome=call.outcome,
            error=call.error,
            tenant_ids=sorted(ctx.tenant_ids) if ctx else [],
            case_ids=sorted(ctx.case_ids) if ctx else [],
            alert_ids=sorted(ctx.alert_ids) if ctx else [],
            changes=ctx.changes if ctx else None,
            response_bytes=call.response_bytes,
            **common,
        ),
        required=required,
    )


def record_refusal(
    request: HttpRequest, body: bytes, *, principal: Principal | None, outcome: str, error: str, http_status: int,
    rid: str, ip: str | None, started: float, key_public_id: str = "",
) -> None:
    """One row for a request refused before it reached a tool (bad credentials, feature switched off)."""
    if principal is None and len(body) > REFUSAL_PEEK_BYTES:
        peeked = None
        tool, arguments = "", {"body_bytes": len(body)}
    else:
        peeked = peek_tool_call(body)
        tool, arguments = peeked if peeked is not None else ("", {})
    if principal is not None and peeked is None:
        return  # an authenticated non-tool request (initialize, tools/list): not a Public API access
    declared = registry.get(tool)
    record_access(
        AccessRecord(
            user=principal.user if principal else None,
            api_key=principal.api_key if principal else None,
            key_public_id=getattr(principal.api_key, "public_id", "") if principal else key_public_id,
            endpoint=declared.endpoint if declared else "",
            tool=tool,
            arguments=arguments,
            outcome=outcome,
            error=error,
            tenant_ids=[],
            case_ids=[],
            alert_ids=[],
            changes=None,
            **_common(request, rid=rid, ip=ip, started=started, http_status=http_status),
        )
    )
