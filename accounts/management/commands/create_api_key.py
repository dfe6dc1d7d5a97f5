from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from accounts.exceptions import ApiKeyError
from accounts.management.commands._keys import user_by_username
from accounts.models import ApiKeyScope
from accounts.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for a user. The key is printed once, alone on the last line of output."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, metavar="USERNAME", help="Owner of the key.")
        parser.add_argument("--name", default="Command-line key", help="A label to recognise the key by.")
        parser.add_argument("--read-only", action="store_true", help="Read-only scope (default: read and write).")
        parser.add_argument(
            "--tenant",
            dest="tenants",
            action="extend",
            nargs="+",
            default=[],
            metavar="CUST_ID",
            help="Restrict the key to these tenants (within the user's access); repeatable.",
        )
        parser.add_argument("--expires-in-days", type=int, metavar="N", help="Expire the key after N days.")

    def handle(self, *args, **options):
        user = user_by_username(options["user"])
        scope = ApiKeyScope.READ if options["read_only"] else ApiKeyScope.READ_WRITE
        try:
            key, plaintext = api_key_create(
                user=user,
                name=options["name"],
                scope=scope,
                tenant_ids=options["tenants"],
                expires_in_days=options["expires_in_days"],
            )
        except ApiKeyError as exc:
            raise CommandError(str(exc)) from None
        expiry = f", expires {key.expires_at:%Y-%m-%d %H:%M} UTC" if key.expires_at else ""
        self.stdout.write(
            f"Created API key {key.public_id} {key.name!r} for {user.get_username()} ({key.get_scope_display()}{expiry})."
        )
        self.stdout.write("It is shown only this once; store it now:")
        self.stdout.write(plaintext)
