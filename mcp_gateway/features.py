"""The operator's switches, read on every request so a change applies on every worker at once."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from .models import FeatureSettings


@dataclass(frozen=True)
class Switches:
    mcp_enabled: bool
    ai_summary_enabled: bool


def current() -> Switches:
    row = FeatureSettings.objects.filter(pk=1).values_list("mcp_enabled", "ai_summary_enabled").first()
    mcp_enabled, ai_summary_enabled = row if row is not None else (True, True)
    # The environment kill switch wins over the database.
    return Switches(mcp_enabled=mcp_enabled and settings.MCP_ENABLED, ai_summary_enabled=ai_summary_enabled)


def set_switch(*, name: str, enabled: bool) -> FeatureSettings:
    """Turn `mcp` or `ai_summary` on or off."""
    field = {"mcp": "mcp_enabled", "ai_summary": "ai_summary_enabled"}[name]
    row = FeatureSettings.load()
    setattr(row, field, enabled)
    row.save()
    return row
