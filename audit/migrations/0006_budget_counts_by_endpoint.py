from django.db import migrations, models


class Migration(migrations.Migration):
    """The per-key budgets count changes by endpoint, which both doors record alike, rather than by tool."""

    dependencies = [
        ("audit", "0005_unindexed_user_and_key_ids"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="publicapiaccess", name="paa_key_time_outcome_tool"),
        migrations.AddIndex(
            model_name="publicapiaccess",
            index=models.Index(
                fields=["key_public_id", "timestamp", "outcome", "endpoint"], name="paa_key_time_outcome_endpoint"
            ),
        ),
    ]
