"""CPU cost of verifying a bearer credential: an API key and an access token.

Runs against a throwaway SQLite database (migrated here; or --database-url, e.g. a scratch PostgreSQL
database, which gets migrated and a few rows) and prints microseconds per verification,
for the crypto alone (parse, HMAC, constant-time compare) and for the whole of authenticate_bearer
(key row, tenant scope; the failure counters in the cache are read only for a refused credential). Usage:

    .venv/bin/python benchmarks/auth_verify.py [--iterations 2000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def measure(fn: Callable[[], object], iterations: int) -> tuple[float, float]:
    """(CPU µs, wall µs) per call, after a short warm-up."""
    for _ in range(min(100, iterations)):
        fn()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(iterations):
        fn()
    cpu1, wall1 = time.process_time(), time.perf_counter()
    return (cpu1 - cpu0) / iterations * 1e6, (wall1 - wall0) / iterations * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="auth-bench-")
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{Path(tmp.name) / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stellar_mcp_site.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))

    import django

    django.setup()

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", verbosity=0)

    from accounts.authentication import authenticate_bearer
    from accounts.keys import digest_matches, parse_public_id
    from accounts.services import api_key_create
    from accounts.tokens import access_token_issue, access_token_verify
    from tenants.models import Tenant, TenantAccess

    tenants = [Tenant.objects.create(cust_name=f"Tenant {i}", created_at=timezone.now()) for i in range(3)]
    user = get_user_model().objects.create_user(f"bench-{os.getpid()}-{time.time_ns()}", password=None)
    access = TenantAccess.objects.create(user=user)
    access.tenants.set(tenants)
    key, plaintext = api_key_create(
        user=user, name="bench", scope="read", tenant_ids=[t.cust_id for t in tenants[:2]]
    )
    token = access_token_issue(api_key=key)["access_token"]

    def key_crypto() -> None:
        assert parse_public_id(plaintext) and digest_matches(plaintext, key.digest)

    def token_crypto() -> None:
        assert access_token_verify(token, now=time.time())

    def key_full() -> None:
        authenticate_bearer(f"Bearer {plaintext}", client_ip="127.0.0.1")

    def token_full() -> None:
        authenticate_bearer(f"Bearer {token}", client_ip="127.0.0.1")

    principal = authenticate_bearer(f"Bearer {plaintext}", client_ip="127.0.0.1")
    assert len(principal.tenants.cust_ids) == 2

    n = args.iterations
    db = django.db.connection
    print(f"authenticate_bearer, {n} iterations each, {db.vendor} {db.Database.__name__}")
    print(f"{'credential':<14}{'part':<34}{'CPU µs':>10}{'wall µs':>10}")
    for label, crypto, full in (("API key", key_crypto, key_full), ("access token", token_crypto, token_full)):
        for part, fn in (("crypto only (parse+HMAC+compare)", crypto), ("full (key row + tenants)", full)):
            cpu, wall = measure(fn, n)
            print(f"{label:<14}{part:<34}{cpu:>10.1f}{wall:>10.1f}")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
