import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import tenants.models


def move_content_types(apps, schema_editor):
    """Permissions and admin history follow the models: their content types change app, not identity."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    types = ContentType.objects.using(schema_editor.connection.alias)
    for old_app, model in (("cases", "tenant"), ("accounts", "tenantaccess")):
        if not types.filter(app_label="tenants", model=model).exists():
            types.filter(app_label=old_app, model=model).update(app_label="tenants")


class Migration(migrations.Migration):
    """Tenant (from cases) and TenantAccess (from accounts) move here, so that accounts and cases both
    depend on them and not on each other. Their tables stay as they are: only Django's state moves."""

    initial = True

    dependencies = [
        ("cases", "0007_case_search_version"),
        ("accounts", "0003_apikey_restricted"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Tenant",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("cust_id", models.CharField(default=tenants.models.new_hex32, max_length=32, unique=True, validators=[django.core.validators.RegexValidator("^[0-9a-f]{32}$", "Must be 32 lowercase hex characters.")])),
                        ("cust_name", models.CharField(max_length=200)),
                        ("tgrp_name", models.CharField(blank=True, default="", max_length=200)),
                        ("created_at", models.DateTimeField()),
                        ("attributes", models.JSONField(blank=True, default=dict, help_text="Free attributes (address, contact, ...).")),
                    ],
                    options={"db_table": "cases_tenant", "ordering": ["cust_name"]},
                ),
                migrations.CreateModel(
                    name="TenantAccess",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("all_tenants", models.BooleanField(default=False, verbose_name="root (all tenants)")),
                        ("tenants", models.ManyToManyField(blank=True, db_table="accounts_tenantaccess_tenants", related_name="user_access", to="tenants.tenant")),
                        ("user", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name="tenant_access", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={"db_table": "accounts_tenantaccess", "verbose_name": "tenant access", "verbose_name_plural": "tenant access"},
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, migrations.RunPython.noop),
    ]
