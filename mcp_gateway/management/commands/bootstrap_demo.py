"""What `make run` does before starting the server: demo data on an empty database, a fresh API key
for soc-admin, and the lines to paste into an MCP client."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from accounts.models import ApiKey
from accounts.services import api_key_create, api_key_revoke
from cases.models import Case

KEY_NAME = "make run (local demo)"


class Command(BaseCommand):
    help = (
        "Seed demo data if the database has no case, then issue a new read-write API key for soc-admin "
        "(revoking the one the previous run issued) and print how to connect Claude Code and log in to the admin."
    )

    def handle(self, *args, **options) -> None:
        if not Case.objects.exists():
            self.stdout.write("Empty database: seeding demo data (python manage.py seed_demo).")
            call_command("seed_demo", stdout=self.stdout)
        user = get_user_model().objects.filter(username="soc-admin").first()
        if user is None:
            raise CommandError("No soc-admin user: run `python manage.py seed_demo` on an empty database first.")
        for old in ApiKey.objects.filter(user=user, name=KEY_NAME, revoked_at__isnull=True):
            api_key_revoke(key=old, reason="replaced by the key of a newer `make run`")
        _, key = api_key_create(user=user, name=KEY_NAME)

        base = settings.MCP_PUBLIC_URL or f"http://{settings.HOST}:{settings.PORT}"
        url = f"{base.rstrip('/')}/mcp/"
        config = {"mcpServers": {"stellar_api": {"type": "http", "url": url,
                                                 "headers": {"Authorization": f"Bearer {key}"}}}}
        self.stdout.write(
            "\n".join([
                "",
                "Stellar Cyber MCP Server",
                f"  Admin console : {base}/admin/  (user soc-admin; password as printed when the demo data was",
                "                  seeded, or DEMO_ADMIN_PASSWORD, or set one: python manage.py changepassword soc-admin)",
                f"  API keys page : {base}/profile/api-keys/",
                f"  MCP endpoint  : {url}",
                "",
                "Connect Claude Code (this key replaces the one printed by the previous `make run`):",
                f'  claude mcp add --transport http stellar_api {url} --header "Authorization: Bearer {key}"',
                "",
                "Or add this to your MCP client's configuration file:",
                json.dumps(config, indent=2),
                "",
            ])
        )
