"""The reference for compare_sdk.py: the same three tools served by the official Python SDK.

`mcp.server.mcpserver.MCPServer` (mcp 2.x), stateless, JSON responses, streamable HTTP at /mcp,
served by uvicorn. It exposes listCases, getCaseDetail and listTenant over the same database and the
same data code as the product: on every call it authenticates the bearer of the request's
Authorization header with `accounts.authentication.authenticate_bearer`, parses the arguments with
the product's argument models (`registry.get(name).parse_arguments`) and runs the product's handler
with a `ToolContext`, then neutralises and serialises the result as the product does, so both servers
return the same payload from the same queries.

What it does not do, and the product does on every call: audit row (one INSERT), feature-switch read,
per-key rate limit, Origin/Accept/size checks of its own, request log line. The AI summary switch is
taken as on (the product reads it from the database per request).

Django's ORM is synchronous and its connections are per thread, so all Django work of a call (auth,
parsing, handler) runs in one `sync_to_async(thread_sensitive=True)` hop: in an async server without
an outer async_to_sync, that is one shared thread per process, so the data work of concurrent calls is
serialised within a worker (as it would be under the GIL anyway) and each call pays a thread hand-off.
`REFERENCE_SYNC=threadpool` uses `thread_sensitive=False` instead (a thread pool, one connection per
thread) to see whether that hop matters.

Run by compare_sdk.py as `uvicorn benchmarks.reference_server:app --workers N`; needs DATABASE_URL.
"""

from __future__ import annotations

import inspect
import os
import sys
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stellar_mcp_site.settings")

import django  # noqa: E402

django.setup()

from asgiref.sync import sync_to_async  # noqa: E402
from mcp.server.mcpserver import Context, MCPServer  # noqa: E402
from mcp_types import CallToolResult, TextContent, ToolAnnotations  # noqa: E402

from accounts.authentication import AuthenticationFailed, authenticate_bearer  # noqa: E402
from cases.backend import BackendError  # noqa: E402
from mcp_gateway import protocol as p  # noqa: E402
from mcp_gateway.registry import ToolContext, ToolError, registry, to_json_text  # noqa: E402
from mcp_gateway.sanitize import neutralise  # noqa: E402

TOOLS = ("listCases", "getCaseDetail", "listTenant")
THREAD_SENSITIVE = os.environ.get("REFERENCE_SYNC", "thread_sensitive") != "threadpool"


def _error(message: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)


def _call(name: str, authorization: str | None, client_ip: str | None, arguments: dict[str, Any]) -> CallToolResult:
    """Everything Django: runs in the sync thread."""
    try:
        principal = authenticate_bearer(authorization, client_ip=client_ip)
    except AuthenticationFailed:
        return _error("Authentication failed.")
    tool = registry.get(name)
    ctx = ToolContext(principal=principal, request_id=uuid.uuid4().hex, ai_summary_enabled=True)
    try:
        args = tool.parse_arguments(arguments)
        structured = neutralise(tool.handler(ctx, args))
    except (ToolError, BackendError) as exc:
        return _error(exc.message)
    return CallToolResult(content=[TextContent(type="text", text=to_json_text(structured))],
                          structured_content=structured)


_call_in_thread = sync_to_async(_call, thread_sensitive=THREAD_SENSITIVE)


def _sdk_tool(name: str):
    """An SDK tool function whose signature is the product's argument model, so the SDK publishes and
    checks the same parameters; the product's model then parses them again (normalisation)."""
    tool = registry.get(name)

    async def call(ctx: Context, **arguments: Any) -> CallToolResult:
        request = ctx.request_context.request
        client = getattr(request, "client", None)
        given = {k: v for k, v in arguments.items() if v is not None}
        return await _call_in_thread(name, (ctx.headers or {}).get("authorization"),
                                     client.host if client else None, given)

    params = [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context)]
    for field_name, info in tool.args_model.model_fields.items():
        params.append(inspect.Parameter(field_name, inspect.Parameter.KEYWORD_ONLY, default=info,
                                        annotation=info.annotation))
    call.__signature__ = inspect.Signature(params, return_annotation=CallToolResult)  # type: ignore[attr-defined]
    call.__name__ = name
    return call, tool


def build_server() -> MCPServer:
    server = MCPServer(name="reference-sdk", instructions=p.INSTRUCTIONS)
    for name in TOOLS:
        fn, tool = _sdk_tool(name)
        server.add_tool(fn, name=name, title=tool.title, description=tool.description,
                        annotations=ToolAnnotations(read_only_hint=True, destructive_hint=False,
                                                    idempotent_hint=True, open_world_hint=False))
    return server


app = build_server().streamable_http_app(json_response=True, stateless_http=True)
