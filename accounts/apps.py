from django.apps import AppConfig
from django.core.management import call_command
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"

    def ready(self) -> None:
        post_migrate.connect(_create_cache_table, sender=self)


def _create_cache_table(*, using: str, verbosity: int = 1, **kwargs) -> None:
    # Authentication counts failures per address in the cache: with the database cache (the default) its
    # table must exist, or every request fails. `migrate` makes it as it makes every other table
    # (createcachetable does nothing when it exists, or when the cache is not the database's).
    call_command("createcachetable", database=using, verbosity=max(0, verbosity - 1))
