"""The workflows as MCP prompts, and completion of their arguments, through the official client on both
protocol eras: listed, got with real case data, audited and scoped like tool calls; completions limited to
what the caller's key may see."""

from __future__ import annotations

import pytest
from mcp.shared.exceptions import MCPError
from mcp.types import PromptReference

from accounts.services import api_key_create
from audit.models import PublicApiAccess
from tests.factories import make_case, make_tenant, make_user
from tests.mcp_helpers import LEGACY, MODERN, RawMcp, with_client

PROMPT_NAMES = ["triage_open_cases", "review_case_before_escalation", "summarize_case_activity",
                "review_case_alerts", "update_case_handling"]
MODES = [("auto", MODERN), ("legacy", LEGACY)]


@pytest.fixture
def world(live_url):
    acme, globex = make_tenant("Acme"), make_tenant("Globex Corp")
    alice = make_user("alice", tenants=[acme])
    make_user("alan", tenants=[acme])
    make_user("gloria", tenants=[globex])
    root = make_user("root", root=True)
    cases = {n: make_case(acme, ticket_id=n, name=f"Acme case {n}", severity="High") for n in (13, 130, 1301, 1399)}
    cases[1300] = make_case(globex, ticket_id=1300, name="Globex secret", severity="Critical")
    cases[2000] = make_case(acme, ticket_id=2000, name="Phishing wave at Acme", severity="Critical")
    return {"url": f"{live_url}/mcp/", "cases": cases, "acme": acme, "globex": globex,
            "alice": api_key_create(user=alice, name="rw")[1],
            "alice_ro": api_key_create(user=alice, name="ro", scope="read")[1],
            "root": api_key_create(user=root, name="root")[1]}


@pytest.mark.parametrize("mode, version", MODES)
def test_the_client_lists_and_gets_every_prompt_on_both_eras(world, mode, version):
    case = world["cases"][2000]

    async def work(client):
        listed = await client.list_prompts()
        got = {}
        for prompt in listed.prompts:
            arguments = {"case": str(case.ticket_id)} if prompt.arguments and prompt.arguments[0].required else {}
            got[prompt.name] = await client.get_prompt(prompt.name, arguments)
        return client.protocol_version, listed, got

    negotiated, listed, got = with_client(world["url"], world["alice"], work, mode=mode)
    assert negotiated == version
    assert [p.name for p in listed.prompts] == PROMPT_NAMES
    assert all(p.description and p.title for p in listed.prompts)
    for name, result in got.items():
        text = result.messages[0].content.text
        assert result.messages[0].role == "user"
        if name != "triage_open_cases":
            assert case.stellar_id in text and "Phishing wave at Acme" in text, name
    assert "listCases" in got["triage_open_cases"].messages[0].content.text
    assert "getAlertDetail" in got["review_case_before_escalation"].messages[0].content.text
    assert "ask me first" in got["summarize_case_activity"].messages[0].content.text
    assert "expected_version" in got["update_case_handling"].messages[0].content.text


def test_triage_fills_in_tenant_severity_and_assignee(world):
    async def work(client):
        return await client.get_prompt("triage_open_cases", {"tenant": "acme", "severity": "critical,high",
                                                             "assignee": "me"})

    text = with_client(world["url"], world["alice"], work).messages[0].content.text
    assert f'cust_id="{world["acme"].cust_id}"' in text and 'severity="Critical,High"' in text
    assert 'assignee="me"' in text and 'status="Open"' in text


@pytest.mark.parametrize("mode, version", MODES)
def test_completions_offer_only_what_the_key_may_see(world, mode, version):
    async def work(client):
        ref = PromptReference(type="ref/prompt", name="review_case_before_escalation")
        triage = PromptReference(type="ref/prompt", name="triage_open_cases")
        return {
            "13": (await client.complete(ref, {"name": "case", "value": "13"})).completion.values,
            "phish": (await client.complete(ref, {"name": "case", "value": "phish"})).completion.values,
            "tenant": (await client.complete(triage, {"name": "tenant", "value": ""})).completion.values,
            "severity": (await client.complete(triage, {"name": "severity", "value": "c"})).completion.values,
            "assignee": (await client.complete(triage, {"name": "assignee", "value": "a"})).completion.values,
            "everyone": (await client.complete(triage, {"name": "assignee", "value": ""})).completion.values,
        }

    seen = with_client(world["url"], world["alice"], work, mode=mode)
    # Ticket numbers starting with 13, in order: not Globex's 1300.
    assert seen["13"] == ["13 Acme case 13", "130 Acme case 130", "1301 Acme case 1301", "1399 Acme case 1399"]
    assert seen["phish"] == ["2000 Phishing wave at Acme"]
    assert seen["tenant"] == ["Acme"]
    assert seen["severity"] == ["Critical"]
    assert seen["assignee"] == ["alan", "alice"]
    assert "gloria" not in seen["everyone"] and {"me", "none", "root"} <= set(seen["everyone"])
    root_sees = with_client(world["url"], world["root"], work, mode=mode)
    assert "1300 Globex secret" in root_sees["13"] and root_sees["tenant"] == ["Acme", "Globex Corp"]


def test_getting_a_prompt_is_audited_and_scoped_like_a_tool_call(world):
    hidden = world["cases"][1300]

    async def work(client):
        await client.get_prompt("summarize_case_activity", {"case": "2000"})
        errors = []
        for case in (str(hidden.ticket_id), hidden.stellar_id, "999999", "0" * 24):
            with pytest.raises(MCPError) as exc:
                await client.get_prompt("summarize_case_activity", {"case": case})
            errors.append(exc.value.error.message)
        with pytest.raises(MCPError) as missing:
            await client.get_prompt("summarize_case_activity", {})
        return errors, missing.value.error.message

    errors, missing = with_client(world["url"], world["alice"], work)
    assert "needs the argument 'case'" in missing
    # Another tenant's case reads exactly like one that does not exist.
    assert errors[0].replace("1300", "<n>") == errors[2].replace("999999", "<n>")
    assert errors[1].replace(hidden.stellar_id, "<id>") == errors[3].replace("0" * 24, "<id>")
    rows = PublicApiAccess.objects.filter(endpoint="prompts/get").order_by("id")
    assert [r.outcome for r in rows] == ["success", "tool_error", "tool_error", "tool_error", "tool_error", "tool_error"]
    assert rows[0].tool == "summarize_case_activity" and rows[0].case_ids == world["cases"][2000].stellar_id
    assert rows[0].tenant_ids == world["acme"].cust_id and rows[0].username == "alice"
    assert not any(hidden.stellar_id in (r.case_ids or "") for r in rows)


def test_read_only_keys_are_not_offered_the_prompt_that_changes_cases(world):
    async def work(client):
        listed = [p.name for p in (await client.list_prompts()).prompts]
        with pytest.raises(MCPError) as exc:
            await client.get_prompt("update_case_handling", {"case": "2000"})
        return listed, exc.value.error.message

    listed, message = with_client(world["url"], world["alice_ro"], work)
    assert listed == [n for n in PROMPT_NAMES if n != "update_case_handling"]
    assert "Unknown prompt" in message


def test_modern_prompts_list_carries_caching_hints_and_capabilities_say_so(world):
    raw = RawMcp(world["url"].removesuffix("/mcp/"), world["alice"])
    result = raw.modern("prompts/list").json()["result"]
    assert result["ttlMs"] > 0 and result["cacheScope"] == "private" and len(result["prompts"]) == 5
    capabilities = raw.modern("server/discover").json()["result"]["capabilities"]
    assert capabilities["prompts"] == {"listChanged": False} and "completions" in capabilities


@pytest.mark.parametrize("params, words", [
    ({"ref": {"type": "ref/resource", "uri": "x://y"}, "argument": {"name": "a", "value": ""}}, "prompt arguments only"),
    ({"ref": {"type": "ref/prompt", "name": "nope"}, "argument": {"name": "case", "value": ""}}, "Unknown prompt"),
    ({"ref": {"type": "ref/prompt", "name": "review_case_alerts"}, "argument": {"name": "x", "value": ""}}, "no argument"),
])
def test_completion_refusals_are_json_rpc_errors(world, params, words):
    raw = RawMcp(world["url"].removesuffix("/mcp/"), world["alice"])
    answer = raw.legacy("completion/complete", params).json()
    assert words in answer["error"]["message"]
