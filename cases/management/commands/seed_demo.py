"""`manage.py seed_demo`: fill an empty database with realistic, deterministic demo data."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases.demo_data import ADMIN_USERNAME, seed_demo


class Command(BaseCommand):
    help = (
        "Create demo tenants, cases with alerts, comments, activities, score history, observables and AI "
        "summaries, a root user 'soc-admin' and one analyst per tenant ('analyst-1', ...) limited to it. "
        "Deterministic: the same --seed and arguments give the same ids, names and contents (times are "
        "relative to now). If the database already holds cases, nothing is changed, so running it twice "
        "is safe. Passwords: DEMO_ADMIN_PASSWORD and DEMO_ANALYST_PASSWORD from the environment, otherwise "
        "generated and printed once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenants", type=int, default=5, help="Number of tenants (default 5).")
        parser.add_argument("--cases", type=int, default=2000, help="Number of cases (default 2000).")
        parser.add_argument(
            "--alerts-per-case", type=int, default=5,
            help="Average alerts per case; each case gets 0 to 3x this, the total is exactly cases x this (default 5).",
        )
        parser.add_argument("--days", type=int, default=30, help="Spread cases over this many days (default 30).")
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")

    def handle(self, *args, **opts) -> None:
        started = time.monotonic()
        quiet = opts["verbosity"] == 0

        def progress(done: int, total: int) -> None:
            if opts["verbosity"] >= 2 or (not quiet and total >= 20_000 and done % 10_000 == 0):
                self.stdout.write(f"  {done}/{total} cases")

        try:
            result = seed_demo(
                tenants=opts["tenants"], cases=opts["cases"], alerts_per_case=opts["alerts_per_case"],
                days=opts["days"], seed=opts["seed"], progress=progress,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if not result.created:
            if not quiet:
                self.stdout.write(
                    f"Demo data already present ({result.tenants} tenants, {result.cases} cases, "
                    f"{result.alerts} alerts); nothing changed."
                )
            return
        elapsed = time.monotonic() - started
        host = f"http://{settings.HOST}:{settings.PORT}"
        if not quiet:
            self.stdout.write(self.style.SUCCESS(
                f"Created {result.tenants} tenants, {result.cases} cases, {result.alerts} alerts, "
                f"{result.comments} comments, {result.activities} activities, {result.observables} observables, "
                f"{result.score_history} score entries in {elapsed:.1f}s."
            ))
            self.stdout.write(
                f"Users: {', '.join(result.users)} ({ADMIN_USERNAME} sees all tenants; analyst-N sees tenant N)."
            )
            if result.admin_existed:
                self.stdout.write(f"{ADMIN_USERNAME} already existed: its password is unchanged.")
            elif not result.admin_password:
                self.stdout.write(f"Log in at {host}/admin/ as {ADMIN_USERNAME} with DEMO_ADMIN_PASSWORD.")
            if not result.analyst_password and len(result.users) > 1:
                self.stdout.write(
                    f"Analysts log in at {host}{settings.LOGIN_URL} with DEMO_ANALYST_PASSWORD "
                    "(existing analysts keep theirs)."
                )
        # Generated passwords are printed whatever the verbosity: this is the only time they are known.
        if result.admin_password:
            self.stdout.write(f"Log in at {host}/admin/ as {ADMIN_USERNAME} / {result.admin_password} (shown once).")
        if result.analyst_password:
            self.stdout.write(
                f"Analysts log in at {host}{settings.LOGIN_URL} with password {result.analyst_password} (shown once)."
            )
