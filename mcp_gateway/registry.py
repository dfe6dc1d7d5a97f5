"""The tool registry: one declaration per tool, from which tools/list and tools/call are both served.

A tool's input schema is generated from the same pydantic model that validates its arguments, so
the schema a client sees and the checks the server runs cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, field_validator

from accounts.principal import Principal

from .jsonwire import dumps_text


class ToolArgs(BaseModel):
    """Base of every tool's argument model: unknown arguments are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold U+0000 (a query with one fails), so no stored value contains it:
        # refuse it here, the same way on every database.
        if _contains_nul(value):
            raise ValueError("must not contain the NUL character (U+0000)")
        return value


def _contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_nul(v) for v in value)
    return False


class ToolError(Exception):
    """A tool execution problem reported to the client as an `isError` result (one actionable sentence).

    `outcome` is what the audit row records: tool_error, denied, conflict or rate_limited.
    """

    def __init__(self, message: str, *, outcome: str = "tool_error") -> None:
        super().__init__(message)
        self.message = message
        self.outcome = outcome


@dataclass
class ToolContext:
    """What a tool handler gets besides its arguments, and what it leaves for the audit row."""

    principal: Principal
    request_id: str
    ai_summary_enabled: bool
    tenant_ids: set[str] = field(default_factory=set)
    case_ids: set[str] = field(default_factory=set)
    alert_ids: set[str] = field(default_factory=set)
    changes: list[dict[str, Any]] | None = None


Handler = Callable[[ToolContext, Any], dict[str, Any]]


@dataclass(frozen=True)
class Tool:
    name: str
    title: str
    description: str
    args_model: type[ToolArgs]
    handler: Handler
    endpoint: str  # the Stellar Cyber Public API call this tool mirrors, for the audit row
    read_only: bool = True
    idempotent: bool = True
    result: Any = None  # the typed dict the handler builds (mcp_gateway/results.py): the outputSchema

    def definition(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "inputSchema": input_schema(self.args_model),
            **({"outputSchema": output_schema(self.result)} if self.result is not None else {}),
            "annotations": {
                "title": self.title,
                "readOnlyHint": self.read_only,
                "destructiveHint": False,
                "idempotentHint": self.idempotent,
                # The tools reach only this server's own case store, a closed world.
                "openWorldHint": False,
            },
        }

    def parse_arguments(self, arguments: dict[str, Any]) -> ToolArgs:
        try:
            return self.args_model.model_validate(arguments)
        except ValidationError as exc:
            raise ToolError(describe_validation_error(self, exc)) from None


def input_schema(model: type[ToolArgs]) -> dict[str, Any]:
    """The JSON Schema of a tool's arguments, compacted so tools/list stays small and readable.

    Pydantic spells an optional argument as `anyOf: [X, {type: null}]` with `default: null`; an
    argument that is simply not required says the same in a third of the bytes. Titles repeat the
    property names and go too.
    """
    return _compact(model.model_json_schema())


def output_schema(result: Any) -> dict[str, Any]:
    """The JSON Schema of a tool's structuredContent, from the typed dict its handler builds, compacted:
    no titles, and `anyOf` of plain types written as one `type` list. Unlike an argument's, a result's
    null is a value the schema must allow, so it stays."""
    return _compact_output(TypeAdapter(result).json_schema())


def _compact_output(node: Any) -> Any:
    if isinstance(node, list):
        return [_compact_output(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _compact_output(v) for k, v in node.items() if not (k == "title" and isinstance(v, str))}
    options = out.get("anyOf")
    if isinstance(options, list) and all(isinstance(o, dict) and set(o) == {"type"} for o in options):
        del out["anyOf"]
        out["type"] = [o["type"] for o in options]
    return out


def _compact(node: Any) -> Any:
    if isinstance(node, list):
        return [_compact(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _compact(v) for k, v in node.items() if not (k == "title" and isinstance(v, str))}
    options = out.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        rest = [o for o in options if o != {"type": "null"}]
        del out["anyOf"]
        if len(rest) == 1 and isinstance(rest[0], dict):
            out = {**rest[0], **out}
        elif rest:
            out["anyOf"] = rest
        if out.get("default", 0) is None:
            del out["default"]
    return out


def describe_validation_error(tool: Tool, exc: ValidationError) -> str:
    """Turn pydantic's errors into one sentence that names the argument and says what to do."""
    allowed = ", ".join(tool.args_model.model_fields)
    parts: list[str] = []
    for err in exc.errors(include_url=False, include_input=False)[:3]:
        loc = ".".join(str(p) for p in err.get("loc", ())) or "arguments"
        kind = err.get("type", "")
        if kind == "extra_forbidden":
            parts.append(f"unknown argument '{_clip(loc)}' (allowed: {allowed})")
        elif kind == "missing":
            parts.append(f"'{loc}' is required")
        else:
            message = err.get("msg", "is invalid")
            # Errors raised by our own validators carry a complete, actionable sentence.
            message = message.removeprefix("Value error, ")
            parts.append(f"'{loc}': {message}")
    return f"Invalid arguments for {tool.name}: " + "; ".join(parts) + "."


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


class Registry:
    def __init__(self) -> None:
        self._tools: dict[str, Tool] = {}

    def register(self, tool: Tool) -> Tool:
        if tool.name in self._tools:
            raise ValueError(f"tool {tool.name} registered twice")
        self._tools[tool.name] = tool
        return tool

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def visible_to(self, principal: Principal) -> list[Tool]:
        """The tools a principal may call, in declaration order (deterministic)."""
        return [t for t in self._tools.values() if t.read_only or principal.can_write]

    def definitions_for(self, principal: Principal) -> list[dict[str, Any]]:
        return [_definition(t) for t in self.visible_to(principal)]


def _definition(tool: Tool) -> dict[str, Any]:
    """A tool's definition, built once per process (its schemas do not change)."""
    if tool.name not in _DEFINITION_CACHE:
        _DEFINITION_CACHE[tool.name] = tool.definition()
    return _DEFINITION_CACHE[tool.name]


_DEFINITION_CACHE: dict[str, dict[str, Any]] = {}

registry = Registry()


def to_json_text(data: Any) -> str:
    """Compact JSON for the text block that mirrors structuredContent."""
    return dumps_text(data)
