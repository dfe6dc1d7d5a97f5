from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate
from django.utils import timezone


class AuditConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'audit'

    def ready(self) -> None:
        # The key lists (admin, profile page) show each key's recent calls, counted here.
        from accounts import usage

        from .selectors import calls_by_key

        usage.provide(calls_by_key)
        post_migrate.connect(_create_upcoming_partitions, sender=self)


def _create_upcoming_partitions(using: str, **kwargs: Any) -> None:
    """Every `migrate` creates the Activity Log's partitions for this month and the next few (PostgreSQL)."""
    from .partitions import ensure_upcoming_partitions

    ensure_upcoming_partitions(connections[using], timezone.now())
