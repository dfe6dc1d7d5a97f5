"""Per-key rate limits, shared by all workers: an isError result that says when to retry, audited."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.services import api_key_create
from audit.models import PublicApiAccess
from tests.conftest import LiveServer
from tests.factories import make_case, make_tenant, make_user
from tests.mcp_helpers import RawMcp


@pytest.fixture
def limited_server(transactional_db, django_db_blocker):
    with django_db_blocker.unblock():
        server = LiveServer({"MCP_CALLS_PER_MINUTE": "6", "MCP_WRITE_CALLS_PER_MINUTE": "2"}, workers=3)
    yield server
    server.stop()


def test_read_and_write_budgets_per_key(limited_server):
    tenant = make_tenant()
    user = make_user(tenants=[tenant])
    case = make_case(tenant)
    _, key = api_key_create(user=user, name="limited")
    _, other_key = api_key_create(user=user, name="other")
    raw = RawMcp(limited_server.url, key)

    for severity in ("High", "Low"):
        assert not raw.call("updateCase", {"_id": case.stellar_id, "severity": severity})["result"]["isError"]
    refused = raw.call("updateCase", {"_id": case.stellar_id, "severity": "Critical"})["result"]
    assert refused["isError"]
    text = refused["content"][0]["text"]
    assert "Rate limit reached" in text and "updates" in text and "Retry updateCase in" in text
    wait = int(text.split("Retry updateCase in ")[1].split(" ")[0])
    assert 1 <= wait <= 60

    # Reads have their own, larger budget: 6 per minute, the two updates included.
    results = [raw.call("listTenant")["result"] for _ in range(5)]
    assert [r["isError"] for r in results] == [False, False, False, False, True]
    assert "Retry listTenant in" in results[-1]["content"][0]["text"]

    # Another key of the same user is not affected.
    assert not RawMcp(limited_server.url, other_key).call("listTenant")["result"]["isError"]

    outcomes = list(PublicApiAccess.objects.order_by("id").values_list("tool", "outcome"))
    assert outcomes.count(("updateCase", "rate_limited")) == 1
    assert outcomes.count(("listTenant", "rate_limited")) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("per_endpoint", [False, True])
def test_the_check_reads_index_entries_only(per_endpoint):
    # It runs on every tool call: on a busy key it walks up to `limit` entries, which must not each
    # cost a row lookup. A log of 50 keys and 5 tools, with statistics, as a planner meets it in use.
    from datetime import timedelta

    from django.db import connections

    from audit.budgets import WRITE_ENDPOINTS, _nth_latest_call_sql
    from stellar_mcp_site.db_router import audit_database

    alias = audit_database()
    connection = connections[alias]
    now = timezone.now()
    endpoints = ["GET /connect/api/v1/cases", "GET /connect/api/v1/cases/{id}", "GET /connect/api/v1/tenants",
                 "GET /connect/api/v1/cases/{id}/alerts", "PUT /connect/api/v1/cases/{id}"]
    PublicApiAccess.objects.using(alias).bulk_create(
        PublicApiAccess(timestamp=now - timedelta(milliseconds=20 * i), key_public_id=f"key{i % 50:04d}",
                        endpoint=endpoints[i % 5], outcome="success", arguments={})
        for i in range(3000)
    )
    params = ["key0007", connection.ops.adapt_datetimefield_value(now - timedelta(minutes=1)), "unauthenticated",
              "rate_limited", *(WRITE_ENDPOINTS if per_endpoint else []), 59]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_publicapiaccess")
        explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
        cursor.execute(explain + _nth_latest_call_sql(per_endpoint, using=alias), params)
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    if connection.vendor == "sqlite":
        assert "COVERING INDEX paa_key_time_outcome_endpoint" in plan, plan
    else:  # an index-only scan once vacuum has marked the pages visible (the test runs in a transaction);
        # each month's partition has its own copy of the index, named after the partition and the columns
        assert "paa_key_time_outcome_endpoint" in plan or "_key_public_id_timestamp_outco" in plan, plan
