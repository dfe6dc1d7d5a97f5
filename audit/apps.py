from django.apps import AppConfig


class AuditConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'audit'

    def ready(self) -> None:
        # The key lists (admin, profile page) show each key's recent calls, counted here.
        from accounts import usage

        from .selectors import calls_by_key

        usage.provide(calls_by_key)
