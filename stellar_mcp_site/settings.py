"""Settings for the Stellar Cyber MCP Server, read from the environment (12-factor, django-environ).

Every value has a safe default for a laptop: SQLite in the project folder, DEBUG off, loopback-only
hosts and origins. Production sets DATABASE_URL, DJANGO_SECRET_KEY, ALLOWED_HOSTS and friends.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import unquote

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# An optional .env next to manage.py; real environment variables win over it.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _local_secret_key() -> str:
    """A secret key generated once into an ignored file, so a laptop install needs no configuration."""
    path = BASE_DIR / ".secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(50)
    path.write_text(key)
    path.chmod(0o600)
    return key


SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or _local_secret_key()
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "stellar_mcp_site.console.ConsoleAdminConfig",  # django.contrib.admin, under the product's name
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "features",
    "tenants",
    "cases",
    "accounts",
    "oauth",
    "audit",
    "mcp_gateway",
    "public_api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "audit.middleware.RequestLogMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Answers /mcp/ itself: what follows serves the browser console only (see its docstring).
    "mcp_gateway.middleware.McpEndpointMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "stellar_mcp_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "stellar_mcp_site.wsgi.application"

# --- Database -----------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
SQLITE_BUSY_TIMEOUT_MS = env.int("SQLITE_BUSY_TIMEOUT_MS", default=20_000)
SQLITE_ENGINES = ("django.db.backends.sqlite3", "stellar_mcp_site.sqlite_backend")


def _sqlite_audit_file(name: str) -> str | None:
    """The Activity Log's own file next to a SQLite database file: db.sqlite3 -> db-audit.sqlite3."""
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    path = Path(name)
    return str(path.with_name(f"{path.stem}-audit{path.suffix}"))


# The Activity Log (audit.PublicApiAccess) gets one row per tool call. On SQLite it lives in a file of
# its own: every commit to a SQLite file makes every other connection drop its whole page cache, so
# with the audit rows in the main file each call's INSERT made every worker re-read the case pages it
# had cached. Measured with 8 clients on 2 cores, interleaved runs: listCases 265-333 -> 310-483 calls/s.
# PostgreSQL caches pages server-side and keeps the log in the main database unless AUDIT_DATABASE_URL
# points elsewhere. stellar_mcp_site.db_router sends the audit app there.
if env.str("AUDIT_DATABASE_URL", default=""):
    DATABASES["audit"] = env.db("AUDIT_DATABASE_URL")
elif DATABASES["default"]["ENGINE"] in SQLITE_ENGINES and (_audit := _sqlite_audit_file(DATABASES["default"]["NAME"])):
    DATABASES["audit"] = {**{k: v for k, v in DATABASES["default"].items() if k not in ("OPTIONS", "TEST")}, "NAME": _audit}
DATABASE_ROUTERS = ["stellar_mcp_site.db_router.AuditRouter"]

for _db in DATABASES.values():
    if _db["ENGINE"] in SQLITE_ENGINES:
        # Several gunicorn workers share one file: WAL lets readers run beside the writer, the busy
        # timeout makes a writer wait for the lock instead of failing, and IMMEDIATE transactions take
        # the write lock up front (a deferred read-then-write transaction fails at once when another
        # writer holds the lock, whatever the timeout).
        # Django's SQLite backend, with writers taking turns through a file lock (see sqlite_backend/base.py).
        _db["ENGINE"] = "stellar_mcp_site.sqlite_backend"
        _db.setdefault("OPTIONS", {}).update(
            {
                "transaction_mode": "IMMEDIATE",
                "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS};"
                    "PRAGMA cache_size=-65536;"
                    "PRAGMA temp_store=MEMORY;"
                    "PRAGMA mmap_size=268435456;"
                ),
            }
        )
    else:
        # A unix-socket directory may come percent-encoded (postgres://u@%2Frun%2Fpg/db), which
        # django-environ leaves encoded, or as a query (postgres://u@/db?host=/run/pg&port=5433), which it
        # puts in OPTIONS where psycopg finds it but `dbshell` does not: both end up in HOST and PORT.
        if _db.get("HOST", "").upper().startswith("%2F"):
            _db["HOST"] = unquote(_db["HOST"])
        if not _db.get("HOST") and "host" in _db.get("OPTIONS", {}):
            _db["HOST"] = str(_db["OPTIONS"].pop("host"))
            _db["PORT"] = str(_db["OPTIONS"].pop("port", _db.get("PORT") or ""))
    # Each worker keeps its connection between requests: opening one (and, on SQLite, running the
    # PRAGMAs above) costs more than a small tool call.
    _db.setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    _db.setdefault("CONN_HEALTH_CHECKS", True)

if DATABASES.get("audit", {}).get("ENGINE") == "stellar_mcp_site.sqlite_backend":
    # The log's file takes one INSERT per call, ~6 pages to the WAL each. At SQLite's default of a
    # checkpoint every 1,000 WAL pages, 1 call in ~150 paid for a checkpoint (writing the pages back and
    # an fsync, 4-5 ms alone on this VM), which is the p99 of a busy server. Every 10,000 pages: 1 call
    # in ~1,500 pays ~30 ms, and an INSERT costs 15 % less CPU (a hot page is written back once, not ten
    # times). The WAL file grows to ~40 MB and is reused.
    DATABASES["audit"]["OPTIONS"]["init_command"] += "PRAGMA wal_autocheckpoint=10000;"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth ---------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/profile/api-keys/"

# --- I18N ---------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve admin assets straight from the apps (no collectstatic needed for `make run`); production
# runs `manage.py collectstatic` into STATIC_ROOT.
WHITENOISE_USE_FINDERS = True
try:
    STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every request when it is missing
except OSError:
    pass

# --- Security (production values come from the environment) -------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- Server -------------------------------------------------------------------------------------
HOST = env.str("HOST", default="127.0.0.1")
PORT = env.int("PORT", default=8000)

# --- MCP ----------------------------------------------------------------------------------------
# Browser origins allowed to call /mcp/ (DNS-rebinding protection); loopback only by default.
MCP_ALLOWED_ORIGINS = env.list(
    "MCP_ALLOWED_ORIGINS",
    default=["http://127.0.0.1", "http://localhost", "http://[::1]", "https://127.0.0.1", "https://localhost"],
)
MCP_MAX_BODY_BYTES = env.int("MCP_MAX_BODY_BYTES", default=1024 * 1024)
# Environment kill switch: when false, /mcp/ answers 503 whatever the feature settings say.
MCP_ENABLED = env.bool("MCP_ENABLED", default=True)
# Tool calls per API key per minute (0: no limit), and the stricter budget for updateCase.
MCP_CALLS_PER_MINUTE = env.int("MCP_CALLS_PER_MINUTE", default=600)
MCP_WRITE_CALLS_PER_MINUTE = env.int("MCP_WRITE_CALLS_PER_MINUTE", default=60)
# Public base URL used in printed hints (`claude mcp add ...`).
MCP_PUBLIC_URL = env.str("MCP_PUBLIC_URL", default="")

# --- Audit ---------------------------------------------------------------------------------------
# A call whose Activity Log row cannot be written is not carried out (a retryable 503). True keeps
# answering reads meanwhile, each failure logged at ERROR; changes are never made off the record.
AUDIT_READS_FAIL_OPEN = env.bool("AUDIT_READS_FAIL_OPEN", default=False)

# --- Access tokens and key verification --------------------------------------------------------
ACCESS_TOKEN_TTL_SECONDS = 600

# --- OAuth 2.1 for hosted MCP clients (oauth/) -------------------------------------------------
# The issuer and the resource (/mcp/) are MCP_PUBLIC_URL's when it is set (set it behind a proxy), else
# the request's own scheme and host.
OAUTH_ACCESS_TOKEN_SECONDS = min(env.int("OAUTH_ACCESS_TOKEN_SECONDS", default=600), 600)
OAUTH_REFRESH_TOKEN_DAYS = env.int("OAUTH_REFRESH_TOKEN_DAYS", default=30)
OAUTH_CODE_SECONDS = 60
# Client ID Metadata Documents: fetched over HTTPS from public addresses, at most this big and this
# slow, kept this long.
OAUTH_CLIENT_METADATA_MAX_BYTES = 5 * 1024
OAUTH_CLIENT_METADATA_TIMEOUT_SECONDS = env.float("OAUTH_CLIENT_METADATA_TIMEOUT_SECONDS", default=5.0)
OAUTH_CLIENT_METADATA_CACHE_SECONDS = 3600
# TEST AIDS ONLY: fetch metadata documents from loopback addresses (http too), trusting this CA bundle.
OAUTH_CLIENT_METADATA_ALLOW_LOOPBACK = env.bool("OAUTH_CLIENT_METADATA_ALLOW_LOOPBACK", default=False)
OAUTH_CLIENT_METADATA_CA_BUNDLE = env.str("OAUTH_CLIENT_METADATA_CA_BUNDLE", default="")
# Dynamic client registrations per client address per hour (an anonymous endpoint writes a row each).
OAUTH_REGISTRATIONS_PER_HOUR = env.int("OAUTH_REGISTRATIONS_PER_HOUR", default=20)
# Pepper of the API key digests; empty: derived from SECRET_KEY (then changing SECRET_KEY voids every key).
API_KEY_PEPPER = env.str("API_KEY_PEPPER", default="")
# Failed authentication attempts allowed per client IP per window before 429s.
AUTH_FAILURE_LIMIT = env.int("AUTH_FAILURE_LIMIT", default=20)
AUTH_FAILURE_WINDOW_SECONDS = env.int("AUTH_FAILURE_WINDOW_SECONDS", default=60)
# Number of reverse-proxy hops whose X-Forwarded-For entries are trusted (0: use REMOTE_ADDR).
TRUSTED_PROXY_HOPS = env.int("TRUSTED_PROXY_HOPS", default=0)

# --- Cache (rate-limit counters shared by workers) ----------------------------------------------
CACHES = {"default": env.cache("CACHE_URL", default="dbcache://django_cache")}
if CACHES["default"]["BACKEND"].endswith("DatabaseCache"):
    # Room for one failure counter per attacking address; the default 300 entries would be culled
    # (and counters forgotten) under a many-address guessing attack.
    CACHES["default"].setdefault("OPTIONS", {}).setdefault("MAX_ENTRIES", 100_000)

# --- Logging ------------------------------------------------------------------------------------
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "stellar_mcp_site.logging.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # RequestLogMiddleware already writes one line per request; Django's own 4xx warnings would
    # double every refused MCP request.
    # httpx logs every upstream call with its query string at INFO; cases.upstream logs what matters.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "django.request": {"level": "ERROR"},
                "httpx": {"level": "WARNING"}},
}

# --- REST framework (the Stellar-compatible Public API) -----------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}

# --- Cases backend ------------------------------------------------------------------------------
# "embedded" (this project's database) or "upstream" (a Stellar Cyber Public API over HTTPS).
STELLAR_BACKEND = env.str("STELLAR_BACKEND", default="embedded")
# listTenant's case counts are cached this long (updateCase drops them at once; see cases/backend/tenant_counts.py).
TENANT_COUNTS_CACHE_SECONDS = env.int("TENANT_COUNTS_CACHE_SECONDS", default=10)
# The upstream platform, e.g. https://acme.stellarcyber.cloud, and its API key (a root-scope key, so
# that alert search works and the gateway's own per-key tenant limits decide who sees what). With
# STELLAR_USER_EMAIL the key is exchanged with the legacy Basic email:key scheme, else as a Bearer key.
STELLAR_URL = env.str("STELLAR_URL", default="")
STELLAR_API_KEY = env.str("STELLAR_API_KEY", default="")
STELLAR_USER_EMAIL = env.str("STELLAR_USER_EMAIL", default="")
# Per-request timeout and retries (429/502/503/504, timeouts, connection errors; exponential backoff
# honouring Retry-After). A call gives up within ~20 s whatever these say, below gunicorn's 30 s.
STELLAR_TIMEOUT_SECONDS = env.float("STELLAR_TIMEOUT_SECONDS", default=10.0)
STELLAR_MAX_RETRIES = env.int("STELLAR_MAX_RETRIES", default=2)
# Outbound proxy (http://proxy:3128) and TLS: a CA bundle file for a private CA, or verification off
# (never in production). HTTP(S)_PROXY variables of the environment are not used.
STELLAR_PROXY = env.str("STELLAR_PROXY", default="")
STELLAR_CA_BUNDLE = env.str("STELLAR_CA_BUNDLE", default="")
STELLAR_VERIFY_TLS = env.bool("STELLAR_VERIFY_TLS", default=True)

# --- Public API fault injection: TEST AIDS ONLY (public_api/faults.py); off unless set ------------
PUBLIC_API_FAULT_STATUS = env.int("PUBLIC_API_FAULT_STATUS", default=0)
PUBLIC_API_FAULT_EVERY = env.int("PUBLIC_API_FAULT_EVERY", default=1)
PUBLIC_API_FAULT_DELAY_MS = env.int("PUBLIC_API_FAULT_DELAY_MS", default=0)
PUBLIC_API_FAULT_RETRY_AFTER = env.int("PUBLIC_API_FAULT_RETRY_AFTER", default=1)
