"""`manage.py refresh_statistics`: bring SQLite's query planner statistics up to date."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import connections

from cases import planner_statistics


class Command(BaseCommand):
    help = (
        "Run ANALYZE on the tables of each SQLite database whose statistics are missing or whose row count "
        f"has changed by {planner_statistics.DRIFT:g}x or more since (--all: every table). `migrate` does the "
        "same; run this after loading many cases outside seed_demo, or from cron. Nothing to do on PostgreSQL, "
        "whose autovacuum keeps statistics current."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="Analyze every table, stale or not.")

    def handle(self, *args: Any, **options: Any) -> None:
        for alias in settings.DATABASES:
            connection = connections[alias]
            if connection.vendor != "sqlite":
                self.stdout.write(f"{alias}: {connection.vendor}, whose autovacuum keeps statistics; nothing done.")
                continue
            if options["all"]:
                planner_statistics.analyze(connection)
                self.stdout.write(f"{alias}: analyzed every table.")
                continue
            analyzed = planner_statistics.refresh(connection)
            self.stdout.write(f"{alias}: " + (f"analyzed {', '.join(analyzed)}." if analyzed else "statistics current."))
