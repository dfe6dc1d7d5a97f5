"""listCases `search` and `name` on SQLite: an FTS5 trigram index over search_text and name.

`search` means "every term is a substring of the lower-cased search_text", `name` "a case-insensitive
substring of the name". SQLite answered them by reading the text of every case in the range (100,000
cases: 110-180 ms whatever the text). An FTS5 table with the trigram tokenizer answers a substring of
three characters or more from an index (a rare one: under 1 ms). PostgreSQL has its trigram GIN
indexes for the same job (migration 0002); this operation does nothing there.

The table is an external-content index: it stores no copy of the text, only the trigrams, keyed by
the case's id, and triggers keep it in step with every insert, delete and change of the texts,
whoever writes (the ORM, raw SQL, a bulk load).

On SQLite, a later migration that rebuilds cases_case (Django does for most column changes there)
drops these triggers with the old table: it must create them again, as migration 0007 replaced them
(its `create_triggers`). `tests/test_case_search_index.py` fails if they are missing.
"""

from django.db import migrations

TABLE = "cases_case_search"

TRIGGERS = {
    "cases_case_search_insert": f"""
        CREATE TRIGGER IF NOT EXISTS cases_case_search_insert AFTER INSERT ON cases_case BEGIN
            INSERT INTO {TABLE}(rowid, search_text, name) VALUES (new.id, new.search_text, new.name);
        END""",
    "cases_case_search_delete": f"""
        CREATE TRIGGER IF NOT EXISTS cases_case_search_delete AFTER DELETE ON cases_case BEGIN
            INSERT INTO {TABLE}({TABLE}, rowid, search_text, name) VALUES ('delete', old.id, old.search_text, old.name);
        END""",
    # Only when a text changes: a status or assignee update rewrites the column with the same value.
    "cases_case_search_update": f"""
        CREATE TRIGGER IF NOT EXISTS cases_case_search_update AFTER UPDATE ON cases_case
        WHEN old.search_text IS NOT new.search_text OR old.name IS NOT new.name OR old.id IS NOT new.id BEGIN
            INSERT INTO {TABLE}({TABLE}, rowid, search_text, name) VALUES ('delete', old.id, old.search_text, old.name);
            INSERT INTO {TABLE}(rowid, search_text, name) VALUES (new.id, new.search_text, new.name);
        END""",
}


def create_triggers(schema_editor) -> None:
    for sql in TRIGGERS.values():
        schema_editor.execute(sql)


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    schema_editor.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5("
        "search_text, name, content='cases_case', content_rowid='id', tokenize='trigram')"
    )
    create_triggers(schema_editor)
    # Index the cases already there.
    schema_editor.execute(f"INSERT INTO {TABLE}({TABLE}) VALUES ('rebuild')")


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for name in TRIGGERS:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
    schema_editor.execute(f"DROP TABLE IF EXISTS {TABLE}")


class Migration(migrations.Migration):
    dependencies = [("cases", "0003_case_severity_indexes")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
