"""One structured log line per request, carrying the request id that is also in the audit row."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from stellar_mcp_site.request_meta import client_ip, request_id

logger = logging.getLogger("request")


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        rid = request_id(request)
        response = self.get_response(request)
        duration_ms = round((time.perf_counter() - started) * 1000, 3)
        response["X-Request-Id"] = rid
        status = response.status_code
        # The path only: a query string may carry a credential, and it can be long.
        fields = {
            "method": request.method,
            "path": request.path[:500],
            "status": status,
            "duration_ms": duration_ms,
            "request_id": rid,
            "client_ip": client_ip(request),
            "user": getattr(request, "audit_username", "") or "",
        }
        level = logging.ERROR if status >= 500 else logging.INFO
        logger.log(level, "%s %s %s %.1fms", request.method, fields["path"], status, duration_ms, extra=fields)
        return response
