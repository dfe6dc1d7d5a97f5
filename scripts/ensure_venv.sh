#!/usr/bin/env bash
# Create the virtual environment, installing the system's venv support first when it is missing
# (a fresh Debian has python3 without ensurepip).
set -euo pipefail
python="$1"; venv="$2"
command -v "$python" >/dev/null 2>&1 || python=python3
[ -x "$venv/bin/python" ] && exit 0
if ! "$python" -m venv "$venv" 2>/dev/null; then
  rm -rf "$venv"
  if command -v apt-get >/dev/null 2>&1; then
    sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq python3-venv >/dev/null
  fi
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
