"""The 2026-07-28 request ladder: `_meta` envelope keys, routing headers, then the version itself."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest

from . import protocol as p
from .envelope import Envelope

# Methods whose target is mirrored in the Mcp-Name header, and the params key it mirrors.
NAME_BEARING_METHODS = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}
_B64 = re.compile(r"^=\?base64\?(?P<payload>.*)\?=$")


def decode_header_value(value: str | None) -> str | None:
    """Undo the `=?base64?...?=` wrapping clients use for values that are not plain ASCII."""
    if value is None:
        return None
    match = _B64.fullmatch(value)
    if match is None:
        return value
    try:
        decoded = base64.b64decode(match.group("payload"), validate=True)
        return decoded.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def check_modern_request(request: HttpRequest, envelope: Envelope, version_header: str) -> str:
    """Return the protocol version of a modern request, or raise the JSON-RPC error the spec asks for."""
    params = envelope.params or {}
    meta = params.get("_meta")
    if not isinstance(meta, Mapping):
        if version_header not in p.MODERN_VERSIONS:
            # Not a modern request at all: a legacy client naming a version we do not speak.
            raise p.JsonRpcError(
                p.INVALID_REQUEST,
                f"Unsupported MCP-Protocol-Version header {version_header[:40]!r}: use one of "
                f"{', '.join(sorted(p.LEGACY_HEADER_VERSIONS | set(p.MODERN_VERSIONS)))}.",
                http_status=400,
            )
        raise p.JsonRpcError(
            p.INVALID_PARAMS,
            f"params._meta must be an object carrying {p.PROTOCOL_VERSION_META_KEY!r} and "
            f"{p.CLIENT_CAPABILITIES_META_KEY!r}.",
            http_status=400,
        )
    missing = [k for k in (p.PROTOCOL_VERSION_META_KEY, p.CLIENT_CAPABILITIES_META_KEY) if k not in meta]
    if missing:
        raise p.JsonRpcError(
            p.INVALID_PARAMS, f"params._meta is missing the required key(s): {', '.join(missing)}.", http_status=400
        )
    body_version: Any = meta[p.PROTOCOL_VERSION_META_KEY]
    if version_header != body_version:
        raise p.JsonRpcError(
            p.HEADER_MISMATCH, "MCP-Protocol-Version header does not match params._meta protocol version.",
            http_status=400,
        )
    method_header = (request.headers.get("Mcp-Method") or "").strip() or None
    if method_header != envelope.method:
        raise p.JsonRpcError(p.HEADER_MISMATCH, "Mcp-Method header does not match the request's method.", http_status=400)
    name_key = NAME_BEARING_METHODS.get(envelope.method)
    if name_key is not None and params.get(name_key) is not None:
        name_header = decode_header_value((request.headers.get("Mcp-Name") or "").strip() or None)
        if name_header != params.get(name_key):
            raise p.JsonRpcError(
                p.HEADER_MISMATCH, f"Mcp-Name header does not match params.{name_key}.", http_status=400
            )
    if body_version not in p.MODERN_VERSIONS:
        raise p.JsonRpcError(
            p.UNSUPPORTED_PROTOCOL_VERSION,
            "Unsupported protocol version",
            data={"supported": list(p.MODERN_VERSIONS), "requested": body_version},
            http_status=400,
        )
    return body_version
