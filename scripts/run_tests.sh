#!/usr/bin/env bash
# The whole test suite: installs and starts what the tests need, then runs pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m pytest "$@"
