#!/usr/bin/env bash
# The whole test suite: installs and starts what the tests need, then runs pytest.
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

set +e
.venv/bin/python -m pytest "$@"
status=$?
# The MCP tool suite a second time with STELLAR_BACKEND=upstream: the server behind /mcp/ reaches the
# data through the Stellar-compatible Public API of a second live instance (tests/conftest.py). Only on
# a full run: arguments select tests of the first pass.
if [ $# -eq 0 ]; then
  STELLAR_TEST_BACKEND=upstream .venv/bin/python -m pytest -q tests/test_tools_*.py tests/test_sample_queries.py
  upstream_status=$?
  [ $status -eq 0 ] && status=$upstream_status
fi
set -e
# pytest exits 5 when no test ran; that is a failure of the suite, not a pass.
exit $status
