"""python manage.py feature [mcp|ai_summary|dcr|cimd] [on|off]: show or switch the operator's features."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from features import switches as features


class Command(BaseCommand):
    help = (
        "Show the feature switches, or turn one on or off: `feature` shows them all; `feature mcp off` disables "
        "the MCP server (it answers 503); `feature ai_summary on` enables AI summaries in tool results and Public "
        "API answers; `feature dcr off` stops OAuth clients registering themselves; `feature cimd off` stops them "
        "being known by a metadata document's URL. Changes apply to the next request on every worker."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", nargs="?", choices=list(features.FIELDS))
        parser.add_argument("state", nargs="?", choices=["on", "off"])

    def handle(self, *args, name: str | None = None, state: str | None = None, **options) -> None:
        if name and state:
            features.set_switch(name=name, enabled=state == "on")
        elif name:
            raise CommandError(f"Say on or off: `manage.py feature {name} on` or `manage.py feature {name} off`.")
        current = features.current()
        for switch, field in features.FIELDS.items():
            self.stdout.write(f"{switch}: {'on' if getattr(current, field.removeprefix('oauth_')) else 'off'}")
        if not settings.MCP_ENABLED:
            self.stdout.write("(MCP_ENABLED=false in the environment keeps the MCP server off whatever is set here)")
