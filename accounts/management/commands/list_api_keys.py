from __future__ import annotations

from datetime import datetime

from django.core.management.base import BaseCommand
from django.utils import timezone

from accounts.management.commands._keys import user_by_username
from accounts.selectors import api_key_list

COLUMNS = ("KEY ID", "KIND", "NAME", "OWNER", "SCOPE", "TENANTS", "CREATED", "EXPIRES", "LAST USED", "STATE")


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else "-"


class Command(BaseCommand):
    help = ("List API keys and OAuth grants (kind oauth: an app a user signed in to), never their secrets: id, "
            "kind, name, owner, scope, tenants, dates and state.")

    def add_arguments(self, parser):
        parser.add_argument("--user", metavar="USERNAME", help="Only this user's keys.")

    def handle(self, *args, **options):
        user = user_by_username(options["user"]) if options["user"] else None
        now = timezone.now()
        rows = [
            (
                key.public_id,
                key.kind,
                key.name,
                key.user.get_username(),
                key.scope,
                (",".join(sorted(t.cust_id for t in key.tenants.all())) or "(none left)") if key.restricted else "(owner's)",
                _when(key.created_at),
                _when(key.expires_at),
                _when(key.last_used_at),
                key.state_at(now).value,
            )
            for key in api_key_list(user=user).order_by("created_at", "id")
        ]
        if not rows:
            self.stdout.write("No API keys.")
            return
        widths = [max(len(str(r[i])) for r in (COLUMNS, *rows)) for i in range(len(COLUMNS))]
        for row in (COLUMNS, *rows):
            self.stdout.write("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
        self.stdout.write("Times are UTC.")
