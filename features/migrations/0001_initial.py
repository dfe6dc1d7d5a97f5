from django.db import migrations, models


class Migration(migrations.Migration):
    """The switches' model moves here from mcp_gateway, so that every door can read them; its table stays."""

    initial = True

    dependencies = [
        ("mcp_gateway", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="FeatureSettings",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("mcp_enabled", models.BooleanField(default=True, verbose_name="MCP server enabled")),
                        ("ai_summary_enabled", models.BooleanField(default=True, verbose_name="AI summary enabled")),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                    ],
                    options={
                        "verbose_name": "feature settings",
                        "verbose_name_plural": "feature settings",
                        "db_table": "mcp_gateway_featuresettings",
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
