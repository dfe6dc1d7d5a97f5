"""The permission matrix: every tool, for each kind of caller, reaches exactly what it may.

Callers: a root key, a tenant-limited key (root user, key restricted to Acme), a tenant-limited user
(Acme only), a read-only key, the same two limits as OAuth grants (an app the user signed in to), a
revoked key or grant, an expired access token and a grant's token made for another resource. Prompts and
their completions are held to the same tenants as the tools. Globex's data must not be
reachable by _id, ticket_id, alert id, search text or cursor by anyone limited to Acme, and every
miss reads exactly like a real one.
"""

from __future__ import annotations

import time

import pytest

from accounts.models import ApiKey
from accounts.services import api_key_create, api_key_revoke
from accounts.tokens import access_token_encode
from audit.models import PublicApiAccess
from cases.models import Case, Comment
from tests.factories import make_alert, make_case, make_tenant, make_user
from tests.mcp_helpers import McpSession, RawMcp
from tests.oauth_support import grant_token

ALL_TOOLS = ["get_access_token", "listCases", "getCaseDetail", "getCaseAlerts", "updateCase", "addCaseComment",
             "getAlertDetail",
             "listTenant", "getTenantDetail"]
MISSING_CASE = "0123456789abcdef01234567"
MISSING_TENANT = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def world(live_url):
    acme, globex = make_tenant("Acme"), make_tenant("Globex")
    root = make_user("root", root=True)
    analyst = make_user("analyst", tenants=[acme])
    make_user("globex-analyst", tenants=[globex])
    acme_case = make_case(acme, name="Acme beacon", tags=["beacon"])
    globex_case = make_case(globex, name="Globex beacon secretproject", tags=["beacon"])
    acme_alert, globex_alert = make_alert(acme_case), make_alert(globex_case)
    keys = {
        "root key": api_key_create(user=root, name="root")[1],
        "tenant-limited key": api_key_create(user=root, name="acme only", tenant_ids=[acme.cust_id])[1],
        "tenant-limited user": api_key_create(user=analyst, name="analyst")[1],
        "read-only key": api_key_create(user=analyst, name="ro", scope="read")[1],
        "tenant-limited grant": grant_token(live_url, root, tenant_ids=[acme.cust_id]),
        "read-only grant": grant_token(live_url, analyst, scope="read"),
    }
    return {"acme": acme, "globex": globex, "acme_case": acme_case, "globex_case": globex_case,
            "acme_alert": acme_alert, "globex_alert": globex_alert, "keys": keys, "url": live_url}


LIMITED = ["tenant-limited key", "tenant-limited user", "read-only key", "tenant-limited grant", "read-only grant"]
READ_ONLY = ["read-only key", "read-only grant"]


@pytest.mark.parametrize("who", ["root key", *LIMITED])
def test_listing_tools_show_exactly_the_allowed_tenants(world, who):
    acme, globex = world["acme"], world["globex"]
    sees_globex = who == "root key"
    with McpSession(f"{world['url']}/mcp/", world["keys"][who]) as mcp:
        names = mcp.tool_names()
        assert ("updateCase" in names) == ("addCaseComment" in names) == (who not in READ_ONLY)
        assert len(names) == len(ALL_TOOLS) - 2 * (who in READ_ONLY)

        tenants = {t["cust_name"] for t in mcp.ok("listTenant")["tenants"]}
        assert tenants == ({"Acme", "Globex"} if sees_globex else {"Acme"})

        listed = {c["ticket_id"] for c in mcp.ok("listCases", {"search": "beacon"})["cases"]}
        assert (world["globex_case"].ticket_id in listed) == sees_globex
        assert world["acme_case"].ticket_id in listed
        assert bool(mcp.ok("listCases", {"search": "secretproject"})["cases"]) == sees_globex
        assert bool(mcp.ok("listCases", {"cust_id": globex.cust_id})["cases"]) == sees_globex
        assert mcp.ok("listCases", {"cust_id": acme.cust_id})["total"] == 1

        if "grant" in who:  # an app's token is already a short-lived access token; it cannot make another
            assert "access token" in mcp.fails("get_access_token")
            return
        token = mcp.ok("get_access_token")
        assert token["expires_in"] == 600
    # The access token carries the same limits as its key.
    with McpSession(f"{world['url']}/mcp/", token["access_token"]) as via_token:
        tenants = {t["cust_name"] for t in via_token.ok("listTenant")["tenants"]}
        assert tenants == ({"Acme", "Globex"} if sees_globex else {"Acme"})


@pytest.mark.parametrize("who", LIMITED)
def test_another_tenants_objects_read_exactly_like_misses(world, who):
    g_case, g_alert, globex = world["globex_case"], world["globex_alert"], world["globex"]
    with McpSession(f"{world['url']}/mcp/", world["keys"][who]) as mcp:
        probes = [
            ("getCaseDetail", {"_id": g_case.stellar_id}, {"_id": MISSING_CASE}, g_case.stellar_id, MISSING_CASE),
            ("getCaseDetail", {"ticket_id": g_case.ticket_id}, {"ticket_id": 999_999}, str(g_case.ticket_id), "999999"),
            ("getCaseAlerts", {"_id": g_case.stellar_id}, {"_id": MISSING_CASE}, g_case.stellar_id, MISSING_CASE),
            ("getAlertDetail", {"alert_id": g_alert.stellar_uuid}, {"alert_id": "f" * 32}, g_alert.stellar_uuid, "f" * 32),
            ("getAlertDetail", {"alert_id": g_alert.es_id}, {"alert_id": "x" * 20}, g_alert.es_id, "x" * 20),
            ("getTenantDetail", {"cust_id": globex.cust_id}, {"cust_id": MISSING_TENANT}, globex.cust_id, MISSING_TENANT),
        ]
        if who not in READ_ONLY:
            probes.append(("updateCase", {"_id": g_case.stellar_id, "status": "Resolved", "resolution": "Benign"},
                           {"_id": MISSING_CASE, "status": "Resolved", "resolution": "Benign"},
                           g_case.stellar_id, MISSING_CASE))
            probes.append(("addCaseComment", {"_id": g_case.stellar_id, "comment": "probe"},
                           {"_id": MISSING_CASE, "comment": "probe"}, g_case.stellar_id, MISSING_CASE))
        for tool, hidden_args, missing_args, hidden_id, missing_id in probes:
            hidden = mcp.fails(tool, hidden_args)
            missing = mcp.fails(tool, missing_args)
            assert hidden.replace(hidden_id, "<id>") == missing.replace(missing_id, "<id>"), (tool, hidden, missing)
    row = Case.objects.get(pk=g_case.pk)
    assert row.status == "New" and row.version == 1


@pytest.mark.parametrize("who", LIMITED)
def test_a_cursor_from_a_wider_scope_is_refused(world, who):
    with McpSession(f"{world['url']}/mcp/", world["keys"]["root key"]) as root:
        cursor = root.ok("listCases", {"limit": 1})["next_cursor"]
    with McpSession(f"{world['url']}/mcp/", world["keys"][who]) as mcp:
        assert "cursor is invalid" in mcp.fails("listCases", {"limit": 1, "cursor": cursor})


@pytest.mark.parametrize("who", READ_ONLY)
def test_read_only_key_can_read_everything_but_is_refused_updates(world, who):
    case = world["acme_case"]
    with McpSession(f"{world['url']}/mcp/", world["keys"][who]) as mcp:
        mcp.ok("getCaseDetail", {"_id": case.stellar_id})
        mcp.ok("getCaseAlerts", {"_id": case.stellar_id})
        mcp.ok("getAlertDetail", {"alert_id": world["acme_alert"].stellar_uuid})
        mcp.ok("getTenantDetail", {"cust_id": world["acme"].cust_id})
        message = mcp.fails("updateCase", {"_id": case.stellar_id, "status": "Resolved", "resolution": "Benign"})
        assert "read-only" in message and "read-write" in message
        assert "read-only" in mcp.fails("addCaseComment", {"_id": case.stellar_id, "comment": "noted"})
    assert Case.objects.get(pk=case.pk).status == "New"


def test_root_key_reaches_and_updates_any_tenant(world):
    g_case = world["globex_case"]
    with McpSession(f"{world['url']}/mcp/", world["keys"]["root key"]) as mcp:
        mcp.ok("getCaseDetail", {"_id": g_case.stellar_id})
        mcp.ok("getAlertDetail", {"alert_id": world["globex_alert"].stellar_uuid})
        mcp.ok("updateCase", {"_id": g_case.stellar_id, "severity": "High"})
    assert Case.objects.get(pk=g_case.pk).severity == "High"


def _tool_arguments(world) -> dict[str, dict]:
    case = world["acme_case"]
    return {
        "get_access_token": {}, "listCases": {}, "getCaseDetail": {"_id": case.stellar_id},
        "getCaseAlerts": {"_id": case.stellar_id}, "updateCase": {"_id": case.stellar_id, "severity": "Low"},
        "addCaseComment": {"_id": case.stellar_id, "comment": "noted"},
        "getAlertDetail": {"alert_id": world["acme_alert"].stellar_uuid}, "listTenant": {},
        "getTenantDetail": {"cust_id": world["acme"].cust_id},
    }


@pytest.mark.parametrize("credential", ["revoked key", "expired token", "token of revoked key", "revoked grant",
                                        "grant token for another resource"])
def test_dead_credentials_are_refused_for_every_tool(world, credential):
    key = world["keys"]["tenant-limited user"]
    row = ApiKey.objects.get(name="analyst")
    if credential == "revoked grant":
        bearer = world["keys"]["read-only grant"]
        api_key_revoke(key=ApiKey.objects.get(kind="oauth", user__username="analyst"), reason="matrix")
    elif credential == "grant token for another resource":
        bearer = grant_token(world["url"], row.user, audience="https://other.example/mcp/")
    elif credential == "expired token":
        bearer = access_token_encode(row.public_id, int(time.time()) - 1)
    elif credential == "token of revoked key":
        with McpSession(f"{world['url']}/mcp/", key) as mcp:
            bearer = mcp.ok("get_access_token")["access_token"]
        api_key_revoke(key=row, reason="matrix")
    else:
        api_key_revoke(key=row, reason="matrix")
        bearer = key
    raw = RawMcp(world["url"], bearer)
    for tool, arguments in _tool_arguments(world).items():
        response = raw.legacy("tools/call", {"name": tool, "arguments": arguments})
        assert response.status_code == 401, (tool, response.text)
        assert response.headers["www-authenticate"].endswith('error="invalid_token"')
    assert Case.objects.get(pk=world["acme_case"].pk).severity == "Medium"
    assert not Comment.objects.exists()


@pytest.mark.parametrize("who", LIMITED)
def test_prompts_and_completions_never_reach_another_tenant(world, who):
    g_case = world["globex_case"]
    raw = RawMcp(world["url"], world["keys"][who])

    def prompt_error(case: str) -> str:
        answer = raw.legacy("prompts/get", {"name": "review_case_alerts", "arguments": {"case": case}}).json()
        return answer["error"]["message"]

    hidden = prompt_error(str(g_case.ticket_id)).replace(str(g_case.ticket_id), "<n>")
    assert hidden == prompt_error("999999").replace("999999", "<n>")
    assert prompt_error(g_case.stellar_id).replace(g_case.stellar_id, "<id>") == \
        prompt_error(MISSING_CASE).replace(MISSING_CASE, "<id>")

    def completed(prompt: str, argument: str, value: str) -> list[str]:
        params = {"ref": {"type": "ref/prompt", "name": prompt}, "argument": {"name": argument, "value": value}}
        return raw.legacy("completion/complete", params).json()["result"]["completion"]["values"]

    tickets = completed("review_case_alerts", "case", "")
    assert tickets == [f"{world['acme_case'].ticket_id} Acme beacon"]
    assert completed("review_case_alerts", "case", str(g_case.ticket_id)) == []
    assert completed("review_case_alerts", "case", "secretproject") == []
    assert completed("triage_open_cases", "tenant", "") == ["Acme"]
    assert "globex-analyst" not in completed("triage_open_cases", "assignee", "")
    assert "analyst" in completed("triage_open_cases", "assignee", "an")
    rows = PublicApiAccess.objects.filter(endpoint__in=["prompts/get", "completion/complete"])
    assert rows.count() == 4 + 6 and not rows.filter(case_ids__contains=g_case.stellar_id).exists()
