"""No call happens off the record: a change whose Activity Log row cannot be written is rolled back and the
client gets a retryable 503, on both doors and on both databases; a read is not answered either, unless
the operator set AUDIT_READS_FAIL_OPEN. Two ways the log fails are tried: its SQLite file held by another
writer past the busy timeout (as a backup or a stuck process would), and its table gone (any database).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from django.db import connections

from accounts.services import api_key_create
from audit.models import PublicApiAccess
from cases.models import Activity, Case
from stellar_mcp_site.db_router import audit_database
from tests.conftest import is_sqlite
from tests.factories import make_case, make_tenant, make_user
from tests.mcp_helpers import RawMcp

TABLE = PublicApiAccess._meta.db_table


@contextmanager
def audit_table_gone() -> Iterator[None]:
    connection = connections[audit_database()]
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {qn(TABLE)} RENAME TO {qn(TABLE + '_away')}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {qn(TABLE + '_away')} RENAME TO {qn(TABLE)}")


@contextmanager
def audit_file_held() -> Iterator[None]:
    """Another process's write transaction on the log's SQLite file."""
    holder = sqlite3.connect(connections[audit_database()].settings_dict["NAME"], timeout=0, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


class Calls:
    def __init__(self, url: str) -> None:
        tenant = make_tenant()
        self.case = make_case(tenant, tags=["before"])
        _, self.key = api_key_create(user=make_user("ana", tenants=[tenant]), name="k")
        self.url = url
        self.mcp = RawMcp(url, self.key)

    def mcp_update(self) -> httpx.Response:
        return self.mcp.legacy("tools/call", {"name": "updateCase", "arguments": {
            "_id": self.case.stellar_id, "tags": {"add": ["after"]}}})

    def rest_update(self) -> httpx.Response:
        return httpx.put(f"{self.url}/connect/api/v1/cases/{self.case.stellar_id}", json={"tags": {"add": ["after"]}},
                         headers={"Authorization": f"Bearer {self.key}"}, timeout=30)

    def mcp_read(self) -> httpx.Response:
        return self.mcp.legacy("tools/call", {"name": "getCaseDetail", "arguments": {"_id": self.case.stellar_id}})

    def rest_read(self) -> httpx.Response:
        return httpx.get(f"{self.url}/connect/api/v1/cases/{self.case.stellar_id}",
                         headers={"Authorization": f"Bearer {self.key}"}, timeout=30)

    def assert_unchanged(self) -> None:
        case = Case.objects.get(pk=self.case.pk)
        assert (case.version, case.tags) == (1, ["before"])
        assert not Activity.objects.filter(case=case).exists()


def assert_refused_retryably(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "2"
    body = response.json()
    message = body["error"]["message"] if "jsonrpc" in body else body["message"]
    assert "Activity Log" in message and "nothing was changed" in message


@pytest.mark.parametrize("door", ["mcp", "rest"])
def test_a_change_that_cannot_be_recorded_is_not_made(live_url, door):
    calls = Calls(live_url)
    update = calls.mcp_update if door == "mcp" else calls.rest_update
    with audit_table_gone():
        assert_refused_retryably(update())
        calls.assert_unchanged()
        assert_refused_retryably(calls.mcp_read() if door == "mcp" else calls.rest_read())
    assert update().status_code == 200
    assert Case.objects.get(pk=calls.case.pk).tags == ["before", "after"]
    assert PublicApiAccess.objects.filter(outcome="success").count() == 1


def test_a_change_is_not_made_while_the_log_file_is_held(start_server):
    if not is_sqlite(connections[audit_database()].settings_dict):
        pytest.skip("the Activity Log's own SQLite file")
    calls = Calls(start_server(SQLITE_BUSY_TIMEOUT_MS=300, MCP_CALLS_PER_MINUTE=0).url)
    with audit_file_held():
        assert_refused_retryably(calls.mcp_update())
        assert_refused_retryably(calls.rest_update())
        calls.assert_unchanged()
    assert calls.mcp_update().json()["result"]["isError"] is False
    assert PublicApiAccess.objects.get().changes == [{"field": "tags", "from": ["before"], "to": ["before", "after"]}]


def test_reads_may_be_answered_off_the_record_when_the_operator_chose_it(start_server):
    server = start_server(AUDIT_READS_FAIL_OPEN="true", MCP_CALLS_PER_MINUTE=0)
    calls = Calls(server.url)
    with audit_table_gone():
        assert calls.mcp_read().json()["result"]["isError"] is False
        assert calls.rest_read().status_code == 200
        assert_refused_retryably(calls.mcp_update())
        assert_refused_retryably(calls.rest_update())
    calls.assert_unchanged()
    assert "AUDIT WRITE FAILED" in server.log_text()
