"""On PostgreSQL, a GIN index over each row's case ids as an array, for the search box (audit/search.py)."""

from django.db import migrations


def create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX paa_case_ids ON audit_publicapiaccess USING gin (string_to_array(case_ids, ','))"
        )


def drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX paa_case_ids")


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0009_partition_by_month"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
