from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("features", "0001_initial"),
        ("mcp_gateway", "0002_feature_settings_moved"),
    ]

    operations = [
        migrations.AddField(
            model_name="featuresettings",
            name="oauth_dcr_enabled",
            field=models.BooleanField(
                default=True, help_text="MCP clients may register themselves (RFC 7591) to sign users in.",
                verbose_name="OAuth: dynamic client registration",
            ),
        ),
        migrations.AddField(
            model_name="featuresettings",
            name="oauth_cimd_enabled",
            field=models.BooleanField(
                default=True, help_text="MCP clients may be known by the HTTPS URL of their metadata document.",
                verbose_name="OAuth: client metadata documents",
            ),
        ),
    ]
