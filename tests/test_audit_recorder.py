"""The recorder: one row with every snapshot, no secret in any column, bounded sizes, never raises."""

from __future__ import annotations

import json
import logging
import secrets
import string

import pytest
from django.contrib.auth import get_user_model
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.keys import generate_key
from accounts.models import ApiKey
from accounts.services import api_key_create
from accounts.tokens import access_token_issue
from audit.models import ACTIVITY_PUBLIC_API_ACCESS, Outcome, PublicApiAccess, Source
from audit.recorder import AccessRecord, record_access
from audit.redaction import MAX_JSON_BYTES, redact_arguments

pytestmark = pytest.mark.django_db

CASE_ID = "65f0c1d2e3f4a5b6c7d8e9f0"
ALERT_UUID = "0123456789abcdef0123456789abcdef"
CUST_ID = "fedcba9876543210fedcba9876543210"


@pytest.fixture
def owner():
    return get_user_model().objects.create_user("alice", password="pw-not-used-here")


@pytest.fixture
def key_and_plaintext(owner):
    return api_key_create(user=owner, name="laptop")


def _all_column_text() -> str:
    """Every column of every audit row, as one string to search."""
    return json.dumps(list(PublicApiAccess.objects.values()), default=str, ensure_ascii=False)


def test_row_has_every_field_and_snapshot(owner, key_and_plaintext):
    key, _ = key_and_plaintext
    before = timezone.now()
    record_access(
        AccessRecord(
            user=owner,
            api_key=key,
            source=Source.MCP,
            endpoint="PUT /connect/api/v1/cases/{id}",
            tool="updateCase",
            arguments={"_id": CASE_ID, "status": "Resolved"},
            outcome=Outcome.SUCCESS,
            tenant_ids=[CUST_ID],
            case_ids=[CASE_ID],
            alert_ids=[ALERT_UUID],
            changes=[{"field": "status", "from": "New", "to": "Resolved"}],
            http_status=200,
            duration_ms=12.3456,
            client_ip="203.0.113.7",
            user_agent="claude-code/1.0",
            protocol_version="2025-06-18",
            request_id="abc123",
        )
    )
    row = PublicApiAccess.objects.get()
    assert before <= row.timestamp <= timezone.now()
    assert (row.user_id, row.username) == (owner.pk, "alice")
    assert (row.api_key_id, row.key_public_id) == (key.pk, key.public_id)
    assert row.activity_type == ACTIVITY_PUBLIC_API_ACCESS
    assert row.source == "MCP"
    assert row.endpoint == "PUT /connect/api/v1/cases/{id}"
    assert row.tool == "updateCase"
    assert row.arguments == {"_id": CASE_ID, "status": "Resolved"}
    assert row.outcome == "success"
    assert row.error == ""
    assert (row.tenant_ids, row.case_ids, row.alert_ids) == (CUST_ID, CASE_ID, ALERT_UUID)
    assert row.changes == [{"field": "status", "from": "New", "to": "Resolved"}]
    assert row.http_status == 200
    assert row.duration_ms == pytest.approx(12.346)
    assert row.client_ip == "203.0.113.7"
    assert row.user_agent == "claude-code/1.0"
    assert row.protocol_version == "2025-06-18"
    assert row.request_id == "abc123"


def test_one_insert_and_no_other_query(owner, key_and_plaintext):
    key, _ = key_and_plaintext
    key = ApiKey.objects.get(pk=key.pk)  # a fresh row: its owner is not loaded
    # Every database (the Activity Log has its own on SQLite): one INSERT in all, nothing else.
    captures = [CaptureQueriesContext(connections[alias]) for alias in connections]
    for capture in captures:
        capture.__enter__()
    record_access(AccessRecord(api_key=key, tool="listCases", outcome=Outcome.SUCCESS))
    for capture in reversed(captures):
        capture.__exit__(None, None, None)
    statements = [q["sql"] for c in captures for q in c.captured_queries if "SAVEPOINT" not in q["sql"].upper()]
    assert len(statements) == 1 and statements[0].upper().startswith("INSERT"), statements
    # The owner comes from the key's user id, without loading the user.
    assert PublicApiAccess.objects.get().user_id == owner.pk


def test_username_snapshot_taken_from_key_owner_when_loaded(owner, key_and_plaintext):
    key = ApiKey.objects.select_related("user").get(pk=key_and_plaintext[0].pk)
    record_access(AccessRecord(api_key=key, tool="listTenant", outcome=Outcome.SUCCESS))
    row = PublicApiAccess.objects.get()
    assert (row.user_id, row.username, row.key_public_id) == (owner.pk, "alice", key.public_id)


def test_refused_authentication_row_has_no_user_and_the_presented_key_id():
    record_access(
        AccessRecord(key_public_id="abcdefghij12", outcome=Outcome.UNAUTHENTICATED, http_status=401, client_ip="198.51.100.2")
    )
    row = PublicApiAccess.objects.get()
    assert row.user_id is None and row.username == "" and row.api_key_id is None
    assert (row.key_public_id, row.outcome, row.http_status) == ("abcdefghij12", "unauthenticated", 401)


def test_no_key_or_token_in_any_column(owner, key_and_plaintext):
    key, plaintext = key_and_plaintext
    token = access_token_issue(api_key=key)["access_token"]
    other_token = secrets.token_urlsafe(48)
    secret_part = plaintext[-32:]
    signature = token.rsplit(".", 1)[1]
    record_access(
        AccessRecord(
            user=owner,
            api_key=key,
            endpoint=f"GET /connect/api/v1/cases?key={plaintext}",
            tool=plaintext,
            arguments={
                "search": f"my key is {plaintext} please",
                "api_key": plaintext,
                "Authorization": f"Bearer {token}",
                "nested": {"list": [token, {"deeper": other_token}]},
                "note": f"token={token};",
                plaintext: "a key used as a name",
                "password": "hunter2",
                "clientSecret": "short",
            },
            outcome=Outcome.TOOL_ERROR,
            error=f"Invalid credential {plaintext} / {token}",
            case_ids=[plaintext],
            alert_ids=[token],
            tenant_ids=[other_token],
            changes=[{"field": "tags", "from": [], "to": [plaintext, token]}],
            user_agent=f"agent {token}",
            request_id="r1",
        )
    )
    record_access(AccessRecord(key_public_id=key.public_id, arguments=[plaintext], outcome=Outcome.UNAUTHENTICATED))
    text = _all_column_text()
    assert PublicApiAccess.objects.count() == 2
    for secret in (plaintext, secret_part, token, signature, other_token, "hunter2", "short"):
        assert secret not in text, secret
    # What is not a secret survives.
    row = PublicApiAccess.objects.get(request_id="r1")
    assert row.arguments["search"] == "my key is [REDACTED] please"
    assert row.arguments["password"] == "[REDACTED]"


def test_ids_and_ordinary_words_are_kept():
    args = {
        "alert_id": ALERT_UUID,
        "cust_id": CUST_ID,
        "_id": CASE_ID,
        "ticket_id": 1300,
        "keyword": "ransomware",
        "sort": "created_at",
        "tags": ["phishing", "email"],
        "name": "a_long_snake_case_name_without_any_digits_in_it",
    }
    assert redact_arguments(args) == args


def test_long_strings_are_cut_with_a_marker():
    record_access(AccessRecord(arguments={"search": "x" * 5000}, error="e" * 10_000, user_agent="u" * 1000))
    row = PublicApiAccess.objects.get()
    assert len(row.arguments["search"]) == 500 and "[cut 4500 chars]" in row.arguments["search"]
    assert len(row.error) <= 2000 and "[cut " in row.error
    assert len(row.user_agent) <= 300 and "[cut " in row.user_agent


def test_arguments_bounded_in_size_and_depth():
    deep: dict = {"leaf": 1}
    for _ in range(20):
        deep = {"d": deep}
    record_access(AccessRecord(arguments={"deep": deep, "wide": {f"k{i}": "v" * 200 for i in range(500)}}))
    stored = PublicApiAccess.objects.get().arguments
    assert len(json.dumps(stored, ensure_ascii=False).encode()) <= MAX_JSON_BYTES
    assert "[depth limit]" in json.dumps(stored)


def test_many_ids_keep_whole_entries_and_say_how_many_were_cut():
    tenants = [secrets.token_hex(16) for _ in range(40)]
    record_access(AccessRecord(tenant_ids=tenants, outcome=Outcome.SUCCESS))
    stored = PublicApiAccess.objects.get().tenant_ids
    assert len(stored) <= 500
    parts = stored.split(",")
    assert parts[-1].startswith("+") and int(parts[-1][1:]) == 40 - (len(parts) - 1)
    assert parts[:-1] == tenants[: len(parts) - 1]


def test_invalid_client_ip_is_stored_as_unknown():
    record_access(AccessRecord(client_ip="not-an-ip", outcome=Outcome.SUCCESS))
    assert PublicApiAccess.objects.get().client_ip is None


def test_failure_with_an_unsaved_user_is_logged_and_not_raised(caplog):
    unsaved = get_user_model()(username="ghost")
    with caplog.at_level(logging.ERROR, logger="audit"):
        record_access(AccessRecord(user=unsaved, tool="listCases", outcome=Outcome.SUCCESS, request_id="rid-9"))
    assert PublicApiAccess.objects.count() == 0
    [log] = [r for r in caplog.records if r.name == "audit"]
    assert log.levelno == logging.ERROR and log.exc_info is not None
    assert log.audit_request_id == "rid-9" and log.audit_tool == "listCases"


def test_database_failure_inside_a_transaction_leaves_the_transaction_usable(caplog, owner):
    # A negative status breaks the column's CHECK constraint: the INSERT itself fails in the database.
    with caplog.at_level(logging.ERROR, logger="audit"):
        record_access(AccessRecord(user=owner, outcome=Outcome.SUCCESS, http_status=-1))
    assert [r.levelno for r in caplog.records if r.name == "audit"] == [logging.ERROR]
    # The caller's transaction (the test's) still answers queries and accepts the next row.
    record_access(AccessRecord(user=owner, outcome=Outcome.SUCCESS))
    assert PublicApiAccess.objects.count() == 1


def test_failure_with_an_unsaved_api_key_is_logged_and_not_raised(caplog, owner):
    public_id, _ = generate_key()
    unsaved_key = ApiKey(public_id=public_id, name="never saved", user=owner)
    with caplog.at_level(logging.ERROR, logger="audit"):
        record_access(AccessRecord(user=owner, api_key=unsaved_key, outcome=Outcome.SUCCESS))
    assert PublicApiAccess.objects.count() == 0
    assert any(r.name == "audit" and r.levelno == logging.ERROR for r in caplog.records)


_text = st.text(alphabet=string.ascii_letters + string.digits + " _-.:/=+", max_size=40)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | _text,
    lambda children: st.lists(children, max_size=6) | st.dictionaries(_text, children, max_size=6),
    max_leaves=40,
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(value=_json, prefix=_text, suffix=_text, data=st.data())
def test_an_api_key_anywhere_in_the_arguments_never_survives(value, prefix, suffix, data):
    plaintext = generate_key().plaintext
    planted = f"{prefix}{plaintext}{suffix}"
    args = {"v": value, "p": planted} if data.draw(st.booleans()) else {"v": [value, {planted: value}]}
    stored = json.dumps(redact_arguments(args), ensure_ascii=False)
    assert plaintext not in stored
    assert plaintext[-32:] not in stored
    assert len(stored.encode()) <= MAX_JSON_BYTES


@settings(max_examples=100)
@given(size=st.integers(min_value=0, max_value=3000), width=st.integers(min_value=1, max_value=300))
def test_arguments_never_exceed_the_json_bound(size, width):
    args = {f"field{i}": "é" * width for i in range(size // 10)}
    args["list"] = list(range(size))
    assert len(json.dumps(redact_arguments(args), ensure_ascii=False).encode()) <= MAX_JSON_BYTES

