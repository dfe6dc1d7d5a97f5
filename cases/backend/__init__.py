"""Choose the configured case backend (STELLAR_BACKEND)."""

from __future__ import annotations

from functools import cache

from django.conf import settings

from .base import (  # noqa: F401  (re-exported for callers)
    BackendError,
    CaseBackend,
    CaseQuery,
    CaseUpdate,
    Conflict,
    InvalidArgument,
    NotFound,
    Page,
    UpstreamUnavailable,
)


@cache
def get_backend() -> CaseBackend:
    if settings.STELLAR_BACKEND == "embedded":
        from .embedded import EmbeddedBackend

        return EmbeddedBackend()
    if settings.STELLAR_BACKEND == "upstream":
        from .upstream import UpstreamBackend

        return UpstreamBackend()
    raise RuntimeError(f"Unknown STELLAR_BACKEND {settings.STELLAR_BACKEND!r}: use 'embedded' or 'upstream'.")
