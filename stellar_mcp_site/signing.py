"""Keys derived from the server's secrets, one per purpose, so no two uses share a key."""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=16)
def derive_key(source: str, purpose: bytes) -> bytes:
    return hmac.new(source.encode(), purpose, hashlib.sha256).digest()


def signing_key(purpose: bytes) -> bytes:
    """A per-purpose key derived from SECRET_KEY (access tokens and paging cursors use it)."""
    return derive_key(settings.SECRET_KEY, purpose)
