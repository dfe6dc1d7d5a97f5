"""Every tool declares an outputSchema (generated from the typed dicts its handler builds), and every
structuredContent it returns on demo data, for a spread of arguments, validates against it: on both
backends (the upstream pass runs this file too)."""

from __future__ import annotations

import jsonschema
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from accounts.services import api_key_create
from cases.models import Alert, Case
from tests.mcp_helpers import RawMcp


@pytest.fixture
def demo(live_url):
    call_command("seed_demo", tenants=3, cases=60, alerts_per_case=7, days=10, seed=11, verbosity=0)
    root = get_user_model().objects.get(username="soc-admin")
    raw = RawMcp(live_url, api_key_create(user=root, name="schemas")[1])
    schemas = {t["name"]: t["outputSchema"] for t in raw.legacy("tools/list").json()["result"]["tools"]}
    return raw, schemas


def calls() -> list[tuple[str, dict]]:
    case = Case.objects.order_by("-created_at").first()
    resolved = Case.objects.filter(status="Resolved").first() or case
    alert = Alert.objects.filter(case=case).first()
    listings = [{}, {"limit": 100, "created_within": "4w"}, {"status": "Open", "severity": "Critical,High",
                "sort": "severity", "created_within": "10d"}, {"assignee": "none", "created_within": "30d"},
                {"search": "ransomware", "created_at_from": "2020-01-01", "created_at_to": "2030-01-01"},
                {"modified_within": "2w", "sort": "score", "order": "asc", "limit": 3}]
    return [
        ("get_access_token", {}),
        *(("listCases", arguments) for arguments in listings),
        ("getCaseDetail", {"_id": case.stellar_id}),
        ("getCaseDetail", {"ticket_id": resolved.ticket_id}),
        ("getCaseDetail", {"_id": case.stellar_id, "include": ["summary", "scores"]}),
        ("getCaseDetail", {"_id": case.stellar_id, "include": ["aiSummary", "assignees", "observables"]}),
        ("getCaseAlerts", {"_id": case.stellar_id, "limit": 2}),
        ("getCaseAlerts", {"_id": case.stellar_id, "limit": 50}),
        ("updateCase", {"_id": case.stellar_id, "severity": "Low", "tags": {"add": ["triaged"]}}),
        ("updateCase", {"_id": case.stellar_id, "severity": "Low"}),  # no change
        ("updateCase", {"_id": case.stellar_id, "status": "Resolved", "resolution": "Benign"}),
        ("addCaseComment", {"_id": case.stellar_id, "comment": "Checked the sender domain."}),
        ("getAlertDetail", {"alert_id": alert.stellar_uuid}),
        ("listTenant", {}),
        ("listTenant", {"fields": ["cust_id", "cust_name"]}),
        ("getTenantDetail", {"cust_id": case.tenant.cust_id}),
    ]


def test_every_tool_declares_an_object_output_schema(demo):
    _, schemas = demo
    assert len(schemas) == 9
    for name, schema in schemas.items():
        assert schema["type"] == "object" and schema["properties"], name
        jsonschema.Draft202012Validator.check_schema(schema)


def test_every_result_validates_against_its_tools_output_schema(demo):
    raw, schemas = demo
    called = set()
    for name, arguments in calls():
        response = raw.call(name, arguments)
        assert "result" in response, (name, response)
        result = response["result"]
        assert result["isError"] is False, (name, arguments, result["content"][0]["text"])
        jsonschema.validate(result["structuredContent"], schemas[name])
        called.add(name)
    assert called == set(schemas)


def test_the_schemas_refuse_what_the_tools_do_not_return(demo):
    raw, schemas = demo
    page = raw.call("listCases", {"created_within": "4w", "limit": 1})["result"]["structuredContent"]
    page["cases"][0]["surprise"] = 1
    with pytest.raises(jsonschema.ValidationError, match="surprise"):
        jsonschema.validate(page, schemas["listCases"])
    del page["cases"][0]["surprise"], page["total"]
    with pytest.raises(jsonschema.ValidationError, match="total"):
        jsonschema.validate(page, schemas["listCases"])
