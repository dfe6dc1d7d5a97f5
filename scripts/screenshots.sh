#!/usr/bin/env bash
# Screenshots of the console's pages (profile, Activity Log, dashboard, console index, consent), light and
# dark, on demo data, into DIR (default .run/screenshots), through the browser tests' own live server.
set -euo pipefail
cd "$(dirname "$0")/.."
SCREENSHOTS_DIR=$(realpath -m "${1:-.run/screenshots}") DATABASE_URL="sqlite:///$PWD/db.sqlite3" \
  .venv/bin/python -m pytest -q -s -p no:cacheprovider tests/test_browser_screenshots.py
