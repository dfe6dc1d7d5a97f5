"""Opaque keyset cursors: the last row's sort key, signed and bound to the query that produced it.

A cursor carries the sort value and primary key of the last row of a page plus a digest of everything
that decides which rows a page holds (filters, sort, order, the caller's tenant scope). Reusing it with
other filters or by another caller fails the digest check; editing it fails the signature. Either way
the caller gets the same sentence and no hint of what the cursor pointed at.

The format is `base64url(JSON) "." base64url(HMAC-SHA256)`, keyed per salt from SECRET_KEY, like
django.core.signing but without its per-call key derivation, timestamp and settings lookups: a listCases
page signs one cursor, and Django's signer cost about 4 % of the whole call (27 µs against 5 µs alone).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import fields
from typing import Any

import orjson

from stellar_mcp_site.signing import signing_key
from tenants.scope import TenantScope

from .base import InvalidArgument

CURSOR_INVALID = "cursor is invalid or belongs to a different query: repeat the query without cursor to start again."


def scope_key(scope: TenantScope) -> list[Any]:
    return [scope.all_tenants, sorted(scope.cust_ids)]


def binding(*parts: Any) -> str:
    """A short digest of the JSON-able `parts`; two queries share it only if they select the same rows."""
    raw = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


def _b64(raw: bytes) -> bytes:
    return base64.urlsafe_b64encode(raw).rstrip(b"=")


def _tag(salt: str, payload: bytes) -> bytes:
    # One key per salt, derived from SECRET_KEY once (accounts.keys caches it), not on every call.
    return _b64(hmac.digest(signing_key(f"stellar-mcp/cursor/{salt}".encode()), payload, "sha256"))


def sign(salt: str, value: Any) -> str:
    """`value` as JSON with an HMAC over it: readable by anyone, changeable by no one without SECRET_KEY."""
    payload = _b64(orjson.dumps(value))
    return (payload + b"." + _tag(salt, payload)).decode("ascii")


def unsign(salt: str, cursor: str) -> Any:
    """The value `sign(salt, value)` signed; ValueError (base64 and JSON errors are ValueErrors too) when
    the text is not such a cursor."""
    payload, dot, tag = cursor.encode("ascii").rpartition(b".")  # UnicodeEncodeError is a ValueError
    if not dot or not hmac.compare_digest(tag, _tag(salt, payload)):
        raise ValueError("bad signature")
    return orjson.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)))


def encode(salt: str, bound_to: str, key: list[Any]) -> str:
    return sign(salt, [bound_to, *key])


def decode(salt: str, bound_to: str, cursor: str, types: tuple[type | tuple[type, ...], ...]) -> list[Any]:
    """The key values of a cursor made by `encode(salt, bound_to, key)`, each an instance of `types[i]`."""
    try:
        payload = unsign(salt, cursor)
    except (ValueError, TypeError):
        raise InvalidArgument(CURSOR_INVALID) from None
    if not isinstance(payload, list) or len(payload) != len(types) + 1 or payload[0] != bound_to:
        raise InvalidArgument(CURSOR_INVALID)
    key = payload[1:]
    for value, expected in zip(key, types):
        # bool is an int subclass; a cursor never holds one.
        if isinstance(value, bool) or not isinstance(value, expected):
            raise InvalidArgument(CURSOR_INVALID)
    return key


def case_query_binding(namespace: str, scope: TenantScope, query: Any) -> str:
    """What a listCases cursor is bound to: every filter, the sort and the scope (not limit or cursor)."""
    # A shallow copy: asdict() deep-copies every value and cost more than the rest of this function.
    filters = {f.name: getattr(query, f.name) for f in fields(query) if f.name not in ("limit", "cursor")}
    # Several values of one filter are ORed: their order does not change the rows.
    for name in ("tenants", "statuses", "severities", "tags"):
        filters[name] = sorted(set(filters[name]))
    return binding(namespace, filters, scope_key(scope))
