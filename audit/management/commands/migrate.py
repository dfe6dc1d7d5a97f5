"""`manage.py migrate` that also migrates the Activity Log's own database when there is one.

On SQLite the log lives in a file of its own (settings.py, stellar_mcp_site/db_router.py). Without
this, every install, upgrade and deployment script would need a second `migrate --database audit`,
and forgetting it leaves the log without its table: every call would be refused for want of its row.
`--database` still migrates just the one database (the test runner uses it for each in turn).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.commands.migrate import Command as MigrateCommand


class Command(MigrateCommand):
    help = MigrateCommand.help + " Without --database, every configured database is migrated."

    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        parser.set_defaults(database=None)

    def get_check_kwargs(self, options: dict[str, Any]) -> dict[str, Any]:
        kwargs = super().get_check_kwargs(options)
        return {**kwargs, "databases": [options["database"]] if options["database"] else list(settings.DATABASES)}

    def handle(self, *args: Any, **options: Any) -> None:
        for alias in [options["database"]] if options["database"] is not None else list(settings.DATABASES):
            super().handle(*args, **{**options, "database": alias})
