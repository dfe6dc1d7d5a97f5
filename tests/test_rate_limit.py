"""Per-key rate limits, shared by all workers: an isError result that says when to retry, audited."""

from __future__ import annotations

import pytest

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
