"""Facts about an HTTP request that several apps need: the client IP and the request id."""

from __future__ import annotations

import ipaddress
import uuid

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The client address, taking X-Forwarded-For entries only from TRUSTED_PROXY_HOPS proxies.

    With N trusted hops, the Nth address from the right of X-Forwarded-For is the client: entries to
    its left were written by the client itself and cannot be trusted.
    """
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
