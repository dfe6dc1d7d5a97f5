"""The apps depend on each other one way: every import of every module (function-level ones included,
migrations left out as history) is an edge from its app to the imported one, and the graph has no cycle.
The doors (mcp_gateway, public_api) are imported by no other app."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("stellar_mcp_site", "tenants", "features", "accounts", "oauth", "cases", "audit", "mcp_gateway", "public_api")
DOORS = ("mcp_gateway", "public_api")


def app_imports() -> dict[str, dict[str, str]]:
    """app -> {imported app: the first module that imports it}."""
    edges: dict[str, dict[str, str]] = {app: {} for app in APPS}
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue  # relative imports stay inside the app
                for name in names:
                    target = name.split(".")[0]
                    if target in APPS and target != app:
                        edges[app].setdefault(target, str(path.relative_to(ROOT)))
    return edges


def find_cycle(edges: dict[str, dict[str, str]]) -> list[str] | None:
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(app: str) -> list[str] | None:
        state[app], _ = "open", stack.append(app)
        for target in edges[app]:
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[app], _ = "done", stack.pop()
        return None

    for app in edges:
        if app not in state and (cycle := visit(app)):
            return cycle
    return None


def test_no_import_cycle_between_apps():
    edges = app_imports()
    cycle = find_cycle(edges)
    assert cycle is None, " -> ".join(f"{a} ({edges[a][b]})" for a, b in zip(cycle, cycle[1:])) + f" -> {cycle[-1]}"


def test_no_app_imports_a_door():
    for app, targets in app_imports().items():
        for door in DOORS:
            assert door not in targets or app in DOORS and door == app, f"{targets[door]} imports {door}"


def test_the_check_finds_a_cycle():
    assert find_cycle({"a": {"b": "a.py"}, "b": {"a": "b.py"}} | {app: {} for app in APPS}) is not None
