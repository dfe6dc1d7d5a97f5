"""The official MCP conformance suite's authorization-server scenarios (`conformance authorization`): the
metadata endpoint, and the authorization code grant, whose sign-in the suite leaves to a person at a
browser; here the test's browser signs in and follows the redirect to the suite's callback server. And the
official TypeScript SDK's client (pinned with the suite) connecting with the URL alone."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx

from tests.conftest import free_port
from tests.factories import make_tenant, make_user
from tests.oauth_support import CALLBACK, PASSWORD, Browser, register
from tests.test_conformance import SUITE, node_binary


def test_the_authorization_server_passes_the_conformance_suite(live_url, transactional_db):
    assert SUITE.exists(), "conformance suite not installed: run scripts/run_tests.sh (npm ci in tests/conformance)"
    make_user("analyst", tenants=[make_tenant("Acme")], password=PASSWORD)
    port = free_port()
    client_id = register(live_url, redirect_uris=[f"http://127.0.0.1:{port}/callback"]).json()["client_id"]
    suite = subprocess.Popen(
        [node_binary(), str(SUITE), "authorization", "--url", f"{live_url}/", "--client-id", client_id,
         "--resource", f"{live_url}/mcp/", "--port", str(port), "--spec-version", "2025-11-25"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    output = []
    try:
        for line in suite.stdout:
            output.append(line)
            if line.startswith(f"{live_url}/oauth/authorize?"):
                answer = Browser(live_url, "analyst").consent(line.strip())
                assert answer.status_code == 302, answer.text[:300]
                assert httpx.get(answer.headers["location"], timeout=30).status_code == 200
        suite.wait(timeout=120)
    finally:
        suite.kill()
    text = "".join(output)
    assert suite.returncode == 0, text[-3000:]
    assert "authorization-code-grant" in text and "authorization-server-metadata-endpoint" in text


SDK_CLIENT = Path(__file__).resolve().parent / "conformance/sdk_oauth_client.mjs"


def test_the_typescript_sdk_client_needs_a_sign_in_then_connects(live_url, transactional_db):
    """What Claude Code, given the URL without a header, goes through: not a failed connection but one that
    needs authentication (the client registered and holds a sign-in URL); after the sign-in it connects."""
    make_user("analyst", tenants=[make_tenant("Acme")], password=PASSWORD)
    client = subprocess.Popen([node_binary(), str(SDK_CLIENT), f"{live_url}/mcp/", CALLBACK], cwd=SDK_CLIENT.parent,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = json.loads(client.stdout.readline() or "{}")
        assert first.get("needs_authentication") is True, (first, client.stderr.read() if client.poll() else "")
        assert first["client_id"].startswith("mcp_")
        assert first["authorization_url"].startswith(f"{live_url}/oauth/authorize?")
        redirect = Browser(live_url, "analyst").sign_in(first["authorization_url"])
        client.stdin.write(redirect["code"] + "\n")
        client.stdin.flush()
        second = json.loads(client.stdout.readline() or "{}")
        client.wait(timeout=60)
    finally:
        client.kill()
    assert client.returncode == 0, client.stderr.read()[-2000:]
    assert "listCases" in second["tools"] and "updateCase" in second["tools"]
    assert second["token_type"].lower() == "bearer"
