from django.db import migrations, models


def mark_restricted_keys(apps, schema_editor):
    ApiKey = apps.get_model("accounts", "ApiKey")
    through = ApiKey.tenants.through
    key_ids = through.objects.using(schema_editor.connection.alias).values("apikey_id")
    ApiKey.objects.using(schema_editor.connection.alias).filter(pk__in=key_ids).update(restricted=True)


class Migration(migrations.Migration):
    """A key listed with tenants is restricted; the flag keeps it so after those tenants are deleted."""

    dependencies = [
        ("accounts", "0002_apikey_grace_until"),
        ("cases", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="apikey",
            name="restricted",
            field=models.BooleanField(
                default=False, editable=False,
                help_text="The key reaches only the listed tenants (those its owner may access); none left: nothing.",
                verbose_name="limited to listed tenants",
            ),
        ),
        migrations.AlterField(
            model_name="apikey",
            name="tenants",
            field=models.ManyToManyField(
                blank=True, help_text="The tenants a restricted key is limited to.", related_name="+",
                to="cases.tenant",
            ),
        ),
        migrations.RunPython(mark_restricted_keys, migrations.RunPython.noop),
    ]
