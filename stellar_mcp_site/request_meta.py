"""Facts about an HTTP request that several apps need: the client IP and the request id."""

from __future__ import annotations

import ipaddress
import uuid

from django.conf import settings
from django.http import HttpRequest


_UNSET = object()


def client_ip(request: HttpRequest) -> str | None:
    """The client address, taking X-Forwarded-For entries only from TRUSTED_PROXY_HOPS proxies.

    With N trusted hops, the Nth address from the right of X-Forwarded-For is the client: entries to
    its left were written by the client itself and cannot be trusted. Worked out once per request (the
    request log and the endpoint both ask).
    """
    known = getattr(request, "_client_ip", _UNSET)
    if known is _UNSET:
        known = request._client_ip = _client_ip(request)  # type: ignore[attr-defined]
    return known  # type: ignore[return-value]


def _client_ip(request: HttpRequest) -> str | None:
    remote = request.META.get("REMOTE_ADDR") or None
    hops = settings.TRUSTED_PROXY_HOPS
    if hops > 0:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if len(forwarded) >= hops:
            remote = forwarded[-hops]
    if remote is None:
        return None
    try:
        return str(ipaddress.ip_address(remote))
    except ValueError:
        return None


def request_id(request: HttpRequest) -> str:
    """One id per request, shared by the log line and the audit row (set by RequestLogMiddleware)."""
    rid = getattr(request, "request_id", None)
    if rid is None:
        rid = uuid.uuid4().hex
        request.request_id = rid  # type: ignore[attr-defined]
    return rid
