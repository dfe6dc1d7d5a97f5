"""Facts about an HTTP request that several apps need: the client IP, the request id, the body's size."""

from __future__ import annotations

import ipaddress
import logging
import uuid

from django.conf import settings
from django.http import HttpRequest

logger = logging.getLogger("request")

_UNSET = object()
UNTRUSTED_PROXY_WARNING = (
    "Requests arrive through a proxy (%s) but TRUSTED_PROXY_HOPS is 0: every client then shares one "
    "address in the Activity Log and in the failed-authentication limit. Set TRUSTED_PROXY_HOPS to the "
    "number of proxies in front of this server."
)
_warned_about_proxy = False


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
    if hops == 0 and not _warned_about_proxy:
        if "HTTP_X_FORWARDED_FOR" in request.META:
            _warn_untrusted_proxy("they carry X-Forwarded-For")
        elif remote is None:
            _warn_untrusted_proxy("they come through a unix socket")
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


def _warn_untrusted_proxy(evidence: str) -> None:
    """Once per process: the first such request of each worker says so in the log."""
    global _warned_about_proxy
    _warned_about_proxy = True
    logger.warning(UNTRUSTED_PROXY_WARNING, evidence)


def request_id(request: HttpRequest) -> str:
    """One id per request, shared by the log line and the audit row (set by RequestLogMiddleware)."""
    rid = getattr(request, "request_id", None)
    if rid is None:
        rid = uuid.uuid4().hex
        request.request_id = rid  # type: ignore[attr-defined]
    return rid


def declared_body_length(request: HttpRequest) -> int:
    """The body size the client declared (Content-Length; 0 when absent or malformed). Django reads no
    more than that, so checking it before reading bounds what any door reads."""
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0
