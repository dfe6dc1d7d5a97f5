"""Drop the `varchar_pattern_ops` twins PostgreSQL's backend adds to every indexed CharField: nothing looks
up an alert's `_id` or uuid, a case's or a comment's stellar id by prefix (LIKE), only by equality, which
the plain index or unique constraint answers. At a million cases the four take 570 MB and 14 s of index
builds after a bulk load, and each costs a write per row inserted.

Only the indexes go, and only on PostgreSQL (no other backend makes them); the fields keep their
definitions, so a later AlterField finds nothing it expects missing (PostgreSQL's schema editor drops
these with IF EXISTS).
"""

from django.db import migrations

FIELDS = (("Alert", "es_id"), ("Alert", "stellar_uuid"), ("Case", "stellar_id"), ("Comment", "stellar_id"))


def _like_indexes(apps, schema_editor):
    for model_name, field_name in FIELDS:
        model = apps.get_model("cases", model_name)
        field = model._meta.get_field(field_name)
        # The name Django gave the index (postgresql.schema.DatabaseSchemaEditor._create_like_index_sql).
        yield model, field, schema_editor._create_index_name(model._meta.db_table, [field.column], suffix="_like")


def drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for _model, _field, name in _like_indexes(apps, schema_editor):
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for model, field, _name in _like_indexes(apps, schema_editor):
        schema_editor.execute(schema_editor._create_like_index_sql(model, field))


class Migration(migrations.Migration):
    dependencies = [("cases", "0009_fk_indexes_served_by_composites")]

    operations = [migrations.RunPython(drop, create)]
