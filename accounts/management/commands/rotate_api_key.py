from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from accounts.exceptions import ApiKeyError
from accounts.management.commands._keys import key_by_public_id
from accounts.services import api_key_rotate


class Command(BaseCommand):
    help = (
        "Replace an API key with a new one (same owner, name, scope, tenants and lifetime). The new key is "
        "printed once, alone on the last line; the old key stops working after the grace period."
    )

    def add_arguments(self, parser):
        parser.add_argument("key_id", metavar="KEY_ID", help="The key's public id (see list_api_keys).")
        parser.add_argument(
            "--grace-minutes",
            type=int,
            default=0,
            metavar="N",
            help="Minutes the old key keeps working, to update clients (default 0: it stops at once; at most 10080, 7 days).",
        )

    def handle(self, *args, **options):
        old = key_by_public_id(options["key_id"])
        try:
            new, plaintext = api_key_rotate(key=old, grace_minutes=options["grace_minutes"])
        except ApiKeyError as exc:
            raise CommandError(str(exc)) from None
        old.refresh_from_db(fields=["grace_until"])
        self.stdout.write(
            f"Rotated API key {old.public_id} to {new.public_id} for {new.user.get_username()}; "
            f"the old key stops working at {old.grace_until:%Y-%m-%d %H:%M:%S} UTC."
        )
        self.stdout.write("The new key is shown only this once; store it now:")
        self.stdout.write(plaintext)
