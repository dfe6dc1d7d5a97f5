"""Drop the indexes on the audit rows' user and key id columns (see the comment on the model's fields).

Django would rebuild the whole table on SQLite to change db_index (twice, one copy per field): this
migration changes the model state as AlterField does and drops just the two indexes, found by
introspection because their names were generated.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

COLUMNS = ("user_id", "api_key_id")


def _single_column_indexes(schema_editor, table: str, column: str) -> list[str]:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return [name for name, info in constraints.items()
            if info["index"] and not info["unique"] and not info["primary_key"] and info["columns"] == [column]]


def drop_indexes(apps, schema_editor) -> None:
    model = apps.get_model("audit", "PublicApiAccess")
    for column in COLUMNS:
        for name in _single_column_indexes(schema_editor, model._meta.db_table, column):
            schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")


def create_indexes(apps, schema_editor) -> None:
    model = apps.get_model("audit", "PublicApiAccess")
    for column in COLUMNS:
        if not _single_column_indexes(schema_editor, model._meta.db_table, column):
            field = next(f for f in model._meta.concrete_fields if f.column == column)
            schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_apikey_grace_until'),
        ('audit', '0004_rate_limit_reads_the_key_index_only'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='publicapiaccess',
                    name='api_key',
                    field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='accounts.apikey'),
                ),
                migrations.AlterField(
                    model_name='publicapiaccess',
                    name='user',
                    field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL),
                ),
            ],
            database_operations=[migrations.RunPython(drop_indexes, create_indexes)],
        ),
    ]
