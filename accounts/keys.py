"""API key plaintext format and digest: pure functions, no database.

Format: ``sk-stellar-<public id><secret>``. The public id has a fixed length, so splitting needs no
separator: 12 characters of ``[a-z0-9]`` find the row, 32 characters of base62 (~190 bits) are the
secret. Only HMAC-SHA256(pepper, whole key) is stored. A fast keyed hash is the right tool here: the
secret is random and long, so a slow password hasher would add latency on every request and no
protection (see djangorestframework-api-key #173).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from typing import NamedTuple

from django.conf import settings

from stellar_mcp_site.signing import derive_key

API_KEY_PREFIX = "sk-stellar-"
PUBLIC_ID_ALPHABET = string.ascii_lowercase + string.digits
PUBLIC_ID_LENGTH = 12
SECRET_ALPHABET = string.ascii_letters + string.digits
SECRET_LENGTH = 32
API_KEY_LENGTH = len(API_KEY_PREFIX) + PUBLIC_ID_LENGTH + SECRET_LENGTH

_API_KEY_RE = re.compile(
    rf"{re.escape(API_KEY_PREFIX)}(?P<public_id>[a-z0-9]{{{PUBLIC_ID_LENGTH}}})[A-Za-z0-9]{{{SECRET_LENGTH}}}"
)
_PUBLIC_ID_RE = re.compile(rf"[a-z0-9]{{{PUBLIC_ID_LENGTH}}}")


class NewKey(NamedTuple):
    public_id: str
    plaintext: str


def generate_public_id() -> str:
    return "".join(secrets.choice(PUBLIC_ID_ALPHABET) for _ in range(PUBLIC_ID_LENGTH))


def generate_key(public_id: str | None = None) -> NewKey:
    public_id = public_id or generate_public_id()
    secret = "".join(secrets.choice(SECRET_ALPHABET) for _ in range(SECRET_LENGTH))
    return NewKey(public_id, f"{API_KEY_PREFIX}{public_id}{secret}")


def looks_like_api_key(value: str) -> bool:
    return value.startswith(API_KEY_PREFIX)


def parse_public_id(plaintext: str) -> str | None:
    """The public id of a well-formed key, None for anything else (checked before any lookup)."""
    match = _API_KEY_RE.fullmatch(plaintext)
    return match["public_id"] if match else None


def is_public_id(value: str) -> bool:
    return _PUBLIC_ID_RE.fullmatch(value) is not None


def _pepper() -> bytes:
    # Derived rather than used raw, so the digest key is never the key Django signs sessions with.
    return derive_key(settings.API_KEY_PEPPER or settings.SECRET_KEY, b"stellar-mcp/api-key-digest/v1")


def key_digest(plaintext: str) -> str:
    return hmac.new(_pepper(), plaintext.encode(), hashlib.sha256).hexdigest()


def digest_matches(plaintext: str, stored_digest: str) -> bool:
    return hmac.compare_digest(key_digest(plaintext), stored_digest)
