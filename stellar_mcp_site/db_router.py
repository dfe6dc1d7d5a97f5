"""Where each model's rows live: the Activity Log in the `audit` database when one is configured.

settings.py configures an `audit` database on SQLite (a file of its own next to the main one) or when
AUDIT_DATABASE_URL is set; without one, everything stays in `default` and this router has no say.
The audit rows refer to users and keys by id only (no database constraint), so nothing joins across
the two databases.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

AUDIT_APP = "audit"
AUDIT_DB = "audit"


def audit_database() -> str:
    """The alias the Activity Log is read from and written to."""
    return AUDIT_DB if AUDIT_DB in settings.DATABASES else "default"


class AuditRouter:
    def _db_for(self, model: type) -> str | None:
        if AUDIT_DB not in settings.DATABASES:
            return None
        # Everything else says "default" explicitly: left to Django, a user read through an audit row
        # (row.user) would be looked up in the row's own database.
        return AUDIT_DB if model._meta.app_label == AUDIT_APP else "default"

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        return self._db_for(model)

    def db_for_write(self, model: type, **hints: Any) -> str | None:
        return self._db_for(model)

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # An audit row may point at its user and key wherever they live.
        if AUDIT_APP in (obj1._meta.app_label, obj2._meta.app_label):
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool | None:
        if AUDIT_DB not in settings.DATABASES:
            return None
        return (db == AUDIT_DB) == (app_label == AUDIT_APP)
