"""A version of SQLite's search index (0004) that changes with every change of the index, so what the
index holds for a text (its cases' ids or their count) can be kept across calls for as long as the
index stays as it was (cases/backend/text_matches.py).

The version is one row, `token`, that the index's own triggers set to a new random value in the
same statement, and so the same transaction, as the change they index. Random rather than a counter:
a count taken inside a transaction that is then rolled back must never match a later state of the
index, and a counter rolled back with it would count the same numbers again. The triggers of 0004 are
replaced by the same ones with that one step added (`_with_new_token`).

On SQLite, a later migration that rebuilds cases_case drops the triggers with the old table: it must
create them again (`create_triggers` below). tests/test_case_search_index.py fails if they are missing.
PostgreSQL has no such index (its trigram GIN indexes serve search); this operation does nothing there.
"""

import importlib

from django.db import migrations

index_migration = importlib.import_module("cases.migrations.0004_case_search_index")

VERSION_TABLE = "cases_case_search_version"
_NEW_TOKEN = f"UPDATE {VERSION_TABLE} SET token = random();"


def _with_new_token(trigger_sql: str) -> str:
    """One of 0004's triggers with the token step as its last."""
    body, end = trigger_sql.rsplit("END", 1)
    return f"{body}    {_NEW_TOKEN}\n        END{end}"


TRIGGERS = {name: _with_new_token(sql) for name, sql in index_migration.TRIGGERS.items()}


def create_triggers(schema_editor) -> None:
    for sql in TRIGGERS.values():
        schema_editor.execute(sql)


def _drop_triggers(schema_editor) -> None:
    for name in TRIGGERS:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


def add_version(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    schema_editor.execute(
        f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (id INTEGER PRIMARY KEY CHECK (id = 1), token INTEGER NOT NULL)"
    )
    schema_editor.execute(f"INSERT OR REPLACE INTO {VERSION_TABLE} (id, token) VALUES (1, random())")
    _drop_triggers(schema_editor)
    create_triggers(schema_editor)


def remove_version(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    _drop_triggers(schema_editor)
    index_migration.create_triggers(schema_editor)
    schema_editor.execute(f"DROP TABLE IF EXISTS {VERSION_TABLE}")


class Migration(migrations.Migration):
    dependencies = [("cases", "0006_case_list_covering_indexes")]

    operations = [migrations.RunPython(add_version, remove_version, elidable=False)]
