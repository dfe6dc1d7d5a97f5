"""Retention for the Activity Log: delete Public API access rows older than N days, in batches."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from audit.models import PublicApiAccess


class Command(BaseCommand):
    help = "Delete Public API access rows older than --older-than-days days (in batches; --dry-run only counts)."

    def add_arguments(self, parser):
        parser.add_argument("--older-than-days", type=int, required=True, metavar="N")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be deleted, delete nothing.")
        parser.add_argument("--batch-size", type=int, default=5000)

    def handle(self, *args, older_than_days: int, dry_run: bool, batch_size: int, **options):
        if older_than_days < 0:
            raise CommandError("--older-than-days must be 0 or more.")
        if batch_size < 1:
            raise CommandError("--batch-size must be 1 or more.")
        cutoff = timezone.now() - timedelta(days=older_than_days)
        old = PublicApiAccess.objects.filter(timestamp__lt=cutoff)
        if dry_run:
            self.stdout.write(f"Would delete {old.count()} Public API access rows older than {cutoff.isoformat()}.")
            return
        deleted = 0
        # Short batches keep each write transaction brief, so the recorder is never blocked for long.
        while ids := list(old.order_by("id").values_list("id", flat=True)[:batch_size]):
            count, _ = PublicApiAccess.objects.filter(id__in=ids).delete()
            deleted += count
        self.stdout.write(f"Deleted {deleted} Public API access rows older than {cutoff.isoformat()}.")
