"""Shared fixtures: a file-backed test database and a real gunicorn server on a loopback port.

Tests that talk to the live server use `live_url`, which also makes the test transactional so the
data it creates is committed and visible to the gunicorn workers (separate processes).
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from django.conf import settings

# One INFO line per HTTP request from the test clients drowns the failure reports.
for noisy in ("httpx", "httpx2", "hypothesis"):
    logging.getLogger(noisy).setLevel(logging.WARNING)

# listTenant's counts are cached for seconds in production; tests create cases and count at once.
# The cache itself is tested with the setting overridden (test_backend_embedded_reads.py). The environment
# variable reaches the gunicorn servers; settings were loaded before this file.
os.environ.setdefault("TENANT_COUNTS_CACHE_SECONDS", "0")
settings.TENANT_COUNTS_CACHE_SECONDS = int(os.environ["TENANT_COUNTS_CACHE_SECONDS"])

ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = ROOT / ".run"


@pytest.fixture(scope="session")
def django_db_modify_db_settings() -> None:
    """Put each SQLite test database in a file (not memory) so gunicorn workers can open it."""
    from django.conf import settings

    for alias, db in settings.DATABASES.items():
        suffix = "" if alias == "default" else f"-{alias}"
        if is_sqlite(db):
            RUN_DIR.mkdir(exist_ok=True)
            db.setdefault("TEST", {})["NAME"] = str(RUN_DIR / f"test-{os.getpid()}{suffix}.sqlite3")
        elif not db.get("TEST", {}).get("NAME"):
            # Several developers' runs may share one PostgreSQL server: one test database per run.
            db.setdefault("TEST", {})["NAME"] = f"test_{db['NAME']}_{os.getpid()}{suffix.replace('-', '_')}"


# The test servers' logs, kept when a test failed (their tracebacks explain it), removed otherwise.
_SERVER_LOGS: list[Path] = []


@pytest.hookimpl(trylast=True)  # after the session's fixtures are torn down, even when interrupted
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Django removes the SQLite test databases, not the files beside them (the writers' lock files, a WAL
    left by a killed server): without this, every run would leave its own in .run/."""
    pid = os.getpid()
    for pattern in (f"test-{pid}.sqlite3*", f"test-{pid}-*.sqlite3*"):
        for leftover in RUN_DIR.glob(pattern):
            leftover.unlink(missing_ok=True)
    if exitstatus == 0:
        for log in _SERVER_LOGS:
            log.unlink(missing_ok=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every database test may use every database: the Activity Log has its own on SQLite
    (stellar_mcp_site/db_router.py), and a tool call anywhere writes an audit row there."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker is None and "_django_db_helper" not in getattr(item, "fixturenames", ()):
            continue
        kwargs = dict(marker.kwargs) if marker is not None else {}
        if "databases" not in kwargs:
            item.add_marker(pytest.mark.django_db(*(marker.args if marker else ()), **kwargs, databases="__all__"),
                            append=False)


def is_sqlite(settings_dict: dict) -> bool:
    # The project's SQLite engine (stellar_mcp_site.sqlite_backend) or Django's own.
    return settings_dict["ENGINE"] in settings.SQLITE_ENGINES


def database_url_for(settings_dict: dict) -> str:
    """A DATABASE_URL that points another process at the test database."""
    engine = settings_dict["ENGINE"]
    if is_sqlite(settings_dict):
        return f"sqlite:///{settings_dict['NAME']}"
    if engine == "django.db.backends.postgresql":
        user = quote(settings_dict.get("USER") or "", safe="")
        password = quote(settings_dict.get("PASSWORD") or "", safe="")
        auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        options = dict(settings_dict.get("OPTIONS") or {})
        # django-environ puts `?host=/socket/dir&port=N` in OPTIONS, where psycopg reads them too.
        host = str(settings_dict.get("HOST") or options.pop("host", ""))
        port = str(settings_dict.get("PORT") or options.pop("port", ""))
        if host.startswith("/"):
            # django-environ does not decode a percent-encoded socket directory in the host part;
            # the query-string form reaches psycopg unchanged.
            options["host"] = host
            if port:
                options["port"] = port
            netloc = ""
        else:
            netloc = f"{host}:{port}" if port else host
        query = f"?{urlencode(options)}" if options else ""
        return f"postgres://{auth}{netloc}/{quote(settings_dict['NAME'], safe='')}{query}"
    raise RuntimeError(f"no DATABASE_URL mapping for {engine}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start in time")


class LiveServer:
    def __init__(self, env_overrides: dict[str, str], workers: int = 2) -> None:
        from django.db import connection, connections

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, **env_overrides}
        if "DATABASE_URL" not in env_overrides:
            env["DATABASE_URL"] = database_url_for(connection.settings_dict)
            if "audit" in connections and "AUDIT_DATABASE_URL" not in env_overrides:
                env["AUDIT_DATABASE_URL"] = database_url_for(connections["audit"].settings_dict)
        env.setdefault("DJANGO_SECRET_KEY", _test_secret_key())
        env["HOST"], env["PORT"] = "127.0.0.1", str(self.port)
        env["WEB_CONCURRENCY"] = str(workers)
        RUN_DIR.mkdir(exist_ok=True)
        self.log_path = RUN_DIR / f"gunicorn-{self.port}.log"
        _SERVER_LOGS.append(self.log_path)
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "stellar_mcp_site/gunicorn.conf.py"), "stellar_mcp_site.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, self.proc)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()

    def log_text(self) -> str:
        return self.log_path.read_text()


def _test_secret_key() -> str:
    from django.conf import settings

    return settings.SECRET_KEY


@pytest.fixture(scope="session")
def gunicorn_server(django_db_setup, django_db_blocker) -> Iterator[LiveServer]:
    with django_db_blocker.unblock():
        # Load and paging tests make thousands of calls with one key; the per-key limits have their
        # own server in test_rate_limit.py.
        server = LiveServer({"MCP_CALLS_PER_MINUTE": "0", "MCP_WRITE_CALLS_PER_MINUTE": "0"})
    yield server
    server.stop()


@pytest.fixture
def fast_password_hashing(settings) -> None:
    """MD5 for the passwords a test sets up: seeding creates users, and the default hasher is slow on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(name="w")
def embedded_world():
    """The rows the embedded backend's tests share (tests/embedded_world.py)."""
    from tests.embedded_world import World

    return World()


@pytest.fixture
def root_key(transactional_db):
    """A root key of a gateway, over one tenant with one case (the upstream client's tests)."""
    from django.core.cache import cache

    from accounts.services import api_key_create
    from tests.factories import make_case, make_tenant, make_user

    cache.clear()
    make_case(make_tenant("Acme"), name="Phishing wave")
    root = make_user("root", root=True, email="root@corp.test")
    return api_key_create(user=root, name="gateway")[1]


@pytest.fixture
def configs():
    """Builds upstream configurations and closes their pooled clients afterwards."""
    from cases.backend.upstream_client import UpstreamConfig, release

    made: list[UpstreamConfig] = []

    def make(url: str, key: str, **options) -> UpstreamConfig:
        options.setdefault("timeout", 5)
        options.setdefault("max_retries", 2)
        config = UpstreamConfig(url=url, api_key=key, **options)
        made.append(config)
        return config

    yield make
    for config in made:
        release(config)


@pytest.fixture
def start_server(transactional_db, django_db_blocker) -> Iterator:
    """`start_server(SETTING="value", ...)`: a gunicorn server of its own with those settings, for one test."""
    servers: list[LiveServer] = []

    def start(**settings_env: object) -> LiveServer:
        with django_db_blocker.unblock():
            servers.append(LiveServer({name: str(value) for name, value in settings_env.items()}))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def live_url(gunicorn_server: LiveServer, transactional_db) -> str:
    """Base URL (no trailing slash) of a gunicorn server reading the test database."""
    from django.core.cache import cache

    # The shared cache (a database table the test flush does not empty) holds the per-IP count of
    # failed logins; every test starts from zero.
    cache.clear()
    return gunicorn_server.url


# --- a second live instance serving the Stellar-compatible Public API ---------------------------------
# gthread workers keep HTTP connections alive (sync workers close every one), so the upstream client's
# connection pooling meets the behaviour of a real platform.
PUBLIC_API_ENV = {"STELLAR_BACKEND": "embedded", "GUNICORN_CMD_ARGS": "--worker-class gthread --threads 4"}


@pytest.fixture(scope="session")
def public_api_server(django_db_setup, django_db_blocker) -> Iterator[LiveServer]:
    with django_db_blocker.unblock():
        server = LiveServer(PUBLIC_API_ENV)
    yield server
    server.stop()


@pytest.fixture
def public_api_url(public_api_server: LiveServer, transactional_db) -> str:
    """Base URL of the Public API instance (reads the test database; the test is transactional)."""
    from django.core.cache import cache

    cache.clear()
    return public_api_server.url


# STELLAR_TEST_BACKEND=upstream: the gunicorn behind `live_url` serves /mcp/ with STELLAR_BACKEND=upstream
# against `public_api_server`, authenticating with a root key the tests do not know about. The key row is
# (re)written before each live test's body (after its fixtures built the data, since the test database is
# emptied after every test), owned by the data's first root user, or by a root user of its own if none.
UPSTREAM_MODE = os.environ.get("STELLAR_TEST_BACKEND") == "upstream"
_gateway_key: list[str] = []


def upstream_gateway_key() -> str:
    if not _gateway_key:
        from accounts.keys import generate_key

        _gateway_key.append(generate_key().plaintext)
    return _gateway_key[0]


def ensure_upstream_gateway_key() -> None:
    from django.contrib.auth import get_user_model

    from accounts.keys import key_digest, parse_public_id
    from accounts.models import ApiKey
    from tenants.models import TenantAccess

    key = upstream_gateway_key()
    public_id = parse_public_id(key)
    if ApiKey.objects.filter(public_id=public_id).exists():
        return
    users = get_user_model().objects
    owner = users.filter(is_active=True, tenant_access__all_tenants=True).order_by("pk").first()
    if owner is None:
        owner = users.create_user("upstream-gateway")
        TenantAccess.objects.create(user=owner, all_tenants=True)
    ApiKey.objects.create(public_id=public_id, digest=key_digest(key), name="upstream gateway (tests)", user=owner)


if UPSTREAM_MODE:

    @pytest.fixture(scope="session", autouse=True)
    def _mcp_through_upstream(public_api_server: LiveServer) -> Iterator[None]:
        # Read by LiveServer when it starts the gunicorn behind `live_url`, after this fixture.
        os.environ.update(
            STELLAR_BACKEND="upstream", STELLAR_URL=public_api_server.url, STELLAR_API_KEY=upstream_gateway_key()
        )
        yield

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(item):
        if "live_url" in getattr(item, "fixturenames", ()):
            ensure_upstream_gateway_key()
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keeps each phase's report on the test item: a browser test saves its page when the call failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


from tests.browser import browser_page, chromium  # noqa: E402,F401  (fixtures for the console's browser tests)
