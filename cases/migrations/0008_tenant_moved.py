import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Tenant now belongs to the tenants app (tenants.0001 adopts its table as it is)."""

    dependencies = [
        ("cases", "0007_case_search_version"),
        ("tenants", "0001_initial"),
        ("accounts", "0004_tenant_access_moved"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="case",
                    name="tenant",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="cases", to="tenants.tenant"),
                ),
                migrations.AlterField(
                    model_name="alert",
                    name="tenant",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="alerts", to="tenants.tenant"),
                ),
                migrations.DeleteModel(name="Tenant"),
            ],
            database_operations=[],
        ),
    ]
