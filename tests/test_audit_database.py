"""Where the Activity Log lives: on SQLite a file of its own, and audit rows that outlive their user and key."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, connections
from django.urls import reverse

from accounts.services import api_key_create
from audit.models import Outcome, PublicApiAccess
from audit.recorder import AccessRecord, record_access
from stellar_mcp_site.db_router import audit_database
from tests.conftest import ROOT, is_sqlite
from tests.factories import make_case, make_tenant, make_user
from tests.mcp_helpers import RawMcp

sqlite_only = pytest.mark.skipif(
    not is_sqlite(connection.settings_dict), reason="SQLite only: PostgreSQL keeps the log in its main database"
)


@sqlite_only
def test_read_calls_commit_nothing_to_the_main_file(live_url):
    # Any commit to a SQLite file empties the page cache of every other connection to it: the audit
    # row each call writes goes to the log's own file, so reads leave the workers' case pages cached.
    tenant = make_tenant("Acme")
    case = make_case(tenant, name="Beacon")
    _, key = api_key_create(user=make_user("alice", tenants=[tenant]), name="reader")
    main = connection.settings_dict["NAME"]
    log = connections["audit"].settings_dict["NAME"]
    assert main != log
    mcp = RawMcp(live_url, key)
    mcp.call("listTenant")  # the key's first use records last_used_at (then at most once a minute)
    watch_main, watch_log = sqlite3.connect(main), sqlite3.connect(log)
    try:
        before = [w.execute("PRAGMA data_version").fetchone()[0] for w in (watch_main, watch_log)]
        for tool, arguments in (("listCases", {}), ("getCaseDetail", {"_id": case.stellar_id}), ("listTenant", {})):
            assert not mcp.call(tool, arguments)["result"]["isError"]
        after = [w.execute("PRAGMA data_version").fetchone()[0] for w in (watch_main, watch_log)]
    finally:
        watch_main.close()
        watch_log.close()
    assert after[0] == before[0], "a read call committed to the main database"
    assert after[1] != before[1]
    assert PublicApiAccess.objects.filter(tool__in=["listCases", "getCaseDetail", "listTenant"]).count() == 4


@sqlite_only
def test_the_log_and_the_cases_are_in_separate_files():
    tables = {
        alias: {row[0] for row in sqlite3.connect(connections[alias].settings_dict["NAME"]).execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        for alias in ("default", "audit")
    }
    assert "audit_publicapiaccess" in tables["audit"] and "cases_case" not in tables["audit"]
    assert "cases_case" in tables["default"] and "audit_publicapiaccess" not in tables["default"]


@sqlite_only
def test_migrate_creates_both_files(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'site.sqlite3'}", "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    log = sqlite3.connect(tmp_path / "site-audit.sqlite3")
    assert log.execute("SELECT count(*) FROM audit_publicapiaccess").fetchone() == (0,)
    main = sqlite3.connect(tmp_path / "site.sqlite3")
    assert main.execute("SELECT count(*) FROM cases_case").fetchone() == (0,)


@pytest.mark.django_db
def test_rows_outlive_their_key_and_user(admin_client):
    owner = get_user_model().objects.create_user("leaver", password="pw-not-used-here")
    key, _ = api_key_create(user=owner, name="laptop")
    record_access(AccessRecord(api_key=key, user=owner, tool="listTenant", outcome=Outcome.SUCCESS))
    key_pk, owner_pk = key.pk, owner.pk
    key.delete()
    owner.delete()
    row = PublicApiAccess.objects.using(audit_database()).get()
    assert (row.user_id, row.api_key_id, row.username) == (owner_pk, key_pk, "leaver")
    page = admin_client.get(reverse("admin:audit_publicapiaccess_change", args=[row.pk]))
    assert page.status_code == 200 and "leaver" in page.content.decode()


@pytest.mark.django_db
def test_the_admin_shows_the_user_of_a_row():
    # Reading row.user goes to the users' database, wherever the row lives.
    owner = get_user_model().objects.create_user("stayer", password="pw-not-used-here")
    record_access(AccessRecord(user=owner, tool="listTenant", outcome=Outcome.SUCCESS))
    assert PublicApiAccess.objects.get().user == owner


@pytest.mark.django_db
def test_the_log_indexes_what_is_read_and_nothing_else():
    # Each index is a page the INSERT of every call writes: the user and key id columns, which nothing
    # looks rows up by, carry none (audit.0005 drops them without rebuilding the table).
    connection = connections[audit_database()]
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, PublicApiAccess._meta.db_table)
    indexes = {name: info for name, info in constraints.items() if info["index"] and not info["primary_key"]}
    # On PostgreSQL, the search box's GIN index over each row's case ids (an expression: no plain columns).
    if connection.vendor == "postgresql":
        assert indexes.pop("paa_case_ids")["type"] == "gin"
    indexed = {tuple(info["columns"]) for info in indexes.values()}
    assert indexed == {
        ("timestamp",), ("request_id",), ("username", "timestamp"), ("outcome", "timestamp"), ("tool", "timestamp"),
        ("key_public_id", "timestamp", "outcome", "endpoint"),
    }


@sqlite_only
@pytest.mark.django_db
def test_the_log_file_checkpoints_every_10000_wal_pages():
    # One INSERT per call: at the default (1,000 pages) a checkpoint landed on 1 call in ~150.
    def autocheckpoint(alias: str) -> int:
        with connections[alias].cursor() as cursor:
            cursor.execute("PRAGMA wal_autocheckpoint")
            return cursor.fetchone()[0]

    assert autocheckpoint(audit_database()) == 10_000
    assert autocheckpoint("default") == 1_000
