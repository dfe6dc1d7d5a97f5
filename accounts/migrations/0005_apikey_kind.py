from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_tenant_access_moved"),
    ]

    operations = [
        migrations.AddField(
            model_name="apikey",
            name="kind",
            field=models.CharField(
                choices=[("api_key", "API key"), ("oauth", "OAuth grant")], default="api_key", editable=False,
                max_length=8,
            ),
        ),
    ]
