from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from accounts.exceptions import ApiKeyError
from accounts.management.commands._keys import key_by_public_id
from accounts.services import api_key_revoke


class Command(BaseCommand):
    help = "Revoke an API key for good: it is refused from the next request on."

    def add_arguments(self, parser):
        parser.add_argument("key_id", metavar="KEY_ID", help="The key's public id (see list_api_keys).")
        parser.add_argument("--reason", default="", metavar="TEXT", help="Why the key is revoked (kept with it).")

    def handle(self, *args, **options):
        key = key_by_public_id(options["key_id"])
        try:
            api_key_revoke(key=key, reason=options["reason"])
        except ApiKeyError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Revoked API key {key.public_id} {key.name!r} of {key.user.get_username()}.")
