"""Ship the Activity Log to a SIEM: Public API access rows as CSV or JSON Lines on stdout."""

from __future__ import annotations

from datetime import UTC, datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from audit.export import FORMATS, export_lines
from audit.models import PublicApiAccess


def parse_moment(value: str, option: str) -> datetime:
    """An ISO-8601 date or date-time; without an offset it is UTC."""
    try:
        moment = parse_datetime(value)
        if moment is None:
            day = parse_date(value)
            moment = datetime.combine(day, time.min) if day else None
    except ValueError as exc:
        raise CommandError(f"{option}: {exc}") from exc
    if moment is None:
        raise CommandError(f"{option}: {value!r} is not an ISO-8601 date or date-time.")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, UTC)
    return moment


class Command(BaseCommand):
    help = "Write Public API access rows (since <= timestamp < until) to stdout as CSV or JSON Lines."

    def add_arguments(self, parser):
        parser.add_argument("--since", help="ISO-8601 date or date-time, inclusive (UTC unless an offset is given).")
        parser.add_argument("--until", help="ISO-8601 date or date-time, exclusive.")
        parser.add_argument("--format", choices=FORMATS, default="jsonl")

    def handle(self, *args, since: str | None, until: str | None, format: str, **options):
        rows = PublicApiAccess.objects.order_by("timestamp", "id")
        if since:
            rows = rows.filter(timestamp__gte=parse_moment(since, "--since"))
        if until:
            rows = rows.filter(timestamp__lt=parse_moment(until, "--until"))
        for line in export_lines(rows, format):
            self.stdout.write(line, ending="")
