"""Verify the connection to the upstream Stellar Cyber Public API and print what it found."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from cases.backend.base import BackendError
from cases.backend.upstream_client import (
    CASES,
    TENANTS,
    UpstreamConfig,
    UpstreamRefusal,
    client_for,
)


class Command(BaseCommand):
    help = (
        "Check STELLAR_URL and STELLAR_API_KEY (and STELLAR_USER_EMAIL): exchange the key for an access token, "
        "list the tenants and ask for one case; print what was found, or one line saying what failed (exit 1)."
    )

    def handle(self, *args, **options) -> None:
        # Retry warnings would repeat what the one line on failure says.
        upstream_log = logging.getLogger("cases.upstream")
        level = upstream_log.level
        upstream_log.setLevel(logging.ERROR)
        try:
            self._check()
        finally:
            upstream_log.setLevel(level)

    def _check(self) -> None:
        config = UpstreamConfig.from_settings()
        if not config.url or not config.api_key:
            raise CommandError("STELLAR_URL and STELLAR_API_KEY must both be set to check the upstream connection.")
        started = time.perf_counter()
        client = client_for(config)
        try:
            token = client.token()
            tenants = client.call("GET", TENANTS, what="list tenants")
            cases = client.call("GET", CASES, what="list cases", params={"limit": 1, "FROM~created_at": 0})
        except UpstreamRefusal as exc:
            raise CommandError(
                f"The Stellar Cyber API at {config.host} refused a check ({exc.status}): {exc.message or 'no reason given'}."
            ) from None
        except BackendError as exc:
            raise CommandError(exc.message) from None
        tenant_rows = tenants.get("data") if isinstance(tenants, dict) else None
        case_data = cases.get("data") if isinstance(cases, dict) else None
        if not isinstance(tenant_rows, list) or not isinstance(case_data, dict) or "cases" not in case_data:
            raise CommandError(
                f"{config.host} answered, but not as a Stellar Cyber Public API (no data envelope): check STELLAR_URL."
            )
        scheme = f"Basic {config.user_email}:<key>" if config.user_email else "Bearer <key>"
        names = ", ".join(str(t.get("cust_name", "?")) for t in tenant_rows[:5] if isinstance(t, dict))
        more = f" and {len(tenant_rows) - 5} more" if len(tenant_rows) > 5 else ""
        total = case_data.get("total")
        write = self.stdout.write
        write(f"Upstream:        {config.host} (token exchange with {scheme})")
        write(f"Access token:    OK, valid for {int(token.exp - time.time())} s more")
        write(f"Tenants:         {len(tenant_rows)} visible to the key" + (f" ({names}{more})" if names else ""))
        write(f"Cases:           OK, {total if isinstance(total, int) else 'an unknown number of'} cases in all")
        write(f"Round trips:     {(time.perf_counter() - started) * 1000:.0f} ms, "
              f"{client.connections_opened} TCP connection(s) opened")
        if settings.STELLAR_BACKEND != "upstream":
            write(f"Note: STELLAR_BACKEND is {settings.STELLAR_BACKEND!r}: the MCP tools do not use this connection "
                  f"until it is 'upstream'.")
