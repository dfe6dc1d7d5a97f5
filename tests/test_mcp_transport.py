"""Every status-code rule of the /mcp/ endpoint, table-driven, over real HTTP (gunicorn)."""

from __future__ import annotations

import json

import httpx
import pytest

from accounts.services import api_key_create, api_key_revoke
from features import switches as features
from tests.factories import make_tenant, make_user
from tests.mcp_helpers import LEGACY, MODERN, RawMcp

INIT = {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
META = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}


@pytest.fixture
def key(live_url) -> str:
    user = make_user(tenants=[make_tenant()])
    return api_key_create(user=user, name="transport")[1]


@pytest.fixture
def raw(live_url, key) -> RawMcp:
    return RawMcp(live_url, key)


def assert_sized(response: httpx.Response) -> None:
    """The body is framed by a Content-Length, not chunked (McpEndpointMiddleware sets it: gunicorn
    chunks a body of unknown length, one more write per response and chunk parsing in the client)."""
    assert "transfer-encoding" not in response.headers
    assert int(response.headers["content-length"]) == len(response.content)


def rpc(method: str, params: dict | None = None, rpc_id=1) -> dict:
    body = {"jsonrpc": "2.0", "id": rpc_id, "method": method}
    if params is not None:
        body["params"] = params
    return body


# (name, request kwargs for RawMcp.post, expected HTTP status, expected JSON-RPC error code or None)
LEGACY_CASES = [
    ("initialize without version header", dict(body=rpc("initialize", INIT), version=None), 200, None),
    ("ping", dict(body=rpc("ping")), 200, None),
    ("tools/list", dict(body=rpc("tools/list")), 200, None),
    ("notification", dict(body={"jsonrpc": "2.0", "method": "notifications/initialized"}), 202, None),
    ("cancel notification", dict(body={"jsonrpc": "2.0", "method": "notifications/cancelled",
                                       "params": {"requestId": 9}}), 202, None),
    ("client response", dict(body={"jsonrpc": "2.0", "id": 5, "result": {}}), 202, None),
    ("unknown method", dict(body=rpc("resources/list")), 200, -32601),
    ("not JSON", dict(body=None, raw=b"{nope"), 400, -32700),
    ("bad UTF-8", dict(body=None, raw=b'{"jsonrpc":"2.0","id":1,"method":"\xff\xfe"}'), 400, -32700),
    ("deep nesting", dict(body=None, raw=b"[" * 100_000 + b"]" * 100_000), 400, None),
    ("huge integer", dict(body=None, raw=b'{"jsonrpc":"2.0","id":' + b"9" * 5000 + b',"method":"ping"}'), 400, -32700),
    ("batch array", dict(body=[rpc("ping"), rpc("ping", rpc_id=2)]), 400, -32600),
    ("scalar body", dict(body=42), 400, -32600),
    ("null id", dict(body=rpc("ping", rpc_id=None)), 400, -32600),
    ("boolean id", dict(body=rpc("ping", rpc_id=True)), 400, -32600),
    ("wrong jsonrpc", dict(body={"jsonrpc": "1.0", "id": 1, "method": "ping"}), 400, -32600),
    ("params not an object", dict(body={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": [1]}), 400, -32600),
    ("unsupported version header", dict(body=rpc("tools/list"), version="1999-01-01"), 400, -32600),
    ("unknown tool", dict(body=rpc("tools/call", {"name": "nope", "arguments": {}})), 200, -32602),
    ("tools/call without name", dict(body=rpc("tools/call", {"arguments": {}})), 200, -32602),
    ("tools/list garbage cursor", dict(body=rpc("tools/list", {"cursor": "zzz"})), 200, -32602),
    ("Accept without JSON", dict(body=rpc("ping"), headers={"Accept": "text/html"}), 406, -32600),
    ("Accept SSE only", dict(body=rpc("ping"), headers={"Accept": "text/event-stream"}), 406, -32600),
    ("Accept wildcard", dict(body=rpc("ping"), headers={"Accept": "*/*"}), 200, None),
    ("foreign Origin", dict(body=rpc("ping"), headers={"Origin": "http://evil.example"}), 403, -32600),
    ("loopback Origin", dict(body=rpc("ping"), headers={"Origin": "http://localhost:5173"}), 200, None),
    ("null Origin", dict(body=rpc("ping"), headers={"Origin": "null"}), 403, -32600),
]


@pytest.mark.parametrize("name, kwargs, status, code", LEGACY_CASES, ids=[c[0] for c in LEGACY_CASES])
def test_status_code_rules(raw: RawMcp, name, kwargs, status, code):
    response = raw.post(**kwargs)
    assert response.status_code == status, response.text[:500]
    assert "mcp-session-id" not in response.headers
    assert_sized(response)
    if status == 202:
        assert response.content == b""
        return
    assert response.headers["content-type"].startswith("application/json")
    payload = response.json()
    if code is None and status == 200:
        assert "result" in payload
    elif code is not None:
        assert payload["error"]["code"] == code
        assert payload["jsonrpc"] == "2.0"


MODERN_CASES = [
    ("discover", dict(method="server/discover"), 200, None),
    ("initialize is gone", dict(method="initialize", params=INIT), 404, -32601),
    ("ping is gone", dict(method="ping"), 404, -32601),
    ("logging/setLevel", dict(method="logging/setLevel", params={"level": "info"}), 404, -32601),
    ("unknown method", dict(method="nope/nope"), 404, -32601),
    ("missing _meta", dict(method="tools/list", params={"_meta": None}), 400, -32602),
    ("_meta without capabilities", dict(method="tools/list", params={
        "_meta": {"io.modelcontextprotocol/protocolVersion": MODERN}}), 400, -32602),
    ("Mcp-Method mismatch", dict(method="tools/list", headers={"Mcp-Method": "tools/call"}), 400, -32020),
    ("Mcp-Method missing", dict(method="tools/list", headers={"Mcp-Method": ""}), 400, -32020),
    ("Mcp-Name mismatch", dict(method="tools/call", params={"name": "listTenant", "arguments": {}},
                               headers={"Mcp-Name": "getTenantDetail"}), 400, -32020),
    ("Mcp-Name base64", dict(method="tools/call", params={"name": "listTenant", "arguments": {}},
                             headers={"Mcp-Name": "=?base64?bGlzdFRlbmFudA==?="}), 200, None),
    ("version mismatch header/body", dict(method="tools/list", params={"_meta": {
        **META, "io.modelcontextprotocol/protocolVersion": "2025-11-25"}}), 400, -32020),
]


@pytest.mark.parametrize("name, kwargs, status, code", MODERN_CASES, ids=[c[0] for c in MODERN_CASES])
def test_modern_status_code_rules(raw: RawMcp, name, kwargs, status, code):
    params = kwargs.get("params")
    if params is not None and params.get("_meta", "absent") is None:
        params = {k: v for k, v in params.items() if k != "_meta"}
        body = {"jsonrpc": "2.0", "id": 7, "method": kwargs["method"], "params": params}
        response = raw.post(body, headers={"Mcp-Method": kwargs["method"]}, version=MODERN)
    else:
        response = raw.modern(kwargs["method"], params, rpc_id=7, headers=kwargs.get("headers"))
    assert response.status_code == status, response.text[:500]
    assert_sized(response)
    payload = response.json()
    assert payload["id"] == 7
    if code is None:
        result = payload["result"]
        assert result["resultType"] == "complete"
        assert result["_meta"]["io.modelcontextprotocol/serverInfo"]["version"]
    else:
        assert payload["error"]["code"] == code


def test_modern_unsupported_version_names_supported_and_requested(raw: RawMcp):
    meta = {**META, "io.modelcontextprotocol/protocolVersion": "2099-01-01"}
    body = rpc("tools/list", {"_meta": meta})
    response = raw.post(body, headers={"Mcp-Method": "tools/list"}, version="2099-01-01")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == -32022
    assert error["data"] == {"supported": [MODERN], "requested": "2099-01-01"}


def test_modern_tools_list_carries_caching_hints(raw: RawMcp):
    result = raw.modern("tools/list").json()["result"]
    assert result["ttlMs"] > 0 and result["cacheScope"] == "private"
    # The definitions stay small: names, descriptions and input schemas (what a model is shown to pick and
    # call a tool) under 12 KB, and everything with the output schemas under 28 KB.
    assert len(json.dumps([{k: v for k, v in t.items() if k != "outputSchema"} for t in result["tools"]])) < 12_000
    assert len(json.dumps(result["tools"])) < 28_000


@pytest.mark.parametrize("requested, negotiated", [
    ("2025-11-25", "2025-11-25"), ("2025-06-18", "2025-06-18"), ("2025-03-26", "2025-03-26"),
    ("1999-01-01", "2025-11-25"), ("2024-11-05", "2025-11-25"),
])
@pytest.mark.parametrize("header", [None, "2025-11-25"])
def test_initialize_echoes_or_counter_offers(raw: RawMcp, requested, negotiated, header):
    response = raw.post(rpc("initialize", {**INIT, "protocolVersion": requested}), version=header)
    result = response.json()["result"]
    assert result["protocolVersion"] == negotiated
    assert result["capabilities"]["tools"] == {"listChanged": False}
    assert result["serverInfo"]["name"] == "stellar-cyber-mcp" and result["serverInfo"]["version"]
    assert "untrusted" in result["instructions"] or "never as instructions" in result["instructions"]


@pytest.mark.parametrize("path", ["/mcp/", "/mcp"])
def test_both_paths_answer_without_redirect(live_url, key, path):
    response = httpx.post(f"{live_url}{path}", json=rpc("ping"), headers={"Authorization": f"Bearer {key}"},
                          follow_redirects=False)
    assert response.status_code == 200 and response.json()["result"] == {}


@pytest.mark.parametrize("method", ["GET", "DELETE", "PUT", "PATCH"])
def test_other_methods_are_405_with_allow(live_url, key, method):
    response = httpx.request(method, f"{live_url}/mcp/", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert_sized(response)


@pytest.mark.parametrize("path", ["/mcp/", "/mcp"])
def test_bad_host_is_refused(live_url, key, path):
    # McpEndpointMiddleware skips CommonMiddleware, which used to make this check.
    response = httpx.post(f"{live_url}{path}", json=rpc("ping"),
                          headers={"Authorization": f"Bearer {key}", "Host": "evil.example"})
    assert response.status_code == 400


@pytest.mark.parametrize("path", ["/mcp/", "/mcp"])
def test_mcp_answers_carry_the_security_headers(live_url, key, path):
    # The middleware before the MCP shortcut still runs: SecurityMiddleware, X-Frame-Options, the request log.
    response = httpx.post(f"{live_url}{path}", json=rpc("ping"), headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"
    assert len(response.headers["x-request-id"]) == 32
    # Nothing from the console's middleware: no session or CSRF cookie, no Vary on Cookie.
    assert "set-cookie" not in response.headers
    assert "cookie" not in response.headers.get("vary", "").lower()


def test_oversized_body_is_413(raw: RawMcp):
    big = json.dumps(rpc("ping", {"pad": "x" * (1024 * 1024)})).encode()
    response = raw.post(None, raw=big)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == -32600


@pytest.mark.parametrize("authorization", [
    None, "", "Bearer", "Bearer  x", "Basic dXNlcjpwYXNz", "Bearer sk-stellar-nope",
    "Bearer sk-stellar-" + "a" * 44, "bearer garbage", "Bearer sat-forged.token",
])
def test_missing_or_bad_credentials_get_401_with_challenge(live_url, authorization):
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    response = httpx.post(f"{live_url}/mcp/", json=rpc("initialize", INIT), headers=headers)
    assert response.status_code == 401
    # Where to sign in (RFC 9728), and error="invalid_token" only when a credential was sent.
    challenge = f'Bearer resource_metadata="{live_url}/.well-known/oauth-protected-resource/mcp/", ' \
                'scope="cases:read cases:write"'
    sent = bool(authorization)
    assert response.headers["www-authenticate"] == challenge + (', error="invalid_token"' if sent else "")
    assert_sized(response)
    message = response.json()["error"]["message"]
    assert "Authorization: Bearer" in message
    # Says what to check, not which check failed.
    assert "revoked" in message and "expired" in message


def test_key_in_query_string_is_never_accepted(live_url, key):
    for param in ("access_token", "token", "api_key", "key"):
        response = httpx.post(f"{live_url}/mcp/?{param}={key}", json=rpc("ping"))
        assert response.status_code == 401


def test_revoked_key_is_refused_on_the_next_request(raw: RawMcp, key):
    from accounts.models import ApiKey

    assert raw.post(rpc("ping")).status_code == 200
    api_key_revoke(key=ApiKey.objects.get(), reason="test")
    assert raw.post(rpc("ping")).status_code == 401


def test_feature_switch_turns_the_endpoint_off_and_on(raw: RawMcp):
    features.set_switch(name="mcp", enabled=False)
    response = raw.post(rpc("tools/list"))
    assert response.status_code == 503
    assert "MCP server feature is disabled" in response.json()["error"]["message"]
    features.set_switch(name="mcp", enabled=True)
    assert raw.post(rpc("tools/list")).status_code == 200
