"""Decoding one JSON-RPC message from a request body, refusing anything malformed with a clear error."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from . import protocol as p


@dataclass(frozen=True)
class Envelope:
    method: str
    params: dict[str, Any] | None
    id: int | str | None
    is_notification_or_response: bool


def _valid_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def decode_json(body: bytes) -> Any:
    """json.loads that turns every way a body can be broken into ValueError."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError, TypeError) as exc:
        # UnicodeDecodeError, JSONDecodeError, int too long to convert, nesting too deep
        raise ValueError(str(exc)) from None


def parse_envelope(body: bytes) -> Envelope:
    """The JSON-RPC message of a request body; JsonRpcError (HTTP 400) for anything malformed."""
    try:
        message = decode_json(body)
    except ValueError:
        raise p.JsonRpcError(p.PARSE_ERROR, "Parse error: the body is not valid JSON in UTF-8.", http_status=400) from None
    if isinstance(message, list):
        raise p.JsonRpcError(
            p.INVALID_REQUEST, "Invalid request: batch arrays are not supported; send one JSON-RPC message per POST.",
            http_status=400,
        )
    if not isinstance(message, dict):
        raise p.JsonRpcError(p.INVALID_REQUEST, "Invalid request: the body must be a JSON-RPC object.", http_status=400)
    if message.get("jsonrpc") != "2.0":
        raise p.JsonRpcError(p.INVALID_REQUEST, 'Invalid request: "jsonrpc" must be "2.0".', http_status=400)
    if "method" not in message:
        if "id" in message and ("result" in message or "error" in message):
            # A response to a server request; this server sends none, so there is nothing to match it to.
            return Envelope(method="", params=None, id=None, is_notification_or_response=True)
        raise p.JsonRpcError(p.INVALID_REQUEST, 'Invalid request: "method" is missing.', http_status=400)
    method = message["method"]
    if not isinstance(method, str) or not method:
        raise p.JsonRpcError(p.INVALID_REQUEST, 'Invalid request: "method" must be a non-empty string.', http_status=400)
    params = message.get("params")
    if params is not None and not isinstance(params, dict):
        raise p.JsonRpcError(p.INVALID_REQUEST, 'Invalid request: "params" must be an object.', http_status=400)
    if "id" not in message:
        return Envelope(method=method, params=params, id=None, is_notification_or_response=True)
    rpc_id = message["id"]
    if not _valid_id(rpc_id):
        raise p.JsonRpcError(
            p.INVALID_REQUEST, 'Invalid request: "id" must be a string or an integer (not null).', http_status=400
        )
    return Envelope(method=method, params=params, id=rpc_id, is_notification_or_response=False)


def peek_tool_call(body: bytes) -> tuple[str, dict[str, Any]] | None:
    """The tool name and arguments of a tools/call body, if it is one (for audit rows of refused calls)."""
    try:
        message = decode_json(body)
    except ValueError:
        return None
    if not isinstance(message, dict) or message.get("method") != "tools/call":
        return None
    params = message.get("params")
    if not isinstance(params, dict):
        return None
    name = params.get("name")
    arguments = params.get("arguments")
    return (str(name)[:64] if name is not None else "", arguments if isinstance(arguments, dict) else {})
