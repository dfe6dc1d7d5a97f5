#!/usr/bin/env bash
# Create the virtual environment from PYTHON, else from the distribution's python3.11, installing the
# system's venv support first when it is missing (a fresh Debian has python3 without ensurepip).
set -euo pipefail
python="$1"; venv="$2"
if [ -z "$python" ]; then
  # The distribution's build first: Debian compiles its python3.11 with profile-guided and link-time
  # optimisation and links libpython statically; a version manager's default build (pyenv) does neither.
  # On the benchmark machine listCases and getCaseDetail took 15-18 % less CPU on Debian's in process
  # (about 5 % of gunicorn's CPU per call under 8 clients, where the kernel's share does not change).
  for python in /usr/bin/python3.11 python3.11 python3; do
    command -v "$python" >/dev/null 2>&1 && break
  done
fi
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
