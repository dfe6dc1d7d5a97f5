"""The Streamable HTTP endpoint at /mcp/: stateless, JSON responses, both protocol eras.

Order of checks, each answered before the next runs: Origin (403), method (405), Accept (406),
body size (413), credentials (401/429), feature switch (503), JSON-RPC envelope (400), protocol era
and its headers (400/404), then the method itself (dispatch.py). No session id is ever issued, so any
worker on any host can answer any request.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from accounts.authentication import AuthenticationFailed, authenticate_bearer
from audit.recorder import AuditUnavailable, row_required
from features import switches as features
from oauth import metadata as oauth_metadata
from stellar_mcp_site.request_meta import client_ip, declared_body_length, request_id

from . import protocol as p
from .audit_bridge import record_call, record_refusal
from .dispatch import Call, CallReport, dispatch, http_status
from .envelope import parse_envelope
from .jsonwire import dumps
from .modern_headers import check_modern_request

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
        principal = authenticate_bearer(request.headers.get("Authorization"), client_ip=ip,
                                        resource=oauth_metadata.resource(request))
    except AuthenticationFailed as exc:
        return _refuse_authentication(request, exc, body, rid=rid, ip=ip, started=started)
    request.audit_username = principal.user.get_username()  # type: ignore[attr-defined]

    switches = features.current()
    if not switches.mcp_enabled:
        message = "The MCP server feature is disabled on this instance. Ask an administrator to enable it."
        record_refusal(request, body, principal=principal, outcome="denied", error=message, http_status=503,
                       rid=rid, ip=ip, started=started)
        return error_response(p.INTERNAL_ERROR, message, 503)

    version_header = (request.headers.get("MCP-Protocol-Version") or "").strip() or None
    modern = version_header is not None and version_header not in p.LEGACY_HEADER_VERSIONS
    rpc_id = None
    try:
        envelope = parse_envelope(body)
        if envelope.is_notification_or_response:
            return HttpResponse(status=202)
        rpc_id = envelope.id
        version = check_modern_request(request, envelope, version_header) if modern else (
            version_header or p.LEGACY_DEFAULT_VERSION)

        def record(report: CallReport, http_status: int) -> None:
            record_call(request, report, principal=principal, http_status=http_status, protocol_version=version,
                        required=row_required(write=report.writes), rid=rid, ip=ip, started=started)

        call = Call(principal=principal, params=envelope.params, version=version, modern=modern, request_id=rid,
                    ai_summary_enabled=switches.ai_summary_enabled, record=record)
        return json_response({"jsonrpc": "2.0", "id": rpc_id, "result": dispatch(call, envelope.method)})
    except p.JsonRpcError as exc:
        return error_response(exc.code, exc.message, http_status(exc, modern=modern), rpc_id=rpc_id, data=exc.data)
    except AuditUnavailable as exc:
        return error_response(p.INTERNAL_ERROR, exc.message, 503, rpc_id=rpc_id, headers={"Retry-After": "2"})


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
        # Where a client learns how to sign a user in (RFC 9728); error="invalid_token" once one was sent.
        credential_sent = bool(request.headers.get("Authorization"))
        status, headers = 401, {"WWW-Authenticate": oauth_metadata.challenge(request, credential_sent=credential_sent)}
        outcome = "unauthenticated"
    record_refusal(request, body, principal=None, key_public_id=exc.key_public_id or "", outcome=outcome,
                   error=message, http_status=status, rid=rid, ip=ip, started=started)
    return error_response(p.INVALID_REQUEST, message, status, headers=headers)
