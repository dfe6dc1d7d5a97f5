from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate


class CasesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "cases"

    def ready(self) -> None:
        post_migrate.connect(_refresh_planner_statistics, sender=self)


def _refresh_planner_statistics(*, using: str, verbosity: int = 1, plan=None, stdout=None, **kwargs) -> None:
    # Every install and upgrade runs `migrate`: the moment to bring SQLite's statistics up to date
    # (cases/planner_statistics.py). Not on the test runner's flushes, which pass no plan.
    if plan is None:
        return
    from . import planner_statistics

    analyzed = planner_statistics.refresh(connections[using])
    if analyzed and verbosity >= 1 and stdout is not None:
        stdout.write(f"Refreshed the query planner's statistics of {', '.join(analyzed)} ({using}).\n")
