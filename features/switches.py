"""Reading and setting the switches; `current()` runs on every request of every door."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from stellar_mcp_site.sql import Quote, once_per_database

from .models import FeatureSettings


@dataclass(frozen=True)
class Switches:
    mcp_enabled: bool
    ai_summary_enabled: bool


@once_per_database
def _select_sql(qn: Quote) -> str:
    return (f"SELECT {qn('mcp_enabled')}, {qn('ai_summary_enabled')} FROM {qn(FeatureSettings._meta.db_table)} "
            f"WHERE {qn('id')} = %s")


def current() -> Switches:
    # Plain SQL: it runs on every request, and the ORM spent ten times the query's own cost compiling it.
    with connection.cursor() as cursor:
        cursor.execute(_select_sql(), [1])
        row = cursor.fetchone()
    mcp_enabled, ai_summary_enabled = (bool(row[0]), bool(row[1])) if row is not None else (True, True)
    # The environment kill switch wins over the database.
    return Switches(mcp_enabled=mcp_enabled and settings.MCP_ENABLED, ai_summary_enabled=ai_summary_enabled)


def set_switch(*, name: str, enabled: bool) -> FeatureSettings:
    """Turn `mcp` or `ai_summary` on or off."""
    field = {"mcp": "mcp_enabled", "ai_summary": "ai_summary_enabled"}[name]
    row = FeatureSettings.load()
    setattr(row, field, enabled)
    row.save()
    return row
