"""`make run` (the README's first command) seeds, prints a working key and the Claude Code line, and serves."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.conftest import ROOT, free_port

KEY = re.compile(r'claude mcp add --transport http stellar_api (\S+) --header "Authorization: Bearer (sk-stellar-\S+)"')


def test_make_run_serves_admin_and_mcp_with_the_printed_key(tmp_path: Path):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}", "PORT": str(port),
           "WEB_CONCURRENCY": "2", "DEMO_ADMIN_PASSWORD": "demo-pass-123"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    log = tmp_path / "make-run.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(["make", "-s", "run"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/admin/login/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            raise AssertionError("make run did not serve in time:\n" + log.read_text()[-3000:])
        match = KEY.search(log.read_text())
        assert match, log.read_text()[-3000:]
        url, key = match.groups()
        assert url == f"http://127.0.0.1:{port}/mcp/"
        answer = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                       "params": {"name": "listTenant", "arguments": {}}},
                            headers={"Authorization": f"Bearer {key}"}).json()
        assert answer["result"]["structuredContent"]["total"] == 5
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as browser:
            page = browser.get("/admin/login/")
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
            login = browser.post("/admin/login/?next=/admin/", data={
                "username": "soc-admin", "password": "demo-pass-123", "csrfmiddlewaretoken": token})
            assert login.status_code == 302 and login.headers["location"] == "/admin/"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
