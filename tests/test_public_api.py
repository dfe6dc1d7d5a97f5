"""The Stellar-compatible Public API under /connect/api/: credentials, envelopes, status codes and the
audit row every call leaves (source REST). Through Django's test client; the live instance is exercised
over HTTP by the contract and upstream suites."""

from __future__ import annotations

import base64
import time
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from accounts.services import api_key_create
from accounts.tokens import access_token_encode
from audit.models import PublicApiAccess
from cases.models import Activity, Case
from tests.factories import (
    make_activity,
    make_alert,
    make_case,
    make_comment,
    make_observable,
    make_score,
    make_tenant,
    make_user,
)

pytestmark = pytest.mark.django_db
API = "/connect/api"


class World:
    def __init__(self) -> None:
        now = timezone.now()
        self.acme, self.globex = make_tenant("Acme", tgrp_name="EMEA"), make_tenant("Globex")
        self.root = make_user("root", root=True, email="root@corp.test")
        self.ana = make_user("ana", tenants=[self.acme], email="ana@acme.test", first_name="Ana", last_name="Alves")
        self.bob = make_user("bob", tenants=[self.acme])
        self.case = make_case(self.acme, name="Phishing wave", severity="High", score=91.8, tags=["phishing"],
                              assignee=self.ana, created_at=now - timedelta(hours=1), summary="Observed 1 tactics")
        self.other = make_case(self.globex, name="Globex beacon", created_at=now - timedelta(hours=2))
        self.alerts = [make_alert(self.case, name=f"Alert {i}", timestamp=now - timedelta(minutes=i)) for i in range(3)]
        self.g_alert = make_alert(self.other)
        make_comment(self.case, "Looked at it", user=self.ana)
        make_activity(self.case)
        make_score(self.case, 91.8)
        make_observable(self.case, "ip", "10.0.0.5", count=3)
        self.root_key = api_key_create(user=self.root, name="root")[1]
        self.ana_key = api_key_create(user=self.ana, name="ana")[1]
        self.read_only = api_key_create(user=self.ana, name="ro", scope="read")[1]


@pytest.fixture
def w() -> World:
    return World()


def bearer(value: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {value}"}


def basic(name: str, key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{name}:{key}".encode()).decode()}


def token_for(client, key: str) -> str:
    response = client.post(f"{API}/v1/access_token", content_type="application/x-www-form-urlencoded", **bearer(key))
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


# --- credentials ----------------------------------------------------------------------------------------

def test_access_token_exchange(w, client):
    for headers in (bearer(w.ana_key), basic("ANA@acme.test", w.ana_key), basic("ana", w.ana_key)):
        body = client.post(f"{API}/v1/access_token", **headers).json()
        assert set(body) == {"access_token", "exp", "token_type", "expires_in", "expires_at"}
        assert body["access_token"].startswith("sat-") and body["token_type"] == "Bearer"
        assert abs(body["exp"] - (time.time() + 600)) < 5  # epoch seconds
    token = token_for(client, w.ana_key)
    for headers in ({}, bearer(token), basic("bob", w.ana_key), bearer("sk-stellar-nonsense"), {"HTTP_AUTHORIZATION": "Basic !!"}):
        response = client.post(f"{API}/v1/access_token", **headers)
        assert response.status_code == 401, headers
        assert response.json()["error"] == "unauthorized"
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert client.get(f"{API}/v1/access_token", **bearer(w.ana_key)).status_code == 405


def test_data_endpoints_take_a_token_the_key_itself_or_basic(w, client):
    token = token_for(client, w.ana_key)
    for headers in (bearer(token), bearer(w.ana_key), basic("ana@acme.test", w.ana_key)):
        assert client.get(f"{API}/v1/cases", **headers).status_code == 200
    expired = access_token_encode(w.ana_key[11:23], int(time.time()) - 1)
    for headers in ({}, bearer(expired), bearer(token + "x"), basic("root@corp.test", w.ana_key)):
        response = client.get(f"{API}/v1/cases", **headers)
        assert response.status_code == 401
        assert response.json() == {"error": "unauthorized", "message": response.json()["message"]}


@override_settings(AUTH_FAILURE_LIMIT=3)
def test_repeated_failures_are_429_with_retry_after(w, client):
    for _ in range(3):
        assert client.get(f"{API}/v1/cases", **bearer("sk-stellar-guess")).status_code == 401
    response = client.get(f"{API}/v1/cases", **bearer("sk-stellar-guess"))
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert response.json()["error"] == "rate_limited"
    # A valid key is never refused for other requests' failures.
    assert client.get(f"{API}/v1/cases", **bearer(w.ana_key)).status_code == 200


# --- cases ------------------------------------------------------------------------------------------------

def test_list_cases_envelope_and_fields(w, client):
    body = client.get(f"{API}/v1/cases", {"limit": 1000, "sort": "score", "order": "desc"}, **bearer(w.root_key)).json()
    assert set(body) == {"data"} and set(body["data"]) == {"cases", "total"}
    assert body["data"]["total"] == 2
    case = body["data"]["cases"][0]
    assert case["_id"] == w.case.stellar_id and case["score"] == 91.8 and case["cust_id"] == w.acme.cust_id
    assert {"ticket_id", "name", "status", "severity", "size", "assignee", "assignee_name", "tags", "tenant_name",
            "tenant_group_name", "created_at", "modified_at", "created_by", "modified_by", "acknowledged", "closed",
            "start_timestamp", "end_timestamp", "version"} <= set(case)
    assert not any(k.endswith("_iso") for k in case)
    assert isinstance(case["created_at"], int) and case["closed"] == 0
    paged = client.get(f"{API}/v1/cases", {"limit": 1, "skip": 1, "sort": "case_score"}, **bearer(w.root_key)).json()
    assert [c["_id"] for c in paged["data"]["cases"]] == [w.other.stellar_id] and paged["data"]["total"] == 2


@pytest.mark.parametrize("params", [
    {"status": "New,In Progress", "severity": "High"},
    {"tenantid": "ACME"}, {"cust_id": "ACME"}, {"tags": "phishing,x"}, {"assignee": "ANA@acme.test"},
    {"FROM~score": "90", "TO~score": "95"}, {"FROM~created_at": "CREATED"}, {"ticket_id": "TICKET"}, {"search": "phishing wave"},
    {"q": "wave"}, {"name": "phish"},
])
def test_list_filters(w, client, params):
    created = str(int(w.case.created_at.timestamp() * 1000))
    params = {k: v.replace("ACME", w.acme.cust_id).replace("TICKET", str(w.case.ticket_id)).replace("CREATED", created)
              for k, v in params.items()}
    body = client.get(f"{API}/v1/cases", params, **bearer(w.root_key)).json()
    assert [c["_id"] for c in body["data"]["cases"]] == [w.case.stellar_id], params


@pytest.mark.parametrize("params, words", [
    ({"limit": "ten"}, "limit must be an integer"),
    ({"limit": "0"}, "limit must be an integer from 1 to"),
    ({"skip": "-1"}, "skip must be an integer from 0 to 2147483647"),
    ({"sort": "name"}, "sort 'name' is not valid"),
    ({"order": "up"}, "order 'up' is not valid"),
    ({"status": "Open-ish"}, "status 'Open-ish' is not valid"),
    ({"severity": "Urgent"}, "severity 'Urgent' is not valid"),
    ({"FROM~created_at": "yesterday"}, "FROM~created_at must be an integer"),
    ({"TO~score": "nan"}, "TO~score must be a finite number"),
    ({"FROM~name": "a"}, "FROM~name is not supported"),
    ({"NOT~tags": "a"}, "NOT~tags is not supported"),
    ({"ticket_id": "x"}, "ticket_id must be an integer"),
])
def test_invalid_parameters_are_422(w, client, params, words):
    response = client.get(f"{API}/v1/cases", params, **bearer(w.root_key))
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_parameter" and words in response.json()["message"]


def test_tenant_outside_the_key_is_403_tenant_mismatch(w, client):
    for params in ({"tenantid": w.globex.cust_id}, {"cust_id": w.globex.cust_id},
                   {"tenantid": f"{w.acme.cust_id},{w.globex.cust_id}"}):
        response = client.get(f"{API}/v1/cases", params, **bearer(w.ana_key))
        assert response.status_code == 403
        assert response.json() == {"error": "forbidden", "message": "Tenant mismatch"}
    mine = client.get(f"{API}/v1/cases", {"tenantid": w.acme.cust_id}, **bearer(w.ana_key)).json()
    assert mine["data"]["total"] == 1
    assert client.get(f"{API}/v1/cases", **bearer(w.ana_key)).json()["data"]["total"] == 1


def test_other_tenants_objects_are_404_like_missing_ones(w, client):
    missing_id = "0123456789abcdef01234567"
    for suffix in ("", "/alerts", "/comments", "/observables", "/activities", "/scores", "/summary"):
        hidden = client.get(f"{API}/v1/cases/{w.other.stellar_id}{suffix}", **bearer(w.ana_key))
        missing = client.get(f"{API}/v1/cases/{missing_id}{suffix}", **bearer(w.ana_key))
        assert hidden.status_code == missing.status_code == 404
        assert hidden.json()["message"].replace(w.other.stellar_id, "X") == missing.json()["message"].replace(missing_id, "X")
    assert client.get(f"{API}/v1/tenants/{w.globex.cust_id}", **bearer(w.ana_key)).status_code == 404


def test_unknown_endpoints_are_json_404s(w, client):
    for method, path in ((client.get, "/v1/cases/x/unknown"), (client.post, "/v1/nothing"), (client.get, "/v2/cases")):
        response = method(f"{API}{path}", **bearer(w.ana_key))
        assert response.status_code == 404 and response.json()["error"] == "not_found"
    assert client.get(f"{API}/v1/nothing").status_code == 401
    assert PublicApiAccess.objects.filter(endpoint="GET /connect/api/<unknown>").count() == 3


def test_get_case(w, client):
    body = client.get(f"{API}/v1/cases/{w.case.stellar_id}/", **bearer(w.ana_key)).json()
    assert set(body) == {"data"}
    assert body["data"]["ticket_id"] == w.case.ticket_id and body["data"]["assignee_name"] == "Ana Alves"


def test_update_case(w, client):
    url = f"{API}/v1/cases/{w.case.stellar_id}"
    refused = client.put(url, {"status": "In Progress"}, content_type="application/json", **bearer(w.read_only))
    assert refused.status_code == 403 and "read-only" in refused.json()["message"]
    body = {"status": "Resolved", "resolution": "False Positive", "severity": "Low", "assignee": "bob",
            "tags": {"add": ["fp"], "delete": ["phishing"]}, "update_alerts": True}
    response = client.put(url, body, content_type="application/json", **bearer(w.ana_key))
    assert response.status_code == 200, response.content
    case = response.json()["data"]
    assert (case["status"], case["resolution"], case["severity"], case["assignee"], case["tags"], case["version"]) == (
        "Resolved", "False Positive", "Low", "bob", ["fp"], 2)
    assert case["closed"] > 0 and case["modified_by"] == "ana"
    unassigned = client.put(url, {"assignee": None}, content_type="application/json", **bearer(w.ana_key)).json()
    assert unassigned["data"]["assignee"] is None and unassigned["data"]["assignee_name"] == "Unassigned"


@pytest.mark.parametrize("body, words", [
    ({"status": "Done"}, "status 'Done' is not valid"),
    ({"resolution": "Benign"}, "resolution is only accepted with status Resolved"),
    ({"assignee": "nobody"}, "assignee 'nobody' is not a user who may be assigned"),
    ({"tags": {"add": ["x"], "delete": ["x"]}}, "is in both tags.add and tags.delete"),
    ({"tags": ["x"]}, 'tags must be {"add": [...], "delete": [...]}'),
    ({"priority": "High"}, "priority cannot be updated"),
    ({"status": 3}, "status must be a string"),
    (["status"], "The body must be a JSON object"),
])
def test_invalid_updates_are_422_and_change_nothing(w, client, body, words):
    response = client.put(f"{API}/v1/cases/{w.case.stellar_id}", body, content_type="application/json",
                          **bearer(w.ana_key))
    assert response.status_code == 422 and words in response.json()["message"]
    assert Case.objects.get(pk=w.case.pk).version == 1


def test_a_gateway_acts_on_behalf_of_its_users(w, client):
    url = f"{API}/v1/cases/{w.case.stellar_id}"
    client.put(url, {"severity": "Low"}, content_type="application/json", HTTP_X_ON_BEHALF_OF="ana",
               **bearer(w.root_key))
    assert Activity.objects.get(case=w.case, field="severity").user_name == "Ana Alves"
    # Only a root user's key may name someone else; for any other key the header changes nothing.
    client.put(url, {"severity": "Medium"}, content_type="application/json", HTTP_X_ON_BEHALF_OF="root",
               **bearer(w.ana_key))
    assert Activity.objects.filter(case=w.case, field="severity").latest("pk").user_name == "Ana Alves"
    assert Case.objects.get(pk=w.case.pk).modified_by == w.ana


def test_case_sections(w, client):
    base = f"{API}/v1/cases/{w.case.stellar_id}"
    alerts = client.get(f"{base}/alerts", {"limit": 500}, **bearer(w.ana_key)).json()
    assert [d["_id"] for d in alerts["data"]["docs"]] == [a.es_id for a in w.alerts]
    assert set(alerts["data"]["docs"][0]) == {"_id", "_index", "_source", "_type", "_score", "ext"}
    assert alerts["data"]["total"] == 3
    page = client.get(f"{base}/alerts", {"limit": 1, "skip": 2}, **bearer(w.ana_key)).json()
    assert [d["_id"] for d in page["data"]["docs"]] == [w.alerts[2].es_id]
    comments = client.get(f"{base}/comments", **bearer(w.ana_key)).json()
    assert comments["data"][0]["comment"] == "Looked at it" and comments["data"][0]["case_id"] == w.case.stellar_id
    observables = client.get(f"{base}/observables", **bearer(w.ana_key)).json()
    assert set(observables) == {"observables"} and observables["observables"]["ip"][0]["value"] == "10.0.0.5"
    assert client.get(f"{base}/activities", **bearer(w.ana_key)).json()["data"][0]["to"] == "In Progress"
    assert client.get(f"{base}/scores", **bearer(w.ana_key)).json()["data"][0]["score"] == 91.8
    assert client.get(f"{base}/summary", {"formatted": "true"}, **bearer(w.ana_key)).json() == {"data": "Observed 1 tactics"}
    assert client.get(f"{base}/ai_summary", **bearer(w.ana_key)).json() == {"data": None}
    users = client.get(f"{base}/assignees", **bearer(w.ana_key)).json()["data"]
    assert {u["username"] for u in users} == {"ana", "bob", "root"}
    assert client.get(f"{base}/alerts", {"limit": "x"}, **bearer(w.ana_key)).status_code == 422


def test_alert_search_is_a_raw_elasticsearch_body(w, client):
    alert = w.alerts[1]
    url = f"{API}/data/aella-ser-*/_search"
    for q in (f'stellar_uuid:"{alert.stellar_uuid}"', f"_id:{alert.es_id}", f'stellar_uuid:"x" OR _id:"{alert.es_id}"'):
        body = client.get(url, {"q": q}, **bearer(w.root_key)).json()
        assert set(body) == {"took", "timed_out", "_shards", "hits"}
        assert body["hits"]["total"] == {"value": 1, "relation": "eq"} and body["hits"]["max_score"] == 1.0
        hit = body["hits"]["hits"][0]
        assert (hit["_index"], hit["_type"], hit["_id"]) == (alert.index, "_doc", alert.es_id)
        assert hit["_source"] == alert.source and hit["ext"]["case_id"] == w.case.stellar_id
    hidden = client.get(url, {"q": f'stellar_uuid:"{w.g_alert.stellar_uuid}"'}, **bearer(w.ana_key)).json()
    assert hidden["hits"]["total"]["value"] == 0 and hidden["hits"]["max_score"] is None
    assert client.get(f"{API}/data/{alert.index}/_search", {"q": f"_id:{alert.es_id}"},
                      **bearer(w.root_key)).json()["hits"]["total"]["value"] == 1
    everything = client.get(url, {"size": 2}, **bearer(w.root_key)).json()
    assert everything["hits"]["total"]["value"] == 4 and len(everything["hits"]["hits"]) == 2
    bad = client.get(url, {"q": "event_name:x"}, **bearer(w.root_key))
    assert bad.status_code == 400 and bad.json()["status"] == 400
    assert bad.json()["error"]["type"] == "search_phase_execution_exception"


def test_tenants(w, client):
    body = client.get(f"{API}/v1/tenants", **bearer(w.root_key)).json()
    assert [t["cust_name"] for t in body["data"]] == ["Acme", "Globex"]
    assert body["data"][0]["case_count"] == 1 and body["data"][0]["tgrp_name"] == "EMEA"
    projected = client.get(f"{API}/v1/tenants", {"fields": "cust_id,cust_name"}, **bearer(w.ana_key)).json()
    assert projected == {"data": [{"cust_id": w.acme.cust_id, "cust_name": "Acme"}]}
    assert client.get(f"{API}/v1/tenants", {"fields": "password"}, **bearer(w.ana_key)).status_code == 422
    detail = client.get(f"{API}/v1/tenants/{w.acme.cust_id}", **bearer(w.ana_key)).json()["data"]
    assert detail["open_cases"]["total"] == 1 and detail["attributes"] == {}
    assert client.get(f"{API}/v1/tenants/{'0' * 32}", **bearer(w.root_key)).status_code == 404


# --- faults and audit ---------------------------------------------------------------------------------------

@override_settings(PUBLIC_API_FAULT_STATUS=503, PUBLIC_API_FAULT_RETRY_AFTER=3)
def test_fault_injection_answers_the_configured_status(w, client):
    response = client.get(f"{API}/v1/tenants", **bearer(w.root_key))
    assert response.status_code == 503 and response["Retry-After"] == "3"
    row = PublicApiAccess.objects.get()
    assert (row.outcome, row.http_status, row.username) == ("server_error", 503, "root")


def test_every_call_leaves_one_rest_row(w, client):
    calls = [
        (client.post, f"{API}/v1/access_token", {}, bearer(w.ana_key), 200),
        (client.get, f"{API}/v1/cases", {}, bearer(w.ana_key), 200),
        (client.get, f"{API}/v1/cases", {}, bearer("sk-stellar-" + "abcdefghijkl" + "WRONG" * 6 + "12"), 401),
        (client.get, f"{API}/v1/cases", {"tenantid": w.globex.cust_id}, bearer(w.ana_key), 403),
        (client.get, f"{API}/v1/cases/{w.other.stellar_id}", {}, bearer(w.ana_key), 404),
        (client.get, f"{API}/v1/cases", {"limit": "x"}, bearer(w.ana_key), 422),
        (client.delete, f"{API}/v1/cases/{w.case.stellar_id}", {}, bearer(w.ana_key), 405),
    ]
    for method, url, params, headers, status in calls:
        assert method(url, params, **headers).status_code == status
    response = client.put(f"{API}/v1/cases/{w.case.stellar_id}", {"severity": "Low"}, content_type="application/json",
                          **basic("ana@acme.test", w.ana_key))
    assert response.status_code == 200
    rows = list(PublicApiAccess.objects.order_by("pk"))
    assert len(rows) == len(calls) + 1 and {r.source for r in rows} == {"REST"}
    assert [(r.endpoint, r.http_status, r.outcome) for r in rows] == [
        ("POST /connect/api/v1/access_token", 200, "success"),
        ("GET /connect/api/v1/cases", 200, "success"),
        ("GET /connect/api/v1/cases", 401, "unauthenticated"),
        ("GET /connect/api/v1/cases", 403, "denied"),
        ("GET /connect/api/v1/cases/{id}", 404, "tool_error"),
        ("GET /connect/api/v1/cases", 422, "tool_error"),
        ("DELETE /connect/api/v1/cases/{id}", 405, "tool_error"),
        ("PUT /connect/api/v1/cases/{id}", 200, "success"),
    ]
    refused, update = rows[2], rows[-1]
    assert refused.user is None and refused.key_public_id == "abcdefghijkl" and "Invalid" in refused.error
    assert rows[3].error == "Tenant mismatch" and rows[3].arguments == {"tenantid": w.globex.cust_id}
    assert update.username == "ana" and update.case_ids == w.case.stellar_id and update.tenant_ids == w.acme.cust_id
    assert update.changes == [{"field": "severity", "from": "High", "to": "Low"}]
    assert all(w.ana_key not in str(r.arguments) + r.error for r in rows)


def test_the_audit_row_records_the_size_of_the_answer(w, client):
    response = client.get("/connect/api/v1/tenants", **bearer(w.root_key))
    assert response.status_code == 200
    row = PublicApiAccess.objects.filter(endpoint="GET /connect/api/v1/tenants").latest("id")
    assert row.response_bytes == len(response.content) > 0
