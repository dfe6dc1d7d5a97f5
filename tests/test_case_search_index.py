"""SQLite's trigram index for listCases `search` and `name` (cases migration 0004): it exists with its
triggers after migrating, stays in step with the cases whoever writes them, answers searches from the
index (rare and common terms, common ones read in page order), and migrates back and forth. What the
filters mean is checked against a plain-Python model on every database by test_database_portability."""

from __future__ import annotations

import importlib
import sqlite3
import subprocess
import sys
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.backend import sqlite_plan, text_matches
from cases.backend.base import CaseQuery
from cases.backend.embedded import EmbeddedBackend
from cases.backend.sql import CASES
from cases.models import Case, build_search_text
from tests.conftest import ROOT
from tests.factories import ROOT_SCOPE, make_case, make_tenant, make_user, scope_for

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite",
                                reason="SQLite only: PostgreSQL answers search from its trigram GIN index")
# The index's triggers as migration 0007 made them (0004's with the version token of text_matches).
migration = importlib.import_module("cases.migrations.0007_case_search_version")
backend = EmbeddedBackend()
INDEX = text_matches.SEARCH_INDEX


def index_objects(cursor) -> set[str]:
    cursor.execute("SELECT name FROM sqlite_master WHERE name LIKE 'cases_case_search%' AND type IN ('table', 'trigger')")
    return {row[0] for row in cursor.fetchall()}


def check_integrity() -> None:
    """FTS5 compares the index with the cases table and raises if they differ."""
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {INDEX}({INDEX}, rank) VALUES ('integrity-check', 1)")


def indexed_ids(term: str) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT rowid FROM {INDEX} WHERE {INDEX} MATCH %s", ['"' + term + '"'])
        return {row[0] for row in cursor.fetchall()}


def found(search: str | None, **query) -> list[str]:
    return [item["_id"] for item in backend.list_cases(ROOT_SCOPE, CaseQuery(search=search, **query)).items]


@pytest.mark.django_db
def test_the_index_and_its_triggers_exist_after_migrating():
    # A later migration that rebuilds cases_case on SQLite drops the triggers with the old table.
    with connection.cursor() as cursor:
        assert {INDEX, text_matches.VERSION_TABLE, *migration.TRIGGERS} <= index_objects(cursor)
        cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'cases_case_search%'")
        assert all(text_matches.VERSION_TABLE in row[0] for row in cursor.fetchall())


@pytest.mark.django_db
def test_the_index_follows_every_kind_of_write():
    tenant = make_tenant()
    analyst = make_user("analyst-7", tenants=[tenant])
    saved = make_case(tenant, name="Beaconing from ws-101")
    now = timezone.now()
    bulk = Case.objects.bulk_create([
        Case(tenant=tenant, ticket_id=90_000 + i, name=f"Bulk host-{i}", created_at=now, modified_at=now,
             search_text=build_search_text(90_000 + i, f"Bulk host-{i}", [], "", ""))
        for i in range(3)
    ])
    assert indexed_ids("ws-101") == {saved.pk} and indexed_ids("bulk host-2") == {bulk[2].pk}

    saved.name = "Exfiltration from ws-202"
    saved.assignee = analyst
    saved.save()
    assert indexed_ids("ws-101") == set() and indexed_ids("ws-202") == {saved.pk}
    assert indexed_ids("analyst-7") == {saved.pk}

    Case.objects.filter(pk=bulk[0].pk).update(search_text="rewritten by sql")
    assert indexed_ids("rewritten") == {bulk[0].pk}
    Case.objects.filter(pk=bulk[0].pk).update(name="Renamed by sql")
    assert indexed_ids("bulk host-0") == set() and indexed_ids("renamed") == {bulk[0].pk}

    Case.objects.filter(pk=bulk[1].pk).update(status="Resolved")  # same text: the index is left alone
    assert indexed_ids("bulk host-1") == {bulk[1].pk}

    Case.objects.filter(pk=bulk[2].pk).delete()
    assert indexed_ids("bulk host-2") == set()
    check_integrity()


@pytest.mark.django_db
def test_searches_are_answered_from_the_index():
    tenant = make_tenant()
    target = make_case(tenant, name="Kerberoasting from srv-app01", tags=["vip"])
    make_case(tenant, name="Kerberoasting from srv-db02")
    with CaptureQueriesContext(connection) as captured:
        assert found("srv-app01 kerberoast") == [target.stellar_id]
    statements = [q["sql"] for q in captured.captured_queries]
    assert any(INDEX in sql for sql in statements) and not any("LIKE" in sql for sql in statements)
    # Terms shorter than a trigram are looked for in the text itself, next to the indexed ones.
    with CaptureQueriesContext(connection) as captured:
        assert found("01 kerberoasting vi") == [target.stellar_id]
    statements = [q["sql"] for q in captured.captured_queries]
    assert any(INDEX in sql for sql in statements)
    assert any("c.id IN (" in sql and "LIKE" in sql for sql in statements)
    # name: from the index from three characters, case-insensitively (the index folds case).
    with CaptureQueriesContext(connection) as captured:
        assert found(None, name="SRV-APP") == [target.stellar_id]
    statements = [q["sql"] for q in captured.captured_queries]
    assert any(INDEX in sql for sql in statements) and not any("LIKE" in sql for sql in statements)
    assert found(None, name="ap") == [target.stellar_id]


def ms(moment) -> int:
    return int(moment.timestamp() * 1000)


@pytest.mark.django_db
def test_a_common_term_is_counted_in_index_order_and_its_dense_pages_read_by_scanning():
    tenant = make_tenant()
    now = timezone.now()
    total = sqlite_plan.COMMON_MATCHES + 5
    old = 10 * 3600  # seconds: one matching case among them was created hours before the range
    Case.objects.bulk_create([
        Case(tenant=tenant, ticket_id=50_000 + i, name=f"Ransomware note on host-{i}",
             created_at=now - timedelta(seconds=old if i == 500 else i), modified_at=now,
             search_text=build_search_text(50_000 + i, f"Ransomware note on host-{i}", [], "", ""))
        for i in range(total + 1)
    ])
    make_case(tenant, name="Unrelated", created_at=now + timedelta(seconds=1))
    make_case(tenant, name="Ransomware, older", created_at=now - timedelta(seconds=old))
    hour = dict(created_from=ms(now - timedelta(hours=1)), created_to=ms(now + timedelta(hours=1)))
    in_hour = [50_000 + i for i in range(total + 1) if i != 500]

    with CaptureQueriesContext(connection) as captured:
        page = backend.list_cases(ROOT_SCOPE, CaseQuery(search="ransomware", limit=100, **hour))
    assert page.total == total and len(page.items) == 100
    count_sql = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT COUNT(*)") and "LIMIT" not in q["sql"]]
    # Counted in the range's order, each case tested against the matches collected once.
    assert count_sql and all(f"+c.id IN (SELECT rowid FROM {INDEX} WHERE {INDEX} MATCH" in sql for sql in count_sql)
    page_sql = [q["sql"] for q in captured.captured_queries if "LIMIT" in q["sql"] and "MATCH" not in q["sql"]]
    assert page_sql and all("c.search_text LIKE" in sql for sql in page_sql)

    seen = [item["ticket_id"] for item in page.items]
    while page.next_cursor:
        page = backend.list_cases(ROOT_SCOPE, CaseQuery(search="ransomware", limit=100, cursor=page.next_cursor, **hour))
        assert page.total == total
        seen += [item["ticket_id"] for item in page.items]
    assert seen == in_hour

    # A range that reaches back most of the cases' time: counted by complement (see the test below).
    most = dict(created_from=ms(now - timedelta(hours=9)), created_to=ms(now + timedelta(hours=1)))
    assert backend.list_cases(ROOT_SCOPE, CaseQuery(search="ransomware", limit=1, **most)).total == total

    # A range that holds every case is no condition: the term's cases are counted in its index (here
    # the count the call above kept: see test_a_common_texts_count_is_kept_while_the_index_stays).
    every = dict(created_from=ms(now - timedelta(days=1)), created_to=ms(now + timedelta(hours=1)))
    with CaptureQueriesContext(connection) as captured:
        page = backend.list_cases(ROOT_SCOPE, CaseQuery(search="ransomware", limit=100, **every))
    assert page.total == total + 2
    assert not any(q["sql"].startswith("SELECT COUNT(*)") for q in captured.captured_queries)
    # With another condition, the cases are counted.
    assert backend.list_cases(scope_for(tenant), CaseQuery(search="ransomware", limit=1, **every)).total == total + 2
    assert backend.list_cases(ROOT_SCOPE, CaseQuery(search="ransomware", limit=1, name="older", **every)).total == 1

    # Common in the index, rare in the range asked for: the page walks the range testing ids.
    seconds = dict(created_from=ms(now - timedelta(milliseconds=2500)), created_to=ms(now))
    with CaptureQueriesContext(connection) as captured:
        page = backend.list_cases(ROOT_SCOPE, CaseQuery(search="ransomware", limit=2, **seconds))
    assert page.total == 3 and [item["ticket_id"] for item in page.items] == [50_000, 50_001]
    page_sql = [q["sql"] for q in captured.captured_queries if "LIMIT" in q["sql"] and "MATCH" in q["sql"]]
    assert any(sql.startswith("SELECT c.id") and f"+c.id IN (SELECT rowid FROM {INDEX}" in sql for sql in page_sql)


# The count of a text's matches created beyond a range's bound (the complement).
BEYOND_COUNT = f"SELECT COUNT(*) FROM {CASES} c WHERE c.created_at"


@pytest.mark.django_db
def test_a_common_term_over_most_of_the_time_is_counted_by_complement():
    """All the term's matches less those created beyond the range, looked for among the ids of the cases
    created there: exact even where those ids interleave with the range's."""
    tenant, other = make_tenant(), make_tenant()
    now = timezone.now().replace(microsecond=0)
    n = 2 * sqlite_plan.COMMON_MATCHES  # one in seven is not a match
    Case.objects.bulk_create([
        Case(tenant=tenant if i % 2 else other, ticket_id=60_000 + i, name=f"Ransomware on host-{i}" if i % 7 else "Other",
             created_at=now - timedelta(seconds=i), modified_at=now,
             search_text=build_search_text(60_000 + i, f"Ransomware on host-{i}" if i % 7 else "Other", [], "", ""))
        for i in range(n)
    ])
    # Created long before the others but stored last, so the ids of the cases beyond the range's start
    # span every case of the range.
    early = make_case(tenant, name="Ransomware, early", created_at=now - timedelta(seconds=2 * n))
    low, high = now - timedelta(seconds=2 * n - 100), now - timedelta(seconds=30)  # 130 s of 2n left out
    cases = [*Case.objects.filter(ticket_id__gte=60_000), early]
    expected = sum(1 for c in cases if "ransomware" in c.search_text.lower() and low <= c.created_at <= high)
    assert 0 < expected < sum(1 for c in cases if "ransomware" in c.search_text.lower())

    query = CaseQuery(search="ransomware", limit=5, created_from=ms(low), created_to=ms(high))
    with CaptureQueriesContext(connection) as captured:
        page = backend.list_cases(ROOT_SCOPE, query)
    assert page.total == expected
    statements = [q["sql"] for q in captured.captured_queries]
    assert sum(f"(SELECT COUNT(*) FROM (SELECT rowid FROM {INDEX}" in sql for sql in statements) == 1  # all the matches
    beyond = [sql for sql in statements if sql.startswith(BEYOND_COUNT)]
    assert len(beyond) == 2 and all("rowid BETWEEN" in sql for sql in beyond)
    # Tested case by case (another condition: the tenant), the same cases.
    limited = backend.list_cases(scope_for(tenant, other), query)
    assert limited.total == expected and [i["_id"] for i in limited.items] == [i["_id"] for i in page.items]

    # A range that leaves out more than a quarter of the cases' time is counted case by case.
    recent = CaseQuery(search="ransomware", limit=5, created_from=ms(now - timedelta(seconds=n // 2)), created_to=ms(now))
    with CaptureQueriesContext(connection) as captured:
        total = backend.list_cases(ROOT_SCOPE, recent).total
    assert total == sum(1 for c in cases if "ransomware" in c.search_text.lower()
                        and now - timedelta(seconds=n // 2) <= c.created_at <= now)
    assert not any(q["sql"].startswith(BEYOND_COUNT) for q in captured.captured_queries)


@pytest.mark.django_db
def test_a_rare_term_matches_the_index_once_and_reads_the_cases_by_id():
    tenant = make_tenant()
    targets = [make_case(tenant, name=f"Mimikatz on dc-0{i}") for i in range(3)]
    make_case(tenant, name="Unrelated")
    with CaptureQueriesContext(connection) as captured:
        page = backend.list_cases(ROOT_SCOPE, CaseQuery(search="mimikatz", limit=2))
        page_2 = backend.list_cases(ROOT_SCOPE, CaseQuery(search="mimikatz", limit=2, cursor=page.next_cursor))
    assert page.total == page_2.total == 3
    assert [i["_id"] for i in page.items + page_2.items] == [c.stellar_id for c in reversed(targets)]
    statements = [q["sql"] for q in captured.captured_queries]
    assert sum("MATCH" in sql for sql in statements) == 1  # once: the second page's call reuses the ids
    assert not any("+c.id" in sql or "LIKE" in sql for sql in statements)
    with CaptureQueriesContext(connection) as captured:
        assert found("no-such-text") == []
    assert not any("COUNT(*)" in q["sql"] for q in captured.captured_queries)  # no case: nothing to count


def test_the_migration_reverses_and_indexes_existing_cases(tmp_path):
    db = tmp_path / "site.sqlite3"
    env = {"DATABASE_URL": f"sqlite:///{db}", "PATH": "/usr/bin:/bin"}

    def manage(*args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)

    manage("migrate", "--noinput", "-v0")
    manage("migrate", "cases", "0003", "--noinput", "-v0")
    assert index_objects(sqlite3.connect(db).cursor()) == set()
    manage("shell", "-c", "from tests.factories import make_case, make_tenant; "
                          "make_case(make_tenant(), name='Made before the index on host-77')")
    manage("migrate", "--noinput", "-v0")
    main = sqlite3.connect(db)
    assert {INDEX, text_matches.VERSION_TABLE, *migration.TRIGGERS} <= index_objects(main.cursor())
    (case_id,) = main.execute("SELECT id FROM cases_case").fetchone()
    assert main.execute(f"SELECT rowid FROM {INDEX} WHERE {INDEX} MATCH '\"host-77\"'").fetchall() == [(case_id,)]


def version_token() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT token FROM {text_matches.VERSION_TABLE}")
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_the_index_version_changes_with_every_change_of_the_index():
    tenant = make_tenant()
    seen = [version_token()]

    def changed() -> bool:
        seen.append(version_token())
        return seen[-1] != seen[-2]

    case = make_case(tenant, name="Beaconing from ws-101")
    assert changed()
    Case.objects.filter(pk=case.pk).update(status="Resolved")  # same texts: the index is left alone
    assert not changed()
    Case.objects.filter(pk=case.pk).update(name="Beaconing from ws-102")
    assert changed()
    Case.objects.filter(pk=case.pk).update(search_text="rewritten by sql")
    assert changed()
    Case.objects.filter(pk=case.pk).delete()
    assert changed()


def bulk_cases(tenant, first_ticket: int, count: int, name: str) -> list[Case]:
    now = timezone.now()
    return Case.objects.bulk_create([
        Case(tenant=tenant, ticket_id=first_ticket + i, name=f"{name} {i}", created_at=now - timedelta(seconds=i),
             modified_at=now, search_text=build_search_text(first_ticket + i, f"{name} {i}", [], "", ""))
        for i in range(count)
    ])


@pytest.mark.django_db
def test_a_common_texts_count_is_kept_while_the_index_stays():
    """The second search of a common text reads nothing of the index (no probe, no count), and any
    change of the index, even one rolled back, makes the next search count again."""
    tenant = make_tenant()
    n = sqlite_plan.COMMON_MATCHES + 5
    matching = bulk_cases(tenant, 70_000, n, "Ransomware note on host")

    def listed() -> tuple[int, bool]:
        """The total, and whether the index was read for it."""
        with CaptureQueriesContext(connection) as captured:
            total = backend.list_cases(ROOT_SCOPE, CaseQuery(search="ransomware", limit=3)).total
        return total, any("MATCH" in q["sql"] for q in captured.captured_queries)

    assert listed() == (n, True)
    assert listed() == (n, False)
    Case.objects.filter(pk=matching[0].pk).update(status="Resolved")
    assert listed() == (n, False)
    make_case(tenant, name="Ransomware, new")
    assert listed() == (n + 1, True)
    assert listed() == (n + 1, False)
    Case.objects.filter(pk=matching[1].pk).update(name="Phishing")
    Case.objects.filter(pk=matching[1].pk).update(search_text="phishing")
    assert listed() == (n, True)
    Case.objects.filter(pk=matching[2].pk).delete()
    assert listed() == (n - 1, True)

    # Counted inside a transaction that is rolled back: a later change, here one that adds no match,
    # must not find that count current (a counter, rolled back with it, would count to the same value).
    with transaction.atomic():
        bulk_cases(tenant, 80_000, 3, "Ransomware, rolled back")
        assert listed() == (n + 2, True)
        transaction.set_rollback(True)
    bulk_cases(tenant, 90_000, 3, "Phishing")
    assert listed() == (n - 1, True)

    # Callers limited to tenants are counted case by case, not from the kept all-tenant count.
    bulk_cases(make_tenant(), 95_000, 2, "Ransomware elsewhere")
    assert listed() == (n + 1, True)
    limited = backend.list_cases(scope_for(tenant), CaseQuery(search="ransomware", limit=3))
    assert limited.total == n - 1


@pytest.mark.django_db
def test_a_rare_texts_cases_are_kept_while_the_index_stays():
    """The ids of a rare text's cases serve the next searches of it, whatever else they filter, each
    narrowed by the caller's scope and filters; any change of the index makes the next one look again."""
    tenant, other = make_tenant(), make_tenant()
    on_host = [make_case(tenant, name="Beaconing from ws-311", status=status) for status in ("New", "Resolved")]
    elsewhere = make_case(other, name="Scan from ws-311")

    def found_ids(scope=ROOT_SCOPE, **query) -> tuple[set[str], bool]:
        """The cases found, and whether the index was read for them."""
        with CaptureQueriesContext(connection) as captured:
            page = backend.list_cases(scope, CaseQuery(search="ws-311", **query))
        return {item["_id"] for item in page.items}, any("MATCH" in q["sql"] for q in captured.captured_queries)

    every = {c.stellar_id for c in (*on_host, elsewhere)}
    assert found_ids() == (every, True)
    assert found_ids() == (every, False)
    assert found_ids(statuses=["Resolved"]) == ({on_host[1].stellar_id}, False)
    assert found_ids(scope_for(other)) == ({elsewhere.stellar_id}, False)
    Case.objects.filter(pk=on_host[0].pk).update(status="Escalated")  # the index is unchanged
    assert found_ids(statuses=["Escalated"]) == ({on_host[0].stellar_id}, False)
    added = make_case(other, name="Lateral movement to ws-311")
    assert found_ids(scope_for(other)) == ({elsewhere.stellar_id, added.stellar_id}, True)
    Case.objects.filter(pk=elsewhere.pk).update(name="Scan from ws-312", search_text="scan from ws-312")
    assert found_ids() == ({*every - {elsewhere.stellar_id}, added.stellar_id}, True)
    assert found_ids() == ({*every - {elsewhere.stellar_id}, added.stellar_id}, False)
