"""addCaseComment over the official client (on both backends): the comment and its activity appear at
once, it is bounded, neutralised on the way out, read-write only, scoped, audited with the comment's id,
and counted in the key's budget of changes with updateCase. And the Public API's comment endpoint."""

from __future__ import annotations

import httpx
import pytest

from accounts.services import api_key_create
from audit.models import PublicApiAccess
from cases.models import Comment
from tests.factories import make_case, make_tenant, make_user
from tests.mcp_helpers import McpSession


@pytest.fixture
def world(live_url):
    acme, globex = make_tenant("Acme"), make_tenant("Globex")
    alice = make_user("alice", tenants=[acme], email="alice@acme.test", first_name="Alice", last_name="Ng")
    case = make_case(acme, name="Phishing wave", status="New", severity="Medium")
    other = make_case(globex, name="Globex case")
    return {"case": case, "other": other, "alice": alice, "url": live_url,
            "key": api_key_create(user=alice, name="rw")[1],
            "read_only": api_key_create(user=alice, name="ro", scope="read")[1]}


@pytest.fixture
def mcp(world):
    with McpSession(f"{world['url']}/mcp/", world["key"]) as session:
        yield session


def test_a_comment_appears_at_once_in_the_case_detail_and_is_audited(world, mcp):
    case = world["case"]
    added = mcp.ok("addCaseComment", {"_id": case.stellar_id, "comment": "  Sender domain is a lookalike.  "})
    comment = added["comment"]
    assert added["case_id"] == case.stellar_id
    assert (comment["comment"], comment["user"], comment["user_name"]) == ("Sender domain is a lookalike.", "alice",
                                                                           "Alice Ng")
    assert len(comment["_id"]) == 24 and comment["created_at"] > 0
    detail = mcp.ok("getCaseDetail", {"_id": case.stellar_id, "include": ["comments", "activities"]})
    assert detail["comments"][0]["_id"] == comment["_id"]
    activity = detail["activities"][0]
    assert (activity["field"], activity["to"], activity["user"]) == ("comment", "Sender domain is a lookalike.", "alice")
    assert mcp.ok("getCaseDetail", {"_id": case.stellar_id})["case"]["version"] == 1  # a comment is not an update
    row = PublicApiAccess.objects.get(tool="addCaseComment")
    assert (row.outcome, row.endpoint, row.case_ids) == ("success", "POST /connect/api/v1/cases/{id}/comments",
                                                         case.stellar_id)
    assert row.changes == [{"field": "comment", "from": None, "to": comment["_id"]}]


def test_comment_text_is_bounded_and_neutralised_on_the_way_out(world, mcp):
    case = world["case"]
    assert "5000" in mcp.fails("addCaseComment", {"_id": case.stellar_id, "comment": "x" * 5001})
    assert "comment" in mcp.fails("addCaseComment", {"_id": case.stellar_id, "comment": ""})
    assert "at least 1 character" in mcp.fails("addCaseComment", {"_id": case.stellar_id, "comment": "   "})
    assert "NUL" in mcp.fails("addCaseComment", {"_id": case.stellar_id, "comment": "a\x00b"})
    assert "getCaseDetail with ticket_id" in mcp.fails("addCaseComment", {"ticket_id": case.ticket_id, "comment": "x"})
    mcp.ok("addCaseComment", {"_id": case.stellar_id, "comment": "ok \u202eexe.txt\u200b"})
    shown = mcp.ok("getCaseDetail", {"_id": case.stellar_id, "include": ["comments"]})["comments"][0]
    assert shown["comment"] == "ok <U+202E>exe.txt<U+200B>"
    assert Comment.objects.filter(case=case).count() == 1


def test_read_only_keys_and_other_tenants_cannot_comment(world):
    case, other = world["case"], world["other"]
    with McpSession(f"{world['url']}/mcp/", world["read_only"]) as mcp:
        assert "addCaseComment" not in mcp.tool_names()
        assert "read-only" in mcp.fails("addCaseComment", {"_id": case.stellar_id, "comment": "x"})
    with McpSession(f"{world['url']}/mcp/", world["key"]) as mcp:
        hidden = mcp.fails("addCaseComment", {"_id": other.stellar_id, "comment": "x"})
        missing = mcp.fails("addCaseComment", {"_id": "0" * 24, "comment": "x"})
        assert hidden.replace(other.stellar_id, "<id>") == missing.replace("0" * 24, "<id>")
    assert not Comment.objects.exists()


def test_comments_and_updates_share_the_budget_of_changes(world, start_server):
    server = start_server(MCP_WRITE_CALLS_PER_MINUTE=2)
    case = world["case"]
    with McpSession(f"{server.url}/mcp/", world["key"]) as mcp:
        mcp.ok("addCaseComment", {"_id": case.stellar_id, "comment": "one"})
        mcp.ok("updateCase", {"_id": case.stellar_id, "severity": "High"})
        assert "Rate limit" in mcp.fails("addCaseComment", {"_id": case.stellar_id, "comment": "three"})
    rest = httpx.post(f"{server.url}/connect/api/v1/cases/{case.stellar_id}/comments", json={"comment": "four"},
                      headers={"Authorization": f"Bearer {world['key']}"})
    assert rest.status_code == 429 and rest.headers["retry-after"]
    assert Comment.objects.count() == 1


def test_the_public_api_adds_comments_too(world):
    case, url = world["case"], f"{world['url']}/connect/api/v1/cases/{world['case'].stellar_id}"
    auth = {"Authorization": f"Bearer {world['key']}"}
    added = httpx.post(f"{url}/comments", json={"comment": "From a script"}, headers=auth)
    assert added.status_code == 200, added.text
    body = added.json()["data"]
    assert (body["comment"], body["case_id"], body["user"]) == ("From a script", case.stellar_id, "alice")
    listed = httpx.get(f"{url}/comments", headers=auth).json()["data"]
    assert [c["_id"] for c in listed] == [body["_id"]]
    refusals = [
        (httpx.post(f"{url}/comments", json={"comment": "x"}, headers={"Authorization": f"Bearer {world['read_only']}"}), 403),
        (httpx.post(f"{url}/comments", json={"text": "x"}, headers=auth), 422),
        (httpx.post(f"{url}/comments", json={"comment": "x" * 5001}, headers=auth), 422),
        (httpx.post(f"{url}/activities", json={"comment": "x"}, headers=auth), 405),
        (httpx.post(f"{world['url']}/connect/api/v1/cases/{world['other'].stellar_id}/comments", json={"comment": "x"},
                    headers=auth), 404),
    ]
    for answer, status in refusals:
        assert answer.status_code == status, answer.text
    assert Comment.objects.count() == 1
    row = PublicApiAccess.objects.filter(endpoint="POST /connect/api/v1/cases/{id}/comments", outcome="success").get()
    assert row.changes == [{"field": "comment", "from": None, "to": body["_id"]}]
