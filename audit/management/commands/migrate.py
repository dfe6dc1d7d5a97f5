"""`manage.py migrate` that also migrates the Activity Log's own database when there is one.

On SQLite the log lives in a file of its own (settings.py, stellar_mcp_site/db_router.py). Without
this, every install, upgrade and deployment script would need a second `migrate --database audit`,
and forgetting it leaves the log without its table: every call's audit row would fail to write.
`--database` still migrates just the one database (the test runner uses it for each in turn).

After migrating a SQLite database it refreshes the query planner's statistics where they are missing
or out of date (stellar_mcp_site/planner_statistics.py): every install and upgrade runs `migrate`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.commands.migrate import Command as MigrateCommand
from django.db import connections

from stellar_mcp_site import planner_statistics


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
            analyzed = planner_statistics.refresh(connections[alias])
            if analyzed and options["verbosity"] >= 1:
                self.stdout.write(f"Refreshed the query planner's statistics of {', '.join(analyzed)} ({alias}).")
