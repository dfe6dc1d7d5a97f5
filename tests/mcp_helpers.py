"""Driving the server as real clients do: the official `mcp` Python client, and raw JSON-RPC over httpx."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

T = TypeVar("T")
MODERN = "2026-07-28"
LEGACY = "2025-11-25"


def with_client(url: str, token: str, work: Callable[[Client], Awaitable[T]], *, mode: str = "auto") -> T:
    """Connect the official client with `Authorization: Bearer token`, run `work`, disconnect."""

    async def main() -> T:
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30.0) as http:
            async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
                return await work(client)

    return asyncio.run(main())


def call_tool(url: str, token: str, name: str, arguments: dict[str, Any] | None = None, *, mode: str = "auto"):
    """One tool call through the official client; returns its CallToolResult."""

    async def work(client: Client):
        return await client.call_tool(name, arguments or {})

    return with_client(url, token, work, mode=mode)


def structured(result) -> dict[str, Any]:
    """The structured result of a successful call, checked against its JSON text twin."""
    assert not result.is_error, result.content[0].text
    data = result.structured_content
    assert json.loads(result.content[0].text) == data
    return data


def error_text(result) -> str:
    assert result.is_error, "expected an isError result"
    return result.content[0].text


class RawMcp:
    """Hand-made JSON-RPC POSTs for the protocol rules the official client never breaks."""

    def __init__(self, base_url: str, token: str | None) -> None:
        self.url = f"{base_url}/mcp/"
        self.token = token
        self.http = httpx.Client(timeout=30.0)

    def headers(self, extra: dict[str, str] | None = None, *, version: str | None = LEGACY) -> dict[str, str]:
        h = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        if version:
            h["MCP-Protocol-Version"] = version
        h.update(extra or {})
        return h

    def post(self, body: Any, *, headers: dict[str, str] | None = None, version: str | None = LEGACY,
             raw: bytes | None = None) -> httpx.Response:
        content = raw if raw is not None else json.dumps(body).encode()
        return self.http.post(self.url, content=content, headers=self.headers(headers, version=version))

    def modern(self, method: str, params: dict[str, Any] | None = None, *, rpc_id: int = 1,
               headers: dict[str, str] | None = None) -> httpx.Response:
        params = dict(params or {})
        params.setdefault("_meta", {"io.modelcontextprotocol/protocolVersion": MODERN,
                                    "io.modelcontextprotocol/clientCapabilities": {}})
        h = {"Mcp-Method": method}
        if method == "tools/call":
            h["Mcp-Name"] = params.get("name", "")
        h.update(headers or {})
        return self.post({"jsonrpc": "2.0", "id": rpc_id, "method": method, "params": params}, headers=h, version=MODERN)

    def legacy(self, method: str, params: dict[str, Any] | None = None, *, rpc_id: int = 1,
               version: str | None = LEGACY) -> httpx.Response:
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": rpc_id, "method": method}
        if params is not None:
            body["params"] = params
        return self.post(body, version=version)

    def call(self, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        """A legacy tools/call; returns the JSON-RPC result (or error) object."""
        response = self.legacy("tools/call", {"name": name, "arguments": arguments or {}})
        return response.json()


class McpSession:
    """A synchronous handle on one connected official client, for tests that make many calls.

    The client's task groups must be entered and left in one task, so a single task in a background
    event loop owns the connection and serves calls from a queue.
    """

    def __init__(self, url: str, token: str, *, mode: str = "auto") -> None:
        import concurrent.futures
        import threading

        self.url, self.token, self.mode = url, token, mode
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._ready: concurrent.futures.Future = concurrent.futures.Future()
        self._queue: asyncio.Queue | None = None

    async def _serve(self) -> None:
        self._queue = asyncio.Queue()
        try:
            async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {self.token}"}, timeout=30.0) as http:
                async with Client(streamable_http_client(self.url, http_client=http), mode=self.mode) as client:
                    self.protocol_version = client.protocol_version
                    self._ready.set_result(True)
                    while (item := await self._queue.get()) is not None:
                        work, done = item
                        try:
                            done.set_result(await work(client))
                        except BaseException as exc:  # handed to the caller's thread
                            done.set_exception(exc)
        except BaseException as exc:
            if not self._ready.done():
                self._ready.set_exception(exc)
            raise

    def __enter__(self) -> "McpSession":
        self._thread.start()
        self._task = asyncio.run_coroutine_threadsafe(self._serve(), self._loop)
        self._ready.result(timeout=30)
        return self

    def __exit__(self, *exc_info) -> None:
        asyncio.run_coroutine_threadsafe(self._queue.put(None), self._loop).result(timeout=10)
        try:
            self._task.result(timeout=30)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    def run(self, work: Callable[[Client], Awaitable[T]]) -> T:
        import concurrent.futures

        done: concurrent.futures.Future = concurrent.futures.Future()
        asyncio.run_coroutine_threadsafe(self._queue.put((work, done)), self._loop).result(timeout=10)
        return done.result(timeout=60)

    def call(self, name: str, arguments: dict[str, Any] | None = None):
        return self.run(lambda client: client.call_tool(name, arguments or {}))

    def ok(self, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        """Call a tool that must succeed; returns its structured content."""
        return structured(self.call(name, arguments))

    def fails(self, name: str, arguments: dict[str, Any] | None = None) -> str:
        """Call a tool that must report an isError result; returns its message."""
        return error_text(self.call(name, arguments))

    def tool_names(self) -> list[str]:
        return [t.name for t in self.run(lambda client: client.list_tools()).tools]
