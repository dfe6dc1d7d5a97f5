"""`manage.py check_upstream` against a live Public API instance: what it prints, and one line on failure."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from accounts.services import api_key_create
from cases.backend.upstream_client import UpstreamConfig, release
from tests.conftest import ROOT, database_url_for
from tests.factories import make_case, make_tenant, make_user


@pytest.fixture
def key(public_api_url):
    acme = make_tenant("Acme")
    make_case(acme)
    make_case(acme)
    return api_key_create(user=make_user("root", root=True), name="gateway")[1]


def run(url: str, key: str) -> str:
    out = io.StringIO()
    with override_settings(STELLAR_URL=url, STELLAR_API_KEY=key):
        try:
            call_command("check_upstream", stdout=out)
        finally:
            release(UpstreamConfig.from_settings())
    return out.getvalue()


def test_prints_what_it_found(public_api_url, key):
    out = run(public_api_url, key)
    assert f"Upstream:        {public_api_url} (token exchange with Bearer <key>)" in out
    assert "Access token:    OK, valid for 59" in out
    assert "Tenants:         1 visible to the key (Acme)" in out
    assert "Cases:           OK, 2 cases in all" in out
    assert "1 TCP connection(s) opened" in out
    assert key not in out


def test_failures_are_one_line_and_exit_1(public_api_url, key):
    with pytest.raises(CommandError, match="refused the gateway's credentials"):
        run(public_api_url, key[:-1] + ("A" if not key.endswith("A") else "B"))
    with pytest.raises(CommandError, match="must both be set"):
        run("", "")
    from django.db import connection

    env = {**os.environ, "STELLAR_URL": public_api_url, "STELLAR_API_KEY": "sk-stellar-wrong",
           "STELLAR_MAX_RETRIES": "0", "DATABASE_URL": database_url_for(connection.settings_dict)}
    done = subprocess.run([sys.executable, "manage.py", "check_upstream"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "refused the gateway's credentials (STELLAR_API_KEY)" in lines[0]
    assert "sk-stellar-wrong" not in done.stderr + done.stdout
