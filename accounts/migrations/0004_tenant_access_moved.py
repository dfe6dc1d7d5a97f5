from django.db import migrations, models


class Migration(migrations.Migration):
    """TenantAccess now belongs to the tenants app (tenants.0001 adopts its tables as they are)."""

    dependencies = [
        ("accounts", "0003_apikey_restricted"),
        ("tenants", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="apikey",
                    name="tenants",
                    field=models.ManyToManyField(
                        blank=True, help_text="The tenants a restricted key is limited to.", related_name="+",
                        to="tenants.tenant",
                    ),
                ),
                migrations.DeleteModel(name="TenantAccess"),
            ],
            database_operations=[],
        ),
    ]
