"""Retention for the Activity Log: remove Public API access rows older than N days.

On PostgreSQL, whole months older than the cutoff go by dropping their partitions (audit/partitions.py),
which costs the same for a thousand rows or ten million; the rest (the month the cutoff falls in, and any
row in the default partition) is deleted in batches, as on SQLite. The dashboard's hourly roll-ups of
those hours go too, and the hours of its longest view are rolled up ahead of it. The run also creates the partitions of
the coming months, so a daily cron job keeps the table ready.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connections, router
from django.utils import timezone

from audit import partitions, rollups
from audit.models import PublicApiAccess

DASHBOARD_DAYS = 30


class Command(BaseCommand):
    help = (
        "Delete Public API access rows older than --older-than-days days: whole months by dropping their "
        "partitions (PostgreSQL), the rest in batches; --dry-run only counts."
    )

    def add_arguments(self, parser):
        parser.add_argument("--older-than-days", type=int, required=True, metavar="N")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be deleted, delete nothing.")
        parser.add_argument("--batch-size", type=int, default=5000)

    def handle(self, *args, older_than_days: int, dry_run: bool, batch_size: int, **options):
        if older_than_days < 0:
            raise CommandError("--older-than-days must be 0 or more.")
        if batch_size < 1:
            raise CommandError("--batch-size must be 1 or more.")
        now = timezone.now()
        cutoff = now - timedelta(days=older_than_days)
        connection = connections[router.db_for_write(PublicApiAccess)]
        partitioned = partitions.is_partitioned(connection)
        try:
            months, dropped = partitions.drop_months_before(connection, cutoff, dry_run=dry_run) if partitioned else (0, 0)
        except DatabaseError as exc:
            raise CommandError(
                f"Could not drop an old month of the Activity Log ({exc.__class__.__name__}): the table was "
                "busy. Nothing else was deleted; run the command again."
            ) from exc
        old = PublicApiAccess.objects.filter(timestamp__lt=cutoff)
        in_months = f" ({dropped} of them in {months} whole months)" if months else ""
        if dry_run:
            total = old.count()  # nothing was dropped: the whole months are still in it
            self.stdout.write(f"Would delete {total} Public API access rows older than {cutoff.isoformat()}{in_months}.")
            return
        deleted = 0
        # Short batches keep each write transaction brief, so the recorder is never blocked for long.
        while ids := list(old.order_by("id").values_list("id", flat=True)[:batch_size]):
            count, _ = PublicApiAccess.objects.filter(id__in=ids).delete()
            deleted += count
        rollups.forget_before(cutoff)
        # Roll up what the dashboard's longest view shows, so that no operator waits for it there.
        rollups.roll_up(rollups.hour_start(now) - timedelta(days=DASHBOARD_DAYS), now)
        if partitioned:
            partitions.ensure_upcoming_partitions(connection, now)
        self.stdout.write(
            f"Deleted {dropped + deleted} Public API access rows older than {cutoff.isoformat()}{in_months}."
        )
