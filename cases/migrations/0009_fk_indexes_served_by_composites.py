"""Drop the single-column indexes of foreign keys that a composite index already leads with (a case's
tenant and assignee, the case of every child row): each is written on every change and built again after
each bulk load, and never chosen over the composite.

Only the indexes go: on SQLite an AlterField would rebuild all eight tables (and drop the search
triggers of cases_case with them), so the state changes alone and the database drops the indexes by name.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

FIELDS = (
    ("Case", "tenant"), ("Case", "assignee"), ("CaseTag", "case"), ("Alert", "case"), ("Observable", "case"),
    ("Comment", "case"), ("Activity", "case"), ("ScoreHistory", "case"),
)


def _indexes(apps, schema_editor):
    for model_name, field_name in FIELDS:
        model = apps.get_model("cases", model_name)
        field = model._meta.get_field(field_name)
        # The name Django gave the index when it created it (BaseDatabaseSchemaEditor._field_indexes_sql).
        yield model, field, schema_editor._create_index_name(model._meta.db_table, [field.column], suffix="")


def drop(apps, schema_editor) -> None:
    for _model, _field, name in _indexes(apps, schema_editor):
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def create(apps, schema_editor) -> None:
    for model, field, name in _indexes(apps, schema_editor):
        schema_editor.execute(schema_editor._create_index_sql(model, fields=[field], name=name))


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0008_tenant_moved"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="case", name="tenant",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                            related_name="cases", to="tenants.tenant"),
                ),
                migrations.AlterField(
                    model_name="case", name="assignee",
                    field=models.ForeignKey(blank=True, db_index=False, null=True,
                                            on_delete=django.db.models.deletion.SET_NULL,
                                            related_name="assigned_cases", to=settings.AUTH_USER_MODEL),
                ),
                migrations.AlterField(
                    model_name="casetag", name="case",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name="tag_rows", to="cases.case"),
                ),
                migrations.AlterField(
                    model_name="alert", name="case",
                    field=models.ForeignKey(blank=True, db_index=False, null=True,
                                            on_delete=django.db.models.deletion.SET_NULL, related_name="alerts",
                                            to="cases.case"),
                ),
                migrations.AlterField(
                    model_name="observable", name="case",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name="observables", to="cases.case"),
                ),
                migrations.AlterField(
                    model_name="comment", name="case",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name="comments", to="cases.case"),
                ),
                migrations.AlterField(
                    model_name="activity", name="case",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name="activities", to="cases.case"),
                ),
                migrations.AlterField(
                    model_name="scorehistory", name="case",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name="score_history", to="cases.case"),
                ),
            ],
            database_operations=[migrations.RunPython(drop, create)],
        ),
    ]
