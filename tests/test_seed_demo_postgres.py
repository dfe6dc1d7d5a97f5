"""`seed_demo` on PostgreSQL: COPY from worker processes, the indexes built after, and the column types."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from cases.backend.sql import postgres
from cases.demo_data import seed_demo
from cases.models import Alert, Case
from tests.seed_support import NOW, SMALL, snapshot, times, wipe

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing"),
              pytest.mark.skipif(not postgres(), reason="PostgreSQL's seeding and schema")]


def _case_tables_schema() -> set[tuple[str, str]]:
    """Every index and constraint definition of the case tables, by name."""
    from cases.demo_data.postgres_load import TABLES

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
            "WHERE indrelid = ANY(%s::regclass[]) UNION ALL "
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = ANY(%s::regclass[])",
            [TABLES, TABLES],
        )
        return set(cursor.fetchall())


def test_postgres_worker_processes_build_the_same_data_and_every_index_comes_back() -> None:
    schema = _case_tables_schema()
    assert len(schema) > 40
    arguments = dict(tenants=3, cases=2500, alerts_per_case=1, days=30, seed=5, now=NOW)  # three chunks
    seed_demo(**arguments, workers=0)
    built_here, built_here_times = snapshot(), times()
    documents = list(Alert.objects.order_by("stellar_uuid").values_list("source", "ai_summary"))
    assert _case_tables_schema() == schema
    wipe()
    result = seed_demo(**arguments, workers=2)
    assert result.cases == 2500 and result.alerts == 2500
    assert snapshot() == built_here
    assert times() == built_here_times
    assert list(Alert.objects.order_by("stellar_uuid").values_list("source", "ai_summary")) == documents
    assert _case_tables_schema() == schema
    # The ids were taken from the table's sequence: the next case written gets a new one.
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('cases_case', 'id'))")
        assert cursor.fetchone()[0] > max(Case.objects.values_list("id", flat=True))


def test_ids_are_indexed_for_equality_only() -> None:
    """Ids are looked up by equality, never by prefix: no `varchar_pattern_ops` twin to build and write."""
    schema = dict(_case_tables_schema())
    assert not [name for name, definition in schema.items() if "pattern_ops" in definition]
    for table, column in (("cases_alert", "es_id"), ("cases_alert", "stellar_uuid"), ("cases_case", "stellar_id"),
                          ("cases_comment", "stellar_id")):
        assert any(f"ON public.{table} USING btree ({column})" in d or f"UNIQUE ({column})" in d
                   for d in schema.values()), (table, column)


def test_alert_documents_are_kept_as_json_text_and_read_back_whole() -> None:
    """An alert's `_source` is only ever read whole: PostgreSQL keeps it as `json` (stored as written, not taken
    apart into `jsonb`), and every way of reading it gives back the document written, a bare string included."""
    seed_demo(now=NOW, **SMALL)
    with connection.cursor() as cursor:
        cursor.execute("SELECT data_type FROM information_schema.columns "
                       "WHERE table_name = 'cases_alert' AND column_name = 'source'")
        assert cursor.fetchone()[0] == "json"
    alert = Alert.objects.order_by("id").first()
    seeded = alert.source
    assert isinstance(seeded, dict) and seeded["timestamp"]
    for document in ({"name": "Ünïcode \"quoted\" \\ tab\t", "nested": [1, 2.5, None, True, {"k": []}]}, "123", [1]):
        Alert.objects.filter(pk=alert.pk).update(source=document)
        assert Alert.objects.get(pk=alert.pk).source == document
        assert Alert.objects.filter(pk=alert.pk).values_list("source", flat=True).get() == document
        assert Alert.objects.filter(pk=alert.pk).values("source").get()["source"] == document
    # Written through the ORM too, the text is kept as written: keys in the order given (`jsonb` would put
    # shorter keys first, then sort them).
    alert.source = {"alpha": {"b": 2, "a": 1}, "b": 1}
    alert.save(update_fields=["source"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT source::text FROM cases_alert WHERE id = %s", [alert.pk])
        assert list(json.loads(cursor.fetchone()[0])) == ["alpha", "b"]
    assert list(Alert.objects.get(pk=alert.pk).source["alpha"]) == ["b", "a"]
