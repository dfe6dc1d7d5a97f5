"""JSON-RPC method handlers for both protocol eras, over one tool registry.

The transport (views.py) has already checked the HTTP envelope, authenticated the caller and decided
the era; this module answers one request and reports what the audit row needs.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from mcp_types import methods as wire
from pydantic import ValidationError

from accounts.principal import Principal
from audit.budgets import retry_after_seconds
from cases.backend import BackendError, Conflict

from . import protocol as p
from .registry import ToolContext, ToolError, registry, to_json_text
from .sanitize import json_text_needs_neutralising, neutralise

logger = logging.getLogger("mcp_gateway")


@dataclass
class CallReport:
    """What happened in a tools/call, for the audit row."""

    tool: str
    arguments: dict[str, Any]
    endpoint: str = ""
    outcome: str = "success"
    error: str = ""
    context: ToolContext | None = None
    duration_ms: float = 0.0


@dataclass
class Dispatched:
    """The answer to one request: a result, or a JSON-RPC error, plus the tool call it made if any."""

    result: dict[str, Any]
    call: CallReport | None = None
    error: p.JsonRpcError | None = None


def _validate_params(method: str, version: str, params: dict[str, Any] | None) -> None:
    """Check params against the official wire types of this protocol version (mcp-types)."""
    try:
        wire.validate_client_request(method, version, params)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(x) for x in first.get("loc", ())) or "params"
        raise p.JsonRpcError(p.INVALID_PARAMS, f"Invalid params for {method}: {where}: {first.get('msg')}") from None
    except KeyError:
        raise p.JsonRpcError(p.METHOD_NOT_FOUND, f"Method not found: {method}") from None


def _serialize(method: str, version: str, result: dict[str, Any]) -> dict[str, Any]:
    return wire.serialize_server_result(method, version, result)


def serialize_tool_result(version: str, result: dict[str, Any]) -> dict[str, Any]:
    """A tools/call result checked and shaped by the official wire types, except the payload.

    The envelope (content blocks, isError, resultType, _meta) goes through `mcp-types` like every other
    result. structuredContent and the text that mirrors it are JSON this server just produced from plain
    dicts, lists and scalars, which the wire type takes as they are (an object of any JSON values) and
    dumps unchanged: walking a page of 20 cases through pydantic cost about 60 us a call for nothing.
    """
    structured = result.get("structuredContent")
    content = result.get("content") or []
    text = content[0].get("text") if len(content) == 1 and content[0].get("type") == "text" else None
    if not isinstance(structured, dict) or not isinstance(text, str):
        return _serialize("tools/call", version, result)
    shaped = _serialize("tools/call", version,
                        {**result, "structuredContent": {}, "content": [{**content[0], "text": ""}]})
    if "structuredContent" not in shaped or len(shaped.get("content") or []) != 1:
        return _serialize("tools/call", version, result)  # the wire types read it as another result kind
    shaped["structuredContent"] = structured
    shaped["content"][0]["text"] = text
    return shaped


def server_capabilities() -> dict[str, Any]:
    return {"tools": {"listChanged": False}}


def server_info() -> dict[str, Any]:
    return {"name": p.SERVER_NAME, "title": p.SERVER_TITLE, "version": p.SERVER_VERSION}


# --- tools/list and tools/call (shared by both eras) ---------------------------------------------


def list_tools(principal: Principal, params: dict[str, Any] | None) -> dict[str, Any]:
    cursor = (params or {}).get("cursor")
    if cursor is not None:
        # One page holds every tool, so no cursor we could have issued exists.
        raise p.JsonRpcError(p.INVALID_PARAMS, "Invalid cursor: tools/list has a single page; omit cursor.")
    return {"tools": registry.definitions_for(principal)}


def call_tool(
    principal: Principal, params: dict[str, Any], *, request_id: str, ai_summary_enabled: bool
) -> Dispatched:
    name = params["name"]
    arguments = params.get("arguments") or {}
    report = CallReport(tool=str(name)[:64], arguments=arguments)
    started = time.perf_counter()
    tool = registry.get(name)
    if tool is None:
        report.outcome, report.error = "tool_error", f"Unknown tool: {report.tool}"
        return Dispatched(result={}, call=report, error=p.JsonRpcError(p.INVALID_PARAMS, report.error))
    report.endpoint = tool.endpoint
    ctx = ToolContext(principal=principal, request_id=request_id, ai_summary_enabled=ai_summary_enabled)
    report.context = ctx
    try:
        if not tool.read_only and not principal.can_write:
            raise ToolError(
                f"Permission denied: {tool.name} needs a read-write API key and this key is read-only. "
                "Ask for a read-write key, or make the change in the Stellar Cyber UI.",
                outcome="denied",
            )
        key_id = getattr(principal.api_key, "public_id", "")
        wait = retry_after_seconds(key_id, write=not tool.read_only) if key_id else None
        if wait is not None:
            budget = "updates" if not tool.read_only else "tool calls"
            raise ToolError(
                f"Rate limit reached: this API key has used its {budget} for the last minute. "
                f"Retry {tool.name} in {wait} seconds.",
                outcome="rate_limited",
            )
        args = tool.parse_arguments(arguments)
        structured = tool.handler(ctx, args)
        text = to_json_text(structured)
        if json_text_needs_neutralising(text):  # rare: walk the result only when the text shows a need
            structured = neutralise(structured)
            text = to_json_text(structured)
        result = {"content": [{"type": "text", "text": text}], "structuredContent": structured, "isError": False}
    except ToolError as exc:
        report.outcome, report.error = exc.outcome, exc.message
        result = _error_result(exc.message)
    except Conflict as exc:
        report.outcome, report.error = "conflict", exc.message
        result = _error_result(exc.message)
    except BackendError as exc:
        report.outcome, report.error = "tool_error", exc.message
        result = _error_result(exc.message)
    except Exception:
        # A bug or an outage: log the traceback here, tell the client only the request id.
        logger.exception("tool %s failed (request %s)", tool.name, request_id)
        report.outcome, report.error = "server_error", "internal error"
        message = f"Internal error while running {tool.name}; it was logged with request id {request_id}."
        return Dispatched(result={}, call=report, error=p.JsonRpcError(p.INTERNAL_ERROR, message))
    finally:
        report.duration_ms = (time.perf_counter() - started) * 1000
    return Dispatched(result=result, call=report)


def _error_result(message: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": message}], "isError": True}


# --- legacy era (2025-03-26 .. 2025-11-25) --------------------------------------------------------


def dispatch_legacy(
    principal: Principal, method: str, params: dict[str, Any] | None, version: str, *, request_id: str,
    ai_summary_enabled: bool,
) -> Dispatched:
    if method == "initialize":
        _validate_params(method, p.COUNTER_OFFER_VERSION, params)
        requested = params["protocolVersion"]  # type: ignore[index]
        negotiated = requested if requested in p.ECHOED_HANDSHAKE_VERSIONS else p.COUNTER_OFFER_VERSION
        result = {
            "protocolVersion": negotiated,
            "capabilities": server_capabilities(),
            "serverInfo": server_info(),
            "instructions": p.INSTRUCTIONS,
        }
        return Dispatched(_serialize(method, negotiated, result))
    if method == "ping":
        return Dispatched({})
    if method == "tools/list":
        _validate_params(method, version, params)
        return Dispatched(_serialize(method, version, list_tools(principal, params)))
    if method == "tools/call":
        _validate_params(method, version, params)
        done = call_tool(principal, params or {}, request_id=request_id, ai_summary_enabled=ai_summary_enabled)
        if done.error is None:
            done.result = serialize_tool_result(version, done.result)
        return done
    raise p.JsonRpcError(p.METHOD_NOT_FOUND, f"Method not found: {method}")


# --- modern era (2026-07-28) ----------------------------------------------------------------------


def dispatch_modern(
    principal: Principal, method: str, params: dict[str, Any] | None, version: str, *, request_id: str,
    ai_summary_enabled: bool,
) -> Dispatched:
    meta = {p.SERVER_INFO_META_KEY: server_info()}
    if method == "server/discover":
        _validate_params(method, version, params)
        result = {
            "resultType": "complete",
            "supportedVersions": list(p.MODERN_VERSIONS),
            "capabilities": server_capabilities(),
            "serverInfo": server_info(),
            "instructions": p.INSTRUCTIONS,
            "ttlMs": p.DISCOVER_TTL_MS,
            "cacheScope": "public",
            "_meta": meta,
        }
        return Dispatched(_serialize(method, version, result))
    if method == "tools/list":
        _validate_params(method, version, params)
        result = {**list_tools(principal, params), "resultType": "complete", "ttlMs": p.TOOLS_LIST_TTL_MS,
                  "cacheScope": "private", "_meta": meta}
        return Dispatched(_serialize(method, version, result))
    if method == "tools/call":
        _validate_params(method, version, params)
        done = call_tool(principal, params or {}, request_id=request_id, ai_summary_enabled=ai_summary_enabled)
        if done.error is None:
            done.result = serialize_tool_result(version, {**done.result, "resultType": "complete", "_meta": meta})
        return done
    raise p.JsonRpcError(p.METHOD_NOT_FOUND, f"Method not found: {method}", http_status=404)
