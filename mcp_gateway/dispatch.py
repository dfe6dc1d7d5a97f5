"""JSON-RPC methods of both protocol eras, in one table over one tool registry.

The transport (views.py) has checked the HTTP envelope, authenticated the caller and chosen the era;
`dispatch` answers one request with a result, or raises JsonRpcError: errors travel one way. A tools/call
is audited here, where its tool is resolved: a tool that changes this server's data runs in one
transaction with its audit row, so a change whose row cannot be written is rolled back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from mcp_types import methods as wire
from pydantic import ValidationError

from accounts.principal import Principal
from audit.budgets import retry_after_seconds
from audit.recorder import AuditUnavailable
from cases.backend import BackendError, Conflict

from . import prompts
from . import protocol as p
from .registry import Tool, ToolContext, ToolError, registry, to_json_text
from .sanitize import json_text_needs_neutralising, neutralise

logger = logging.getLogger("mcp_gateway")

UPSTREAM_CHANGE_NOT_RECORDED = (
    "The change was sent to the Stellar Cyber platform, but this server could not record it in its Activity "
    "Log (audit database busy or unavailable). Check the case with getCaseDetail before retrying."
)


@dataclass
class CallReport:
    """What happened in a tools/call, for the audit row."""

    tool: str
    arguments: dict[str, Any]
    endpoint: str = ""
    writes: bool = False  # the tool changes data: its row is required for it to stand
    outcome: str = "success"
    error: str = ""
    context: ToolContext | None = None
    duration_ms: float = 0.0
    response_bytes: int = 0  # the result's JSON (or the refusal's sentence), as the client receives it


# Writes the audit row of a tools/call answered with this HTTP status; raises AuditUnavailable when the
# row is required and cannot be written (views.py binds it to the request).
Recorder = Callable[[CallReport, int], None]


@dataclass(frozen=True)
class Call:
    """One JSON-RPC request, as a method handler sees it."""

    principal: Principal
    params: dict[str, Any] | None
    version: str
    modern: bool
    request_id: str
    ai_summary_enabled: bool
    record: Recorder


def http_status(error: p.JsonRpcError, *, modern: bool) -> int:
    """The HTTP status an error travels with: its own, or on the modern leg the one its code maps to."""
    return p.MODERN_ERROR_STATUS.get(error.code, error.http_status) if modern and error.http_status == 200 else error.http_status


def dispatch(call: Call, method: str) -> dict[str, Any]:
    handlers = METHODS.get(method)
    handler = handlers and (handlers[1] if call.modern else handlers[0])
    if handler is None:
        raise p.JsonRpcError(p.METHOD_NOT_FOUND, f"Method not found: {method}")
    return handler(call)


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


def server_info() -> dict[str, Any]:
    return {"name": p.SERVER_NAME, "title": p.SERVER_TITLE, "version": p.SERVER_VERSION}


def _modern_meta() -> dict[str, Any]:
    return {p.SERVER_INFO_META_KEY: server_info()}


CAPABILITIES = {"tools": {"listChanged": False}, "prompts": {"listChanged": False}, "completions": {}}


# --- the methods -----------------------------------------------------------------------------------


def _initialize(call: Call) -> dict[str, Any]:
    _validate_params("initialize", p.COUNTER_OFFER_VERSION, call.params)
    requested = call.params["protocolVersion"]  # type: ignore[index]
    negotiated = requested if requested in p.ECHOED_HANDSHAKE_VERSIONS else p.COUNTER_OFFER_VERSION
    return _serialize("initialize", negotiated, {
        "protocolVersion": negotiated, "capabilities": CAPABILITIES, "serverInfo": server_info(),
        "instructions": p.INSTRUCTIONS,
    })


def _ping(call: Call) -> dict[str, Any]:
    return {}


def _discover(call: Call) -> dict[str, Any]:
    _validate_params("server/discover", call.version, call.params)
    return _serialize("server/discover", call.version, {
        "resultType": "complete", "supportedVersions": list(p.MODERN_VERSIONS), "capabilities": CAPABILITIES,
        "serverInfo": server_info(), "instructions": p.INSTRUCTIONS, "ttlMs": p.DISCOVER_TTL_MS,
        "cacheScope": "public", "_meta": _modern_meta(),
    })


def _tools_list(call: Call) -> dict[str, Any]:
    _validate_params("tools/list", call.version, call.params)
    if (call.params or {}).get("cursor") is not None:
        # One page holds every tool, so no cursor we could have issued exists.
        raise p.JsonRpcError(p.INVALID_PARAMS, "Invalid cursor: tools/list has a single page; omit cursor.")
    result: dict[str, Any] = {"tools": registry.definitions_for(call.principal)}
    if call.modern:
        # The list varies with the key (read-only keys do not see updateCase): private to the credential.
        result.update(resultType="complete", ttlMs=p.TOOLS_LIST_TTL_MS, cacheScope="private", _meta=_modern_meta())
    return _serialize("tools/list", call.version, result)


def _tools_call(call: Call) -> dict[str, Any]:
    _validate_params("tools/call", call.version, call.params)
    params = call.params or {}
    report = CallReport(tool=str(params["name"])[:64], arguments=params.get("arguments") or {})
    tool = registry.get(params["name"])
    if tool is None:
        report.outcome, report.error = "tool_error", f"Unknown tool: {report.tool}"
        error = p.JsonRpcError(p.INVALID_PARAMS, report.error)
        call.record(report, http_status(error, modern=call.modern))
        raise error
    report.endpoint, report.writes = tool.endpoint, not tool.read_only
    changes_here = not tool.read_only and settings.STELLAR_BACKEND != "upstream"
    started = time.perf_counter()
    try:
        # Reads run outside any transaction (no lock on SQLite). With the upstream backend a change is
        # made on the remote platform, which no local transaction covers.
        with transaction.atomic() if changes_here else nullcontext():
            result = _run_tool(tool, call, report)
            report.duration_ms = (time.perf_counter() - started) * 1000
            call.record(report, 200)
    except _ToolCrashed:
        # Rolled back; the failure is recorded outside the transaction that was undone.
        report.duration_ms = (time.perf_counter() - started) * 1000
        call.record(report, 200)
        raise p.JsonRpcError(
            p.INTERNAL_ERROR, f"Internal error while running {tool.name}; it was logged with request id {call.request_id}."
        ) from None
    except AuditUnavailable:
        if not tool.read_only and not changes_here:
            raise AuditUnavailable(UPSTREAM_CHANGE_NOT_RECORDED) from None
        raise
    if call.modern:
        result.update(resultType="complete", _meta=_modern_meta())
    return serialize_tool_result(call.version, result)


class _ToolCrashed(Exception):
    """A tool raised something unexpected (a bug or an outage); its report says so."""


def _run_tool(tool: Tool, call: Call, report: CallReport) -> dict[str, Any]:
    """The tool's result (isError for a refusal or a failure the client can act on); fills `report`."""
    principal = call.principal
    ctx = ToolContext(principal=principal, request_id=call.request_id, ai_summary_enabled=call.ai_summary_enabled)
    report.context = ctx
    try:
        if not tool.read_only and not principal.can_write:
            raise ToolError(
                f"Permission denied: {tool.name} needs a read-write API key and this key is read-only. "
                "Ask for a read-write key, or make the change in the Stellar Cyber UI.",
                outcome="denied",
            )
        _check_budget(principal, tool.name, write=not tool.read_only)
        structured = tool.handler(ctx, tool.parse_arguments(report.arguments))
    except (ToolError, Conflict, BackendError) as exc:
        outcome = exc.outcome if isinstance(exc, ToolError) else "conflict" if isinstance(exc, Conflict) else "tool_error"
        report.outcome, report.error = outcome, exc.message
        report.response_bytes = len(exc.message.encode())
        return {"content": [{"type": "text", "text": exc.message}], "isError": True}
    except Exception:
        logger.exception("tool %s failed (request %s)", tool.name, call.request_id)
        report.outcome, report.error = "server_error", "internal error"
        raise _ToolCrashed() from None
    text = to_json_text(structured)
    if json_text_needs_neutralising(text):  # rare: walk the result only when the text shows a need
        structured = neutralise(structured)
        text = to_json_text(structured)
    report.response_bytes = len(text.encode())
    return {"content": [{"type": "text", "text": text}], "structuredContent": structured, "isError": False}


def _check_budget(principal: Principal, what: str, *, write: bool) -> None:
    key_id = getattr(principal.api_key, "public_id", "")
    wait = retry_after_seconds(key_id, write=write) if key_id else None
    if wait is not None:
        budget = "changes (case updates and comments)" if write else "calls"
        raise ToolError(
            f"Rate limit reached: this API key has used its {budget} for the last minute. Retry {what} in {wait} seconds.",
            outcome="rate_limited",
        )


# --- prompts and completion ----------------------------------------------------------------------
def _caching(call: Call, result: dict[str, Any]) -> dict[str, Any]:
    if call.modern:
        # The list varies with the key (read-only keys do not see what changes cases): private to it.
        result.update(resultType="complete", ttlMs=p.TOOLS_LIST_TTL_MS, cacheScope="private", _meta=_modern_meta())
    return result


def _prompts_list(call: Call) -> dict[str, Any]:
    _validate_params("prompts/list", call.version, call.params)
    if (call.params or {}).get("cursor") is not None:
        raise p.JsonRpcError(p.INVALID_PARAMS, "Invalid cursor: prompts/list has a single page; omit cursor.")
    ctx = ToolContext(principal=call.principal, request_id=call.request_id, ai_summary_enabled=call.ai_summary_enabled)
    listed = [prompt.definition() for prompt in prompts.visible_to(ctx)]
    return _serialize("prompts/list", call.version, _caching(call, {"prompts": listed}))


def _audited(call: Call, report: CallReport, run: Callable[[ToolContext], dict[str, Any]]) -> dict[str, Any]:
    """Run a read that is audited like a tool call (prompts/get, completion/complete): within the key's
    budget, one Activity Log row whatever happens; a refusal is a JSON-RPC error saying what to fix."""
    ctx = ToolContext(principal=call.principal, request_id=call.request_id, ai_summary_enabled=call.ai_summary_enabled)
    report.context = ctx
    started = time.perf_counter()
    try:
        _check_budget(call.principal, report.tool, write=False)
        result = run(ctx)
    except (ToolError, BackendError) as exc:
        report.outcome = exc.outcome if isinstance(exc, ToolError) else "tool_error"
        report.error = exc.message
        error = p.JsonRpcError(p.INVALID_PARAMS, exc.message)
    except Exception:
        logger.exception("%s failed (request %s)", report.endpoint, call.request_id)
        report.outcome, report.error = "server_error", "internal error"
        error = p.JsonRpcError(p.INTERNAL_ERROR, f"Internal error; it was logged with request id {call.request_id}.")
    else:
        report.duration_ms = (time.perf_counter() - started) * 1000
        call.record(report, 200)
        return result
    report.duration_ms = (time.perf_counter() - started) * 1000
    call.record(report, http_status(error, modern=call.modern))
    raise error


def _prompts_get(call: Call) -> dict[str, Any]:
    _validate_params("prompts/get", call.version, call.params)
    params = call.params or {}
    name, arguments = str(params["name"]), params.get("arguments") or {}
    report = CallReport(tool=name[:64], arguments=arguments, endpoint="prompts/get")
    result = _audited(call, report, lambda ctx: prompts.get_prompt(ctx, name, arguments))
    if call.modern:
        result.update(resultType="complete", _meta=_modern_meta())
    return _serialize("prompts/get", call.version, result)


def _complete(call: Call) -> dict[str, Any]:
    _validate_params("completion/complete", call.version, call.params)
    params = call.params or {}
    ref, argument = params["ref"], params["argument"]
    if ref.get("type") != "ref/prompt":
        raise p.JsonRpcError(p.INVALID_PARAMS, "This server completes prompt arguments only (ref/prompt).")
    prompt_name, name, value = str(ref.get("name")), str(argument.get("name")), str(argument.get("value") or "")
    report = CallReport(tool=f"{prompt_name}.{name}"[:64], arguments={"value": value}, endpoint="completion/complete")
    values = _audited(call, report, lambda ctx: {"values": prompts.complete(ctx, prompt_name, name, value)})["values"]
    result: dict[str, Any] = {"completion": {"values": values, "total": len(values), "hasMore": False}}
    if call.modern:
        result.update(resultType="complete", _meta=_modern_meta())
    return _serialize("completion/complete", call.version, result)


# method -> (handler on the 2025 handshake era, handler on the 2026-07-28 era); None: not on that era.
METHODS: dict[str, tuple[Callable[[Call], dict[str, Any]] | None, Callable[[Call], dict[str, Any]] | None]] = {
    "initialize": (_initialize, None),
    "ping": (_ping, None),
    "server/discover": (None, _discover),
    "tools/list": (_tools_list, _tools_list),
    "tools/call": (_tools_call, _tools_call),
    "prompts/list": (_prompts_list, _prompts_list),
    "prompts/get": (_prompts_get, _prompts_get),
    "completion/complete": (_complete, _complete),
}
