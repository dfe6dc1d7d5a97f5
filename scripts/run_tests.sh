#!/usr/bin/env bash
# The whole test suite: installs and starts what the tests need, then runs pytest on SQLite and again on
# PostgreSQL. Arguments select tests (as pytest arguments) for both database passes;
# TEST_DATABASES="sqlite" (or "postgresql") runs one pass only.
#
# The PostgreSQL pass uses TEST_DATABASE_URL, or DATABASE_URL when it names a PostgreSQL server, or else
# a throwaway server that scripts/postgres.sh installs (if needed) and starts under .run/pg/ and that
# is stopped and deleted when this script exits.
set -euo pipefail
cd "$(dirname "$0")/.."

# The official MCP conformance suite is an npm package (pinned with its Node.js 22 in
# tests/conformance/package-lock.json). npm comes from the system package manager when missing.
if ! command -v npm >/dev/null 2>&1; then
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq nodejs npm >/dev/null
fi
if [ ! -f tests/conformance/node_modules/.package-lock.json ] \
   || [ tests/conformance/package-lock.json -nt tests/conformance/node_modules/.package-lock.json ]; then
  (cd tests/conformance && npm ci --no-audit --no-fund --loglevel=error)
fi

# The console's browser tests drive the distribution's Chromium through Playwright (which downloads no browser).
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 && [ -z "${CHROMIUM_PATH:-}" ]; then
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi

databases=${TEST_DATABASES:-sqlite postgresql}
is_postgres_url() { case ${1:-} in postgres://*|postgresql://*|pgsql://*) return 0 ;; *) return 1 ;; esac; }

status=0
summary=()
# Run one pytest pass; remember the first failure and how long each pass took.
run_pass() {
  local name=$1; shift
  local started=$SECONDS pass_status
  echo "=== $name ==="
  set +e
  "$@"
  pass_status=$?
  set -e
  summary+=("$name: exit $pass_status in $((SECONDS - started)) s")
  # pytest exits 5 when no test ran; that is a failure of the suite, not a pass.
  [ $status -eq 0 ] && status=$pass_status
  return 0
}

if [[ " $databases " == *" sqlite "* ]]; then
  run_pass "SQLite" env DATABASE_URL="sqlite:///$PWD/db.sqlite3" .venv/bin/python -m pytest "$@"
  # The MCP tool suite a second time with STELLAR_BACKEND=upstream: the server behind /mcp/ reaches the
  # data through the Stellar-compatible Public API of a second live instance (tests/conftest.py). Only on
  # a full run: arguments select tests of the first pass.
  if [ $# -eq 0 ]; then
    run_pass "SQLite, upstream backend" env DATABASE_URL="sqlite:///$PWD/db.sqlite3" STELLAR_TEST_BACKEND=upstream \
      .venv/bin/python -m pytest -q tests/test_tools_*.py tests/test_sample_queries.py
  fi
fi

if [[ " $databases " == *" postgresql "* ]]; then
  pg_url=${TEST_DATABASE_URL:-}
  if [ -z "$pg_url" ] && is_postgres_url "${DATABASE_URL:-}"; then pg_url=$DATABASE_URL; fi
  if [ -n "$pg_url" ] && ! is_postgres_url "$pg_url"; then
    echo "run_tests.sh: TEST_DATABASE_URL must name a PostgreSQL server" >&2
    exit 2
  fi
  if [ -z "$pg_url" ]; then
    # Clusters left behind by runs that were killed before their trap ran.
    for dir in .run/pg/test-*; do
      [ -d "$dir" ] || continue
      kill -0 "${dir##*-}" 2>/dev/null || scripts/postgres.sh stop "$dir" --remove || true
    done
    pg_dir=.run/pg/test-$$
    trap 'scripts/postgres.sh stop "$pg_dir" --remove' EXIT
    pg_url=$(PYTHON=.venv/bin/python scripts/postgres.sh start "$pg_dir")
  fi
  run_pass "PostgreSQL" env DATABASE_URL="$pg_url" .venv/bin/python -m pytest "$@"
fi

if [ ${#summary[@]} -eq 0 ]; then
  echo "run_tests.sh: no test pass selected (TEST_DATABASES=$databases)" >&2
  exit 2
fi
printf '%s\n' "${summary[@]}"
exit $status
