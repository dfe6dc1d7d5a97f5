"""Ways past the product's promise that were tried, as an attacker and as a careless operator would, and
are now closed. Each test drives the running server (or the service a page calls) the way the attack did:

- a restricted key whose tenants are all deleted reaches nothing (not every tenant), on both doors;
- a user whose tenants are all deleted reaches nothing;
- keys restricted before the restriction became explicit stay restricted (migration);
- an access token cannot obtain another access token, on either door;
- requests naming a key with a wrong secret do not spend that key's budget;
- the budgets are one per key across /mcp/ and /connect/api/ (429 with Retry-After on REST);
- hostile input gets a 4xx, never a 5xx: a tool name that is a list, numbers no column can hold, a body
  nested 50,000 deep, a search of 1,500 words, a 3 MiB body (and a REST fuzz: test_public_api_fuzz.py);
- a change whose Activity Log row cannot be written is not made, and a read is not answered
  (unless AUDIT_READS_FAIL_OPEN), on both doors: test_audit_fail_closed.py;
- requests without a credential count against their address, and their large bodies are not parsed;
- a valid key passes from an address blocked for other requests' failures; a proxy that is not trusted
  is named in the log;
- the AI summary switch holds on every path that carries one, on both doors;
- invisible characters (tag characters, soft hyphen, invisible operators, variation selectors, ...)
  are made visible before a model reads them;
- `migrate` alone makes a working database (the cache table included);
- only a superuser issues or rotates a key for someone else, never one reaching beyond their own
  tenants, and the rotation grace period is bounded: test_security_issuance.py;
- X-On-Behalf-Of names only a user who may access the case's tenant: test_security_issuance.py.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from accounts.authentication import authenticate_bearer
from accounts.models import ApiKey
from accounts.services import api_key_create
from audit.models import PublicApiAccess
from cases.models import Case
from features import switches
from mcp_gateway.sanitize import neutralise
from stellar_mcp_site.request_meta import client_ip
from tenants.models import Tenant
from tenants.scope import TenantScope
from tests.conftest import ROOT
from tests.factories import make_alert, make_case, make_comment, make_tenant, make_user
from tests.mcp_helpers import McpSession, RawMcp

MONTH_MS = 30 * 24 * 3600 * 1000


def rest(url: str, credential: str, method: str = "GET", path: str = "/v1/tenants", **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {credential}", **kwargs.pop("headers", {})}
    return httpx.request(method, f"{url}/connect/api{path}", headers=headers, timeout=30, **kwargs)


# --- tenant restrictions fail closed ---------------------------------------------------------------


def test_a_restricted_key_whose_tenants_are_deleted_reaches_nothing(live_url):
    acme, doomed = make_tenant("Acme"), make_tenant("Doomed")
    case = make_case(acme, name="Acme beacon", tags=["beacon"])
    alert = make_alert(case)
    root = make_user("root", root=True)
    key = api_key_create(user=root, name="doomed only", tenant_ids=[doomed.cust_id])[1]
    Tenant.objects.filter(pk=doomed.pk).delete()  # what the admin's delete does

    with McpSession(f"{live_url}/mcp/", key) as mcp:
        assert mcp.ok("listTenant")["tenants"] == []
        now = case.created_at.timestamp() * 1000
        listed = mcp.ok("listCases", {"search": "beacon", "created_at_from": int(now) - MONTH_MS,
                                      "created_at_to": int(now) + 60_000})
        assert listed["total"] == 0 and listed["cases"] == []
        for tool, arguments in (
            ("getCaseDetail", {"_id": case.stellar_id}), ("getCaseDetail", {"ticket_id": case.ticket_id}),
            ("getCaseAlerts", {"_id": case.stellar_id}), ("getAlertDetail", {"alert_id": alert.stellar_uuid}),
            ("getTenantDetail", {"cust_id": acme.cust_id}),
            ("updateCase", {"_id": case.stellar_id, "severity": "Low"}),
        ):
            assert "visible to this key" in mcp.fails(tool, arguments), tool
        token = mcp.ok("get_access_token")["access_token"]
    with McpSession(f"{live_url}/mcp/", token) as via_token:
        assert via_token.ok("listTenant")["tenants"] == []
    assert rest(live_url, key).json() == {"data": []}
    assert rest(live_url, key, path="/v1/cases").json()["data"]["total"] == 0
    assert rest(live_url, key, path=f"/v1/cases/{case.stellar_id}").status_code == 404
    assert Case.objects.get(pk=case.pk).severity == "Medium"


@pytest.mark.django_db
def test_a_user_whose_tenants_are_deleted_reaches_nothing():
    doomed = make_tenant("Doomed")
    make_tenant("Other")
    user = make_user("ana", tenants=[doomed])
    _, key = api_key_create(user=user, name="k")
    Tenant.objects.filter(pk=doomed.pk).delete()
    assert authenticate_bearer(f"Bearer {key}", client_ip="192.0.2.1").tenants == TenantScope(all_tenants=False)


@pytest.mark.django_db(transaction=True)
def test_keys_restricted_before_the_flag_existed_stay_restricted():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before, after = [("accounts", "0002_apikey_grace_until")], [("accounts", "0003_apikey_restricted")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        apps = executor.loader.project_state(before).apps
        Tenant_, User = apps.get_model("cases", "Tenant"), apps.get_model("auth", "User")
        Key = apps.get_model("accounts", "ApiKey")
        tenant = Tenant_.objects.create(cust_name="T", created_at="2026-01-01T00:00:00Z")
        owner = User.objects.create(username="old")
        limited = Key.objects.create(public_id="a" * 12, digest="0" * 64, name="limited", user=owner)
        limited.tenants.set([tenant])
        Key.objects.create(public_id="b" * 12, digest="0" * 64, name="open", user=owner)
        executor = MigrationExecutor(connection)
        executor.migrate(after)
        flags = dict(ApiKey.objects.values_list("name", "restricted"))
        assert flags == {"limited": True, "open": False}
    finally:
        MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())


# --- credentials ---------------------------------------------------------------------------------------


def test_an_access_token_cannot_obtain_another(live_url):
    user = make_user("ana", tenants=[make_tenant()])
    _, key = api_key_create(user=user, name="k")
    with McpSession(f"{live_url}/mcp/", key) as mcp:
        token = mcp.ok("get_access_token")["access_token"]
    with McpSession(f"{live_url}/mcp/", token) as via_token:
        assert "needs the API key itself" in via_token.fails("get_access_token")
    assert rest(live_url, token, "POST", "/v1/access_token").status_code == 401
    outcomes = list(PublicApiAccess.objects.order_by("id").values_list("source", "outcome"))
    assert outcomes[-2:] == [("MCP", "denied"), ("REST", "unauthenticated")]


@pytest.fixture
def budget_server(start_server):
    return start_server(MCP_CALLS_PER_MINUTE=6, MCP_WRITE_CALLS_PER_MINUTE=2)


def test_wrong_secrets_naming_a_key_do_not_spend_its_budget(budget_server):
    tenant = make_tenant()
    case = make_case(tenant)
    _, key = api_key_create(user=make_user("ana", tenants=[tenant]), name="k")
    forged = key[:-6] + "Forged"
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "updateCase", "arguments": {"_id": case.stellar_id, "severity": "Low"}}}
    statuses = []
    for address in ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"):  # 20 failures each: the most an address gets
        with httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30) as http:
            for _ in range(20):
                statuses.append(http.post(f"{budget_server.url}/mcp/", json=body,
                                          headers={"Authorization": f"Bearer {forged}"}).status_code)
    assert set(statuses) == {401}
    raw = RawMcp(budget_server.url, key)
    for severity in ("Low", "High"):
        assert not raw.call("updateCase", {"_id": case.stellar_id, "severity": severity})["result"]["isError"]


def test_the_budget_is_one_per_key_across_both_doors(budget_server):
    tenant = make_tenant()
    case = make_case(tenant)
    _, key = api_key_create(user=make_user("ana", tenants=[tenant]), name="k")
    raw = RawMcp(budget_server.url, key)
    assert not raw.call("updateCase", {"_id": case.stellar_id, "severity": "Low"})["result"]["isError"]
    assert rest(budget_server.url, key, "PUT", f"/v1/cases/{case.stellar_id}", json={"severity": "High"}).status_code == 200
    # Both updates spent the write budget of 2, whichever door they came through.
    refused = rest(budget_server.url, key, "PUT", f"/v1/cases/{case.stellar_id}", json={"severity": "Critical"})
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.json()["error"] == "rate_limited"
    assert raw.call("updateCase", {"_id": case.stellar_id, "severity": "Critical"})["result"]["isError"]
    # Reads: 6 a minute, the 2 updates included (the refusals are not counted).
    assert [rest(budget_server.url, key).status_code for _ in range(5)] == [200, 200, 200, 200, 429]
    assert "Rate limit reached" in raw.call("listTenant")["result"]["content"][0]["text"]
    assert Case.objects.get(pk=case.pk).severity == "High"


# --- hostile input --------------------------------------------------------------------------------------


@pytest.fixture
def target(live_url):
    tenant = make_tenant()
    case = make_case(tenant)
    _, key = api_key_create(user=make_user("root", root=True), name="k")
    return live_url, key, case


def test_a_tool_name_that_is_not_a_string_is_a_client_error(target):
    url, key, _ = target
    raw = RawMcp(url, key)
    for name in (["x"], {"a": 1}, 7, None):
        legacy = raw.legacy("tools/call", {"name": name, "arguments": {}})
        assert legacy.status_code == 200 and legacy.json()["error"]["code"] == -32602, legacy.text
        modern = raw.modern("tools/call", {"name": name, "arguments": {}}, headers={"Mcp-Name": "x"})
        assert modern.status_code == 400, modern.text


@pytest.mark.parametrize("query", [
    "FROM~created_at=99999999999999999999", "TO~modified_at=-1", "ticket_id=99999999999999999999",
    "ticket_id=2147483648", "skip=99999999999999999999", "FROM~ticket_id=99999999999", "FROM~score=1e999",
    "search=" + "+".join("abcdefghijk"), "tags=" + ",".join(f"t{i}" for i in range(60)), "name=" + "x" * 201,
])
def test_numbers_and_texts_out_of_bounds_are_refused_on_rest(target, query):
    url, key, _ = target
    response = rest(url, key, path=f"/v1/cases?{query}")
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid_parameter"


def test_a_search_of_1500_words_is_refused_at_once(target):
    url, key, _ = target
    response = rest(url, key, path="/v1/cases", params={"search": " ".join("abcdefghijklmnopqrstuvwxyz"[i % 26] for i in range(1500))})
    assert response.status_code == 422 and "search" in response.json()["message"]
    assert response.elapsed.total_seconds() < 5


def test_listcases_tags_and_search_are_bounded_on_mcp(target):
    url, key, _ = target
    with McpSession(f"{url}/mcp/", key) as mcp:
        assert "tags" in mcp.fails("listCases", {"tags": [f"t{i}" for i in range(60)]})
        assert "words" in mcp.fails("listCases", {"search": " ".join("abcdefghijk")})


def test_deep_and_huge_bodies_are_client_errors_on_rest(target):
    url, key, case = target
    deep = "[" * 50_000 + "]" * 50_000
    response = rest(url, key, "PUT", f"/v1/cases/{case.stellar_id}", content=deep,
                    headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    huge = json.dumps({"severity": "Low", "resolution_note": "x" * (3 * 1024 * 1024)})
    response = rest(url, key, "PUT", f"/v1/cases/{case.stellar_id}", content=huge,
                    headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and "limit is 1048576 bytes" in response.json()["message"]
    assert Case.objects.get(pk=case.pk).version == 1


# --- unauthenticated floods and blocked addresses --------------------------------------------------


def test_requests_without_a_credential_count_and_their_big_bodies_are_not_parsed(live_url):
    mcp = RawMcp(live_url, None)
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "listCases", "arguments": {"search": "x" * 400_000}}}
    first = mcp.post(call)
    assert first.status_code == 401
    row = PublicApiAccess.objects.get()
    assert (row.tool, row.outcome) == ("", "unauthenticated")
    assert row.arguments["body_bytes"] > 400_000
    statuses = [mcp.legacy("tools/list").status_code for _ in range(20)]
    assert statuses[:19] == [401] * 19 and statuses[19] == 429
    assert httpx.get(f"{live_url}/connect/api/v1/tenants").status_code == 429  # the REST door: the same address


def test_a_valid_key_passes_from_a_blocked_address(live_url):
    tenant = make_tenant()
    _, key = api_key_create(user=make_user("ana", tenants=[tenant]), name="k")
    wrong = RawMcp(live_url, key[:-4] + "Nope")
    statuses = [wrong.legacy("tools/list").status_code for _ in range(21)]
    assert statuses[-1] == 429
    assert RawMcp(live_url, key).legacy("tools/list").status_code == 200
    assert rest(live_url, key).status_code == 200
    assert rest(live_url, key[:-4] + "Nope").status_code == 429


@pytest.mark.django_db
def test_a_proxy_that_is_not_trusted_is_named_in_the_log(rf, caplog, monkeypatch):
    from stellar_mcp_site import request_meta

    for meta in ({"HTTP_X_FORWARDED_FOR": "198.51.100.7"}, {"REMOTE_ADDR": ""}):
        monkeypatch.setattr(request_meta, "_warned_about_proxy", False)
        with caplog.at_level(logging.WARNING, logger="request"):
            caplog.clear()
            client_ip(rf.get("/mcp/", **meta))
            client_ip(rf.get("/mcp/", **meta))
        warnings = [r for r in caplog.records if "TRUSTED_PROXY_HOPS is 0" in r.getMessage()]
        assert len(warnings) == 1, meta


# --- the AI summary switch on every door -----------------------------------------------------------------


AI = {"verdict": "malicious"}


def _ai_summaries(url: str, key: str, case: Case, alert) -> dict[str, object]:
    """Each path that can carry an AI summary, and what it carried."""
    with McpSession(f"{url}/mcp/", key) as mcp:
        detail = mcp.ok("getCaseDetail", {"_id": case.stellar_id, "include": ["aiSummary"]})
        alert_detail = mcp.ok("getAlertDetail", {"alert_id": alert.stellar_uuid})
    hits = rest(url, key, path="/data/aella-ser-*/_search", params={"q": f'stellar_uuid:"{alert.stellar_uuid}"'})
    return {
        "MCP getCaseDetail aiSummary": detail.get("aiSummary"),
        "MCP getAlertDetail ai_summary": alert_detail.get("ai_summary"),
        "REST /cases/{id}/ai_summary": rest(url, key, path=f"/v1/cases/{case.stellar_id}/ai_summary").json()["data"],
        "REST _search hits ext.ai_summary": hits.json()["hits"]["hits"][0]["ext"]["ai_summary"],
    }


def test_the_ai_summary_switch_holds_on_every_path(live_url):
    tenant = make_tenant()
    case = make_case(tenant, ai_summary=AI)
    alert = make_alert(case, ai_summary=AI)
    _, key = api_key_create(user=make_user("ana", tenants=[tenant]), name="k")
    assert set(map(json.dumps, _ai_summaries(live_url, key, case, alert).values())) == {json.dumps(AI)}
    switches.set_switch(name="ai_summary", enabled=False)
    assert _ai_summaries(live_url, key, case, alert) == dict.fromkeys(
        ["MCP getCaseDetail aiSummary", "MCP getAlertDetail ai_summary", "REST /cases/{id}/ai_summary",
         "REST _search hits ext.ai_summary"])


# --- invisible text ------------------------------------------------------------------------------------


HIDDEN = {
    "tag characters": "\U000e0049\U000e0067\U000e006e\U000e006f\U000e0072\U000e0065",  # "Ignore" in tags
    "soft hyphen": "\u00ad", "invisible operators": "\u2061\u2062\u2063\u2064", "Mongolian vowel separator": "\u180e",
    "variation selectors": "\ufe0f\U000e0100", "Hangul filler": "\u3164", "word joiner": "\u2060",
}


@pytest.mark.parametrize("kind", HIDDEN)
def test_invisible_characters_are_made_visible(kind):
    shown = neutralise({"comment": f"ok{HIDDEN[kind]}done"})["comment"]
    assert shown.startswith("ok<U+") and shown.endswith(">done") and shown.isascii()


def test_a_tag_hiding_instructions_reaches_the_model_visible(live_url):
    tenant = make_tenant()
    case = make_case(tenant, tags=["benign" + HIDDEN["tag characters"]])
    make_comment(case, "fine" + HIDDEN["soft hyphen"] + HIDDEN["invisible operators"])
    _, key = api_key_create(user=make_user("ana", tenants=[tenant]), name="k")
    with McpSession(f"{live_url}/mcp/", key) as mcp:
        detail = mcp.ok("getCaseDetail", {"_id": case.stellar_id, "include": ["case", "comments"]})
    assert detail["case"]["tags"] == ["benign<U+E0049><U+E0067><U+E006E><U+E006F><U+E0072><U+E0065>"]
    assert detail["comments"][0]["comment"] == "fine<U+00AD><U+2061><U+2062><U+2063><U+2064>"


# --- deployment ----------------------------------------------------------------------------------------


def test_migrate_alone_makes_a_working_database(tmp_path: Path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}", "DJANGO_SECRET_KEY": "x" * 50}
    env.pop("AUDIT_DATABASE_URL", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=ROOT, timeout=300)
    check = ("from django.core.cache import cache; from accounts.authentication import authenticate_bearer as a\n"
             "try: a('Bearer sk-stellar-nope', client_ip='192.0.2.1')\nexcept Exception as e: print(type(e).__name__)")
    out = subprocess.run([*manage, "shell", "-c", check], env=env, check=True, cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "AuthenticationFailed", out.stderr
