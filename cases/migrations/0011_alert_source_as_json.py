"""An alert's `_source` becomes a DocumentField: `json` instead of `jsonb` on PostgreSQL (cases/fields.py
says why). Other databases keep the same column, so only PostgreSQL's is changed (Django would rebuild
SQLite's whole alert table for a new field class)."""

from django.db import migrations

import cases.fields


def _alter(column_type: str):
    def alter(apps, schema_editor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE cases_alert ALTER COLUMN source TYPE {column_type} "
                                  f"USING source::{column_type}")
    return alter


class Migration(migrations.Migration):
    dependencies = [("cases", "0010_drop_unused_like_indexes")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(_alter("json"), _alter("jsonb"))],
            state_operations=[
                migrations.AlterField(
                    model_name="alert",
                    name="source",
                    field=cases.fields.DocumentField(help_text="The complete Elasticsearch document.",
                                                     verbose_name="_source"),
                ),
            ],
        ),
    ]
