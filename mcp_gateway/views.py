"""The Streamable HTTP endpoint at /mcp/: stateless, JSON responses, both protocol eras.

Order of checks, each answered before the next runs: Origin (403), method (405), Accept (406),
body size (413), credentials (401/429), feature switch (503), JSON-RPC envelope (400), protocol era
and its headers (400/404), then the method itself. No session id is ever issued, so any worker on
any host can answer any request.
"""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DatabaseError, transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from accounts.authentication import AuthenticationFailed, authenticate_bearer
from accounts.principal import Principal
from audit.recorder import AuditUnavailable, row_required
from features import switches as features
from stellar_mcp_site.request_meta import client_ip, declared_body_length, request_id

from . import protocol as p
from .audit_bridge import record_call, record_refusal
from .dispatch import Dispatched, dispatch_legacy, dispatch_modern
from .jsonwire import dumps
from .envelope import Envelope, parse_envelope, peek_tool_call
from .modern_headers import check_modern_request
from .registry import registry

logger = logging.getLogger("mcp_gateway")

AUTH_HELP = (
    "Authentication failed. Send the header 'Authorization: Bearer <API key or access token>' with a "
    "complete, valid Stellar Cyber API key (sk-stellar-...) that has not expired or been revoked, "
    "or an access token from get_access_token that is less than 10 minutes old."
)


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    response = HttpResponse(dumps(payload), status=status, content_type="application/json")
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def error_response(
    code: int, message: str, status: int, *, rpc_id: Any = None, data: Any = None, headers: dict[str, str] | None = None
) -> HttpResponse:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return json_response({"jsonrpc": "2.0", "id": rpc_id, "error": error}, status, headers)


def origin_allowed(origin: str) -> bool:
    """An allowlist entry without a port matches any port of that scheme and host."""
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return False
    if not parts.scheme or not parts.hostname:
        return False
    for allowed in settings.MCP_ALLOWED_ORIGINS:
        if allowed == "*":
            return True
        a = urlsplit(allowed)
        if a.scheme == parts.scheme and a.hostname == parts.hostname and (a.port is None or a.port == port):
            return True
    return False


def accepts_json(accept: str | None) -> bool:
    if not accept:
        return True  # no Accept header means anything is acceptable
    for item in accept.split(","):
        media = item.split(";", 1)[0].strip().lower()
        if media in ("application/json", "application/*", "*/*"):
            return True
    return False


def read_body(request: HttpRequest) -> bytes | None:
    """The body, or None when it is over the limit (checked on Content-Length before reading)."""
    limit = settings.MCP_MAX_BODY_BYTES
    if declared_body_length(request) > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


@csrf_exempt
def mcp_endpoint(request: HttpRequest) -> HttpResponse:
    """Answer one MCP POST; whatever goes wrong inside, the client gets JSON-RPC, never a traceback."""
    try:
        return _handle(request)
    except DatabaseError:
        logger.exception("database unavailable (request %s)", request_id(request))
        return error_response(
            p.INTERNAL_ERROR, "The service is temporarily unavailable (database); retry in a few seconds.", 503,
            headers={"Retry-After": "2"},
        )
    except Exception:
        logger.exception("unexpected error (request %s)", request_id(request))
        return error_response(
            p.INTERNAL_ERROR, f"Internal error; it was logged with request id {request_id(request)}.", 500
        )


def _handle(request: HttpRequest) -> HttpResponse:
    started = time.perf_counter()
    rid = request_id(request)

    origin = request.headers.get("Origin")
    if origin is not None and not origin_allowed(origin):
        return error_response(p.INVALID_REQUEST, "Forbidden: this Origin may not call the MCP endpoint.", 403)
    if request.method != "POST":
        response = error_response(p.INVALID_REQUEST, "Method not allowed: the MCP endpoint accepts POST only.", 405)
        response["Allow"] = "POST"
        return response
    if not accepts_json(request.headers.get("Accept")):
        return error_response(p.INVALID_REQUEST, "Not acceptable: the client must accept application/json.", 406)
    body = read_body(request)
    if body is None:
        limit = settings.MCP_MAX_BODY_BYTES
        return error_response(p.INVALID_REQUEST, f"Request body too large: the limit is {limit} bytes.", 413)

    ip = client_ip(request)
    try:
        principal = authenticate_bearer(request.headers.get("Authorization"), client_ip=ip)
    except AuthenticationFailed as exc:
        return _refuse_authentication(request, exc, body, rid=rid, ip=ip, started=started)
    request.audit_username = principal.user.get_username()  # type: ignore[attr-defined]

    switches = features.current()
    if not switches.mcp_enabled:
        message = "The MCP server feature is disabled on this instance. Ask an administrator to enable it."
        record_refusal(request, body, principal=principal, outcome="denied", error=message, http_status=503,
                       rid=rid, ip=ip, started=started)
        return error_response(p.INTERNAL_ERROR, message, 503)

    envelope = parse_envelope(body)
    if isinstance(envelope, p.JsonRpcError):
        return error_response(envelope.code, envelope.message, envelope.http_status, data=envelope.data)
    if envelope.is_notification_or_response:
        return HttpResponse(status=202)

    # A write and its audit row commit together (audit.recorder.record_access): a change whose row
    # cannot be written is rolled back, and a worker killed between the two leaves neither. Reads run
    # outside any transaction (no lock on SQLite). With the upstream backend the change is made on the
    # remote platform, which no local transaction covers: holding the database's write lock across
    # that HTTP call would only stall every other writer.
    write = _is_write_call(envelope)
    upstream = settings.STELLAR_BACKEND == "upstream"
    try:
        with transaction.atomic() if write and not upstream else nullcontext():
            return _dispatch(request, envelope, principal, switches, write=write, rid=rid, ip=ip, started=started)
    except AuditUnavailable as exc:
        message = UPSTREAM_CHANGE_NOT_RECORDED if write and upstream else exc.message
        return error_response(p.INTERNAL_ERROR, message, 503, rpc_id=envelope.id, headers={"Retry-After": "2"})


UPSTREAM_CHANGE_NOT_RECORDED = (
    "The change was sent to the Stellar Cyber platform, but this server could not record it in its Activity "
    "Log (audit database busy or unavailable). Check the case with getCaseDetail before retrying."
)


def _is_write_call(envelope: Envelope) -> bool:
    if envelope.method != "tools/call" or not isinstance(envelope.params, dict):
        return False
    name = envelope.params.get("name")
    tool = registry.get(name) if isinstance(name, str) else None
    return tool is not None and not tool.read_only


def _dispatch(
    request: HttpRequest, envelope: Envelope, principal: Principal, switches: features.Switches,
    *, write: bool, rid: str, ip: str | None, started: float,
) -> HttpResponse:
    version_header = (request.headers.get("MCP-Protocol-Version") or "").strip() or None
    try:
        if version_header is None or version_header in p.LEGACY_HEADER_VERSIONS:
            version = version_header or p.LEGACY_DEFAULT_VERSION
            done = dispatch_legacy(principal, envelope.method, envelope.params, version, request_id=rid,
                                   ai_summary_enabled=switches.ai_summary_enabled)
            modern = False
        else:
            version = check_modern_request(request, envelope, version_header)
            done = dispatch_modern(principal, envelope.method, envelope.params, version, request_id=rid,
                                   ai_summary_enabled=switches.ai_summary_enabled)
            modern = True
    except p.JsonRpcError as exc:
        status = exc.http_status
        if status == 200 and version_header not in (None, *p.LEGACY_HEADER_VERSIONS):
            status = p.MODERN_ERROR_STATUS.get(exc.code, 200)
        return error_response(exc.code, exc.message, status, rpc_id=envelope.id, data=exc.data)

    return _answer(request, done, envelope, principal, version, modern, write=write, rid=rid, ip=ip, started=started)


def _answer(
    request: HttpRequest, done: Dispatched, envelope: Envelope, principal: Principal, version: str, modern: bool,
    *, write: bool, rid: str, ip: str | None, started: float,
) -> HttpResponse:
    if done.error is not None:
        status = p.MODERN_ERROR_STATUS.get(done.error.code, 200) if modern else 200
        response = error_response(done.error.code, done.error.message, status, rpc_id=envelope.id)
    else:
        response = json_response({"jsonrpc": "2.0", "id": envelope.id, "result": done.result})
    if done.call is not None:
        record_call(request, done.call, principal=principal, http_status=response.status_code,
                    protocol_version=version, required=row_required(write=write), rid=rid, ip=ip, started=started)
    return response


def _refuse_authentication(
    request: HttpRequest, exc: AuthenticationFailed, body: bytes, *, rid: str, ip: str | None, started: float
) -> HttpResponse:
    if exc.rate_limited:
        retry = str(getattr(exc, "retry_after", None) or settings.AUTH_FAILURE_WINDOW_SECONDS)
        message = f"Too many failed authentication attempts from this address; retry after {retry} seconds."
        status, headers = 429, {"Retry-After": retry}
        outcome = "rate_limited"
    else:
        message = AUTH_HELP
        status, headers = 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        outcome = "unauthenticated"
    record_refusal(request, body, principal=None, key_public_id=exc.key_public_id or "", outcome=outcome,
                   error=message, http_status=status, rid=rid, ip=ip, started=started)
    return error_response(p.INVALID_REQUEST, message, status, headers=headers)


__all__ = ["mcp_endpoint", "peek_tool_call"]
