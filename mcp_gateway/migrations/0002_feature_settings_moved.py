from django.db import migrations


class Migration(migrations.Migration):
    """FeatureSettings now belongs to the features app (features.0001 adopts the table as it is)."""

    dependencies = [
        ("mcp_gateway", "0001_initial"),
        ("features", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="FeatureSettings")]),
    ]
