"""Property-based tests: whatever bytes, headers or tool arguments arrive, /mcp/ answers with a
well-formed JSON-RPC message (or 202), never a 500, over real HTTP."""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.services import api_key_create
from tests.factories import make_case, make_tenant, make_user
from tests.mcp_helpers import LEGACY, MODERN, RawMcp

TOOLS = ["get_access_token", "listCases", "getCaseDetail", "getCaseAlerts", "updateCase", "addCaseComment",
         "getAlertDetail", "listTenant", "getTenantDetail"]
PROMPTS = ["triage_open_cases", "review_case_before_escalation", "summarize_case_activity", "review_case_alerts",
           "update_case_handling"]
ARG_NAMES = ["_id", "ticket_id", "cust_id", "status", "severity", "assignee", "tags", "limit", "cursor", "search",
             "include", "alert_id", "fields", "created_at_from", "created_at_to", "modified_at_from",
             "modified_at_to", "sort", "order", "min_score", "resolution", "expected_version", "name", "comment",
             "created_within", "modified_within"]

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
# Header values as a client can send them: printable, no surrounding whitespace.
header_text = st.text(alphabet=string.ascii_letters + string.digits + " -_/.,;=*?", max_size=40).map(str.strip)

FUZZ = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                         HealthCheck.too_slow])


@pytest.fixture
def raw(live_url) -> RawMcp:
    tenant = make_tenant()
    make_case(tenant, name="fuzz target")
    user = make_user(tenants=[tenant])
    return RawMcp(live_url, api_key_create(user=user, name="fuzz")[1])


def assert_well_formed(response) -> None:
    assert response.status_code < 500, response.text[:300]
    if response.status_code == 202:
        assert response.content == b""
        return
    payload = response.json()
    assert payload["jsonrpc"] == "2.0"
    assert ("result" in payload) != ("error" in payload)
    if "error" in payload:
        assert isinstance(payload["error"]["code"], int) and isinstance(payload["error"]["message"], str)
        assert payload["error"]["code"] != -32603, payload


@FUZZ
@given(body=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
def test_arbitrary_bodies(raw: RawMcp, body: bytes):
    assert_well_formed(raw.post(None, raw=body))


envelopes = st.fixed_dictionaries(
    {"jsonrpc": st.sampled_from(["2.0", "2.0", "1.0", 2]),
     "method": st.sampled_from(["initialize", "ping", "tools/list", "tools/call", "server/discover", "prompts/list",
                                "prompts/get", "completion/complete", "notifications/initialized", "x"])
     | st.text(max_size=10)},
    optional={"id": json_scalars, "params": json_values},
)


@FUZZ
@given(message=envelopes, version=st.sampled_from([None, LEGACY, MODERN, "2025-03-26", "garbage"]) | header_text,
       method_header=st.none() | header_text, name_header=st.none() | header_text,
       accept=st.sampled_from(["application/json", "application/json, text/event-stream", "*/*", "text/html"]))
def test_arbitrary_envelopes_and_headers(raw: RawMcp, message, version, method_header, name_header, accept):
    headers = {"Accept": accept}
    if method_header is not None:
        headers["Mcp-Method"] = method_header
    if name_header is not None:
        headers["Mcp-Name"] = name_header
    version = version.strip() if isinstance(version, str) else version
    assert_well_formed(raw.post(message, headers=headers, version=version or None))


@FUZZ
@given(tool=st.sampled_from(TOOLS), arguments=st.dictionaries(st.sampled_from(ARG_NAMES) | st.text(max_size=8),
                                                                json_values, max_size=5))
def test_arbitrary_tool_arguments(raw: RawMcp, tool, arguments):
    response = raw.legacy("tools/call", {"name": tool, "arguments": arguments})
    assert_well_formed(response)
    result = response.json().get("result")
    if result is not None and result.get("isError"):
        text = result["content"][0]["text"]
        assert text and "Traceback" not in text


prompt_values = st.sampled_from(["", "13", "1300", "#1300 x", "0" * 24, "-1", "99999999999", "ransomware", "Acme", "me",
                                 "none", "critical,high"]) | st.text(max_size=40)


@FUZZ
@given(prompt=st.sampled_from(PROMPTS) | st.text(max_size=20),
       arguments=st.dictionaries(st.sampled_from(["case", "tenant", "severity", "assignee"]) | st.text(max_size=8),
                                 prompt_values | json_values, max_size=4),
       modern=st.booleans())
def test_arbitrary_prompt_arguments_and_completions(raw: RawMcp, prompt, arguments, modern):
    get = {"name": prompt, "arguments": arguments}
    ref = {"type": "ref/prompt", "name": prompt}
    first = next(iter(arguments.items()), ("case", ""))
    complete = {"ref": ref, "argument": {"name": first[0], "value": first[1]}}
    for method, params in (("prompts/get", get), ("completion/complete", complete)):
        if modern:
            headers = {"Mcp-Name": prompt} if method == "prompts/get" and isinstance(prompt, str) and prompt.isascii() \
                and prompt.isprintable() and prompt.strip() == prompt else None
            response = raw.modern(method, params, headers=headers)
        else:
            response = raw.legacy(method, params)
        assert_well_formed(response)
