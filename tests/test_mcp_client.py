"""The official MCP Python client against gunicorn: both eras, tool listing, access-token round trip."""

from __future__ import annotations

import pytest

from accounts.services import api_key_create
from tests.factories import make_tenant, make_user
from tests.mcp_helpers import LEGACY, MODERN, call_tool, structured, with_client

EXPECTED_TOOLS = [
    "get_access_token", "listCases", "getCaseDetail", "getCaseAlerts", "updateCase", "addCaseComment",
    "getAlertDetail", "listTenant", "getTenantDetail",
]


@pytest.fixture
def key(live_url):
    tenant = make_tenant("Acme")
    user = make_user("analyst", tenants=[tenant])
    _, plaintext = api_key_create(user=user, name="client test")
    return plaintext


@pytest.mark.parametrize("mode, version", [("auto", MODERN), ("legacy", LEGACY)])
def test_official_client_connects_lists_tools_and_exchanges_a_token(live_url, key, mode, version):
    url = f"{live_url}/mcp/"

    async def work(client):
        tools = await client.list_tools()
        token = await client.call_tool("get_access_token", {})
        return client.protocol_version, client.server_info, tools, token

    negotiated, server_info, tools, token_result = with_client(url, key, work, mode=mode)
    assert negotiated == version
    assert server_info.name == "stellar-cyber-mcp" and server_info.version
    assert [t.name for t in tools.tools] == EXPECTED_TOOLS
    token = structured(token_result)
    assert token["token_type"] == "Bearer" and token["expires_in"] == 600 and token["expires_at"]

    # The token works as a bearer on its own.
    again = call_tool(url, token["access_token"], "listTenant", mode=mode)
    assert [t["cust_name"] for t in structured(again)["tenants"]] == ["Acme"]


def test_read_only_key_does_not_see_the_tools_that_change_cases(live_url):
    tenant = make_tenant()
    user = make_user(tenants=[tenant])
    _, plaintext = api_key_create(user=user, name="ro", scope="read")

    async def work(client):
        return await client.list_tools()

    names = [t.name for t in with_client(f"{live_url}/mcp/", plaintext, work).tools]
    assert names == [n for n in EXPECTED_TOOLS if n not in ("updateCase", "addCaseComment")]
