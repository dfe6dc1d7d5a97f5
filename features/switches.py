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
    dcr_enabled: bool  # OAuth clients may register themselves (RFC 7591)
    cimd_enabled: bool  # OAuth clients may be known by a metadata document's URL


# switch name (the command's) -> column; the order of Switches' fields.
FIELDS = {"mcp": "mcp_enabled", "ai_summary": "ai_summary_enabled", "dcr": "oauth_dcr_enabled",
          "cimd": "oauth_cimd_enabled"}


@once_per_database
def _select_sql(qn: Quote) -> str:
    return (f"SELECT {', '.join(qn(column) for column in FIELDS.values())} FROM {qn(FeatureSettings._meta.db_table)} "
            f"WHERE {qn('id')} = %s")


def current() -> Switches:
    # Plain SQL: it runs on every request, and the ORM spent ten times the query's own cost compiling it.
    with connection.cursor() as cursor:
        cursor.execute(_select_sql(), [1])
        row = cursor.fetchone()
    # No row: nobody switched anything, so each switch is at its documented default (on).
    mcp, ai_summary, dcr, cimd = (bool(v) for v in row) if row is not None else (True,) * len(FIELDS)
    # The environment kill switch wins over the database.
    return Switches(mcp_enabled=mcp and settings.MCP_ENABLED, ai_summary_enabled=ai_summary, dcr_enabled=dcr,
                    cimd_enabled=cimd)


def set_switch(*, name: str, enabled: bool) -> FeatureSettings:
    """Turn a switch (a key of FIELDS) on or off."""
    field = FIELDS[name]
    row = FeatureSettings.load()
    setattr(row, field, enabled)
    row.save()
    return row
