"""The base view of the Public API: body size, authentication, per-key budgets, error bodies and status
codes, fault injection, audit. The same rules as /mcp/: one body size limit (MCP_MAX_BODY_BYTES), the
same keys and tokens, the same per-key budgets counted over both doors, the same Activity Log.

Errors have the body ``{"error": "<code>", "message": "<one sentence>"}`` and these statuses:
400 a body that is not JSON, 401 bad or missing credential, 403 read-only key on a write or
``"Tenant mismatch"`` (a tenant filter outside the key's tenants), 404 unknown object (other tenants'
objects included, worded alike), 405, 409 conflict, 413 body too large, 422 invalid parameter value,
429 with Retry-After (failed authentications, or the key's budget spent), 503 with Retry-After when the
database or the Activity Log is unavailable. Every call leaves one "Public API access" row with source
REST, whatever its outcome; a call whose row cannot be written is not carried out (audit.recorder).
"""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.principal import Principal
from audit.budgets import retry_after_seconds
from audit.models import Outcome, Source
from audit.recorder import AccessRecord, AuditUnavailable, record_access, row_required
from cases.backend import BackendError, Conflict, InvalidArgument, NotFound
from stellar_mcp_site.request_meta import client_ip, declared_body_length, request_id

from . import faults
from .auth import ApiKeyAuthentication, TooManyFailures, Unauthenticated

logger = logging.getLogger("public_api")

TENANT_MISMATCH = "Tenant mismatch"


class TenantMismatch(Exception):
    """A tenant filter names a tenant outside the caller's tenants (403, as the platform answers)."""


class ReadOnlyKey(Exception):
    pass


class ApiError(Exception):
    """A refusal with its own status and code (e.g. a 400 Elasticsearch-style error)."""

    def __init__(self, status: int, code: str, message: str, body: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.body = status, code, message, body
        self.headers = headers or {}


class JsonBodyParser(JSONParser):
    """DRF's JSON parser, with a body nested too deep for the decoder refused like any unparsable body."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - the body is nested too deeply.") from None


_OUTCOMES = {401: Outcome.UNAUTHENTICATED, 403: Outcome.DENIED, 409: Outcome.CONFLICT, 429: Outcome.RATE_LIMITED}


def _outcome(status: int) -> str:
    if status < 400:
        return Outcome.SUCCESS
    if status in _OUTCOMES:
        return _OUTCOMES[status]
    return Outcome.SERVER_ERROR if status >= 500 else Outcome.TOOL_ERROR


class PublicApiView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes: list = []
    throttle_classes: list = []
    renderer_classes = [JSONRenderer]
    parser_classes = [JsonBodyParser]
    # The path this view serves, as the audit log names it after the method ("GET /connect/api/v1/cases").
    route = ""
    # Methods that change data: run in a transaction with their audit row, under the stricter budget.
    write_methods: frozenset[str] = frozenset()

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # A change and its audit row commit together: DRF's dispatch writes the row (finalize_response)
        # inside this transaction, and a row that cannot be written rolls the change back.
        write = request.method in self.write_methods
        try:
            with transaction.atomic() if write else nullcontext():
                return super().dispatch(request, *args, **kwargs)
        except AuditUnavailable as exc:
            response = JsonResponse({"error": "unavailable", "message": exc.message}, status=503)
            response["Retry-After"] = "2"
            return response

    # --- request life cycle ----------------------------------------------------------------------
    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self._started = time.perf_counter()
        self.audit_tenants: set[str] = set()
        self.audit_cases: set[str] = set()
        self.audit_alerts: set[str] = set()
        self.audit_changes: list[dict[str, Any]] | None = None
        self.audit_arguments: dict[str, Any] = {}
        self.error_message = ""
        limit = settings.MCP_MAX_BODY_BYTES
        if declared_body_length(request._request) > limit:
            raise ApiError(413, "payload_too_large", f"Request body too large: the limit is {limit} bytes.")
        # Read a body within the limit before anything can refuse the call, as /mcp/ does: gunicorn drains
        # at most 64 KiB of a body the application left unread and then closes the connection, so a
        # refused PUT would otherwise cost the client its kept-alive connection, or its answer.
        request._request.body
        super().initial(request, *args, **kwargs)
        if request.auth is None:  # no authenticator accepted or refused: nothing was sent
            raise Unauthenticated("Authentication credentials were not provided.")
        key_id = getattr(self.principal.api_key, "public_id", "")
        wait = retry_after_seconds(key_id, write=request.method in self.write_methods) if key_id else None
        if wait is not None:
            raise ApiError(
                429, "rate_limited",
                f"Rate limit reached: this API key has used its calls for the last minute. Retry in {wait} seconds.",
                headers={"Retry-After": str(wait)},
            )
        faults.apply()

    @property
    def principal(self) -> Principal:
        return self.request.auth

    def require_write(self) -> None:
        if not self.principal.can_write:
            raise ReadOnlyKey()

    # --- errors ----------------------------------------------------------------------------------
    def handle_exception(self, exc: Exception) -> Response:
        status, code, message, headers, body = self._classify(exc)
        self.error_message = message
        response = Response(body if body is not None else {"error": code, "message": message}, status=status)
        for name, value in headers.items():
            response[name] = value
        response.exception = True
        return response

    def _classify(self, exc: Exception) -> tuple[int, str, str, dict[str, str], Any]:
        if isinstance(exc, TooManyFailures):
            return 429, "rate_limited", exc.message, {"Retry-After": str(exc.retry_after)}, None
        if isinstance(exc, faults.InjectedFault):
            headers = {"Retry-After": str(exc.retry_after)} if exc.status in (429, 503) and exc.retry_after > 0 else {}
            code = "rate_limited" if exc.status == 429 else "unavailable"
            message = "Rate limit exceeded" if exc.status == 429 else "Service temporarily unavailable"
            return exc.status, code, message, headers, None
        if isinstance(exc, (Unauthenticated, exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
            message = getattr(exc, "message", None) or str(exc.detail)
            headers = {"WWW-Authenticate": ApiKeyAuthentication().authenticate_header(self.request)}
            return 401, "unauthorized", message, headers, None
        if isinstance(exc, TenantMismatch):
            return 403, "forbidden", TENANT_MISMATCH, {}, None
        if isinstance(exc, ReadOnlyKey):
            message = "This API key is read-only: updating a case needs a read-write key."
            return 403, "forbidden", message, {}, None
        if isinstance(exc, ApiError):
            return exc.status, exc.code, exc.message, exc.headers, exc.body
        if isinstance(exc, (NotFound, Http404, exceptions.NotFound)):
            message = exc.message if isinstance(exc, NotFound) else "Not found."
            return 404, "not_found", message, {}, None
        if isinstance(exc, InvalidArgument):
            return 422, "invalid_parameter", exc.message, {}, None
        if isinstance(exc, Conflict):
            return 409, "conflict", exc.message, {}, None
        if isinstance(exc, BackendError):
            return 422, "invalid_parameter", exc.message, {}, None
        if isinstance(exc, exceptions.APIException):  # 400 parse error, 405, 406, 415
            return exc.status_code, str(exc.default_code), str(exc.detail), {}, None
        if isinstance(exc, DatabaseError):
            logger.exception("database unavailable (request %s)", request_id(self.request._request))
            message = "The service is temporarily unavailable (database); retry in a few seconds."
            return 503, "unavailable", message, {"Retry-After": "2"}, None
        logger.exception("unexpected error (request %s)", request_id(self.request._request))
        message = f"Internal error; it was logged with request id {request_id(self.request._request)}."
        return 500, "internal_error", message, {}, None

    # --- audit -----------------------------------------------------------------------------------
    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        # Rendered here rather than on the way out, so the audit row knows the answer's size.
        response.render()
        self._record(request, response.status_code, len(response.content))
        return response

    def _record(self, request: Request, status: int, response_bytes: int = 0) -> None:
        django_request = request._request
        principal = getattr(request, "_auth", None)
        principal = principal if isinstance(principal, Principal) else None
        started = getattr(self, "_started", None) or time.perf_counter()
        arguments = {**{k: v for k, v in request.query_params.items()}, **getattr(self, "audit_arguments", {})}
        # A refusal stands whether or not its row is written; a call that reached the data does not.
        required = principal is not None and status not in (401, 429) and row_required(
            write=request.method in self.write_methods)
        record_access(
            AccessRecord(
                source=Source.REST,
                user=principal.user if principal else None,
                api_key=principal.api_key if principal else None,
                key_public_id=getattr(principal.api_key, "public_id", "") if principal else
                getattr(django_request, "audit_key_public_id", ""),
                endpoint=f"{request.method} {self.route}",
                arguments=arguments,
                outcome=_outcome(status),
                error=getattr(self, "error_message", "") if status >= 400 else "",
                tenant_ids=sorted(getattr(self, "audit_tenants", ())),
                case_ids=sorted(getattr(self, "audit_cases", ())),
                alert_ids=sorted(getattr(self, "audit_alerts", ())),
                changes=getattr(self, "audit_changes", None),
                http_status=status,
                response_bytes=response_bytes,
                duration_ms=(time.perf_counter() - started) * 1000,
                client_ip=client_ip(django_request),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
                request_id=request_id(django_request),
            ),
            required=required,
        )


def data(payload: Any, **extra: Any) -> Response:
    """The platform's usual envelope: {"data": payload}."""
    return Response({"data": payload, **extra})
