"""Two instances behind nginx, on PostgreSQL and Redis (scripts/cluster.sh), behave as one: a key revoked
through one is refused by the other, the MCP switch turned off on one is off on both, a key's budget is one
budget, failed authentications are counted together, and when an instance dies nginx sends the traffic to
the survivor without a lost or duplicated update. Runs in the PostgreSQL pass (the cluster brings its own
PostgreSQL; the SQLite pass has nothing to add)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
LIMITS = {"MCP_CALLS_PER_MINUTE": 40, "AUTH_FAILURE_LIMIT": 10}

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the cluster runs on PostgreSQL")


class Cluster:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        env = {**os.environ, "CLUSTER_EXTRA_ENV": " ".join(f"{k}={v}" for k, v in LIMITS.items())}
        started = subprocess.run([str(ROOT / "scripts/cluster.sh"), "start", str(directory)], cwd=ROOT, env=env,
                                 capture_output=True, text=True, timeout=600)
        assert started.returncode == 0, started.stderr[-3000:]
        self.url = started.stdout.strip().splitlines()[-1]
        pairs = [line.split("=", 1) for line in (directory / "cluster.env").read_text().splitlines()
                 if line and not line.startswith("#")]
        self.env = {name: value.strip("'") for name, value in pairs}
        self.instances = {n: f"http://127.0.0.1:{self.env[f'INSTANCE_{n}_PORT']}" for n in (1, 2)}

    def manage(self, *args: str) -> str:
        # Only the cluster's settings: none of this test run's own (its database, its secret key).
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "DJANGO_", "CACHE_URL"))}
        done = subprocess.run([str(ROOT / ".venv/bin/python"), "manage.py", *args], cwd=ROOT, env={**env, **self.env},
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    def new_key(self, name: str) -> str:
        return self.manage("create_api_key", "--user", "soc-admin", "--name", name).strip().splitlines()[-1]

    def kill_instance(self, n: int) -> None:
        """SIGKILL an instance's master and workers: the machine it ran on is gone."""
        master = int((self.dir / f"gunicorn-{n}.pid").read_text())
        workers = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
        for pid in [master, *map(int, workers)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def restart_instance(self, n: int) -> None:
        subprocess.run([str(ROOT / "scripts/cluster.sh"), "restart-instance", str(n), str(self.dir)], cwd=ROOT,
                       check=True, capture_output=True, timeout=120)

    def stop(self) -> None:
        subprocess.run([str(ROOT / "scripts/cluster.sh"), "stop", str(self.dir)], cwd=ROOT, timeout=120)


@pytest.fixture(scope="module")
def cluster() -> Cluster:
    # Under the project's .run/ (as the test PostgreSQL is): its server runs as the postgres user, which
    # must reach the directory, and pytest's temporary directories are private to this user.
    made = Cluster(ROOT / ".run" / f"cluster-test-{os.getpid()}")
    # The demo's administrator runs the console; the switches' row exists from the first migrate on.
    made.manage("shell", "-c", "from django.contrib.auth.models import User; from features.models import FeatureSettings; "
                "User.objects.filter(username='soc-admin').update(is_staff=True, is_superuser=True); "
                "FeatureSettings.load()")
    yield made
    made.stop()


def rpc(base: str, key: str, method: str = "tools/call", params: dict | None = None) -> httpx.Response:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params if params is not None else
            {"name": "listTenant", "arguments": {}}}
    return httpx.post(f"{base}/mcp/", json=body, timeout=30,
                      headers={"Authorization": f"Bearer {key}", "MCP-Protocol-Version": "2025-11-25"})


def signed_in(base: str, password: str, path: str) -> tuple[httpx.Client, str]:
    """A browser-like client logged in as the demo admin on one instance, and the CSRF token of `path`."""
    http = httpx.Client(base_url=base, timeout=30, follow_redirects=False)
    page = http.get("/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
    done = http.post("/accounts/login/", data={"csrfmiddlewaretoken": token, "username": "soc-admin",
                                                "password": password, "next": path})
    assert done.status_code == 302, done.text[:300]
    page = http.get(path)
    return http, re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]


def test_a_key_revoked_through_one_instance_is_refused_by_the_other(cluster):
    key = cluster.new_key("revoke me")
    assert rpc(cluster.instances[2], key).status_code == 200
    http, token = signed_in(cluster.instances[1], cluster.env["DEMO_ADMIN_PASSWORD"], "/profile/api-keys/")
    public_id = key.removeprefix("sk-stellar-")[:12]
    assert http.post(f"/profile/api-keys/{public_id}/revoke/", data={"csrfmiddlewaretoken": token}).status_code == 302
    assert rpc(cluster.instances[2], key).status_code == 401
    assert rpc(cluster.url, key).status_code == 401


def test_the_mcp_switch_turned_off_on_one_instance_is_off_on_both(cluster):
    key = cluster.new_key("switch")
    http, token = signed_in(cluster.instances[1], cluster.env["DEMO_ADMIN_PASSWORD"],
                            "/admin/features/featuresettings/1/change/")
    form = {"csrfmiddlewaretoken": token, "ai_summary_enabled": "on", "oauth_dcr_enabled": "on",
            "oauth_cimd_enabled": "on", "_save": "Save"}
    assert http.post("/admin/features/featuresettings/1/change/", data=form).status_code == 302
    try:
        assert [rpc(base, key).status_code for base in (*cluster.instances.values(), cluster.url)] == [503] * 3
    finally:
        assert http.post("/admin/features/featuresettings/1/change/", data={**form, "mcp_enabled": "on"}).status_code == 302
    assert [rpc(base, key).status_code for base in (*cluster.instances.values(), cluster.url)] == [200] * 3


def test_a_keys_budget_is_one_budget_across_both_instances(cluster):
    key = cluster.new_key("budget")
    limit = LIMITS["MCP_CALLS_PER_MINUTE"]
    for n in range(limit):
        result = rpc(cluster.instances[1 + n % 2], key).json()["result"]
        assert not result["isError"], (n, result)
    for base in cluster.instances.values():
        result = rpc(base, key).json()["result"]
        assert result["isError"] and "Rate limit" in result["content"][0]["text"]


def test_failed_authentications_are_counted_across_both_instances(cluster):
    limit = LIMITS["AUTH_FAILURE_LIMIT"]
    # A forwarded address of its own, so this test's count starts at zero (nginx is the one trusted hop).
    headers = {"X-Forwarded-For": "198.51.100.7", "Content-Type": "application/json"}
    for n in range(limit):
        base = cluster.instances[1 + n % 2]
        assert httpx.post(f"{base}/mcp/", json={}, headers={**headers, "Authorization": "Bearer nope"}).status_code == 401
    for base in cluster.instances.values():
        answer = httpx.post(f"{base}/mcp/", json={}, headers={**headers, "Authorization": "Bearer nope"})
        assert answer.status_code == 429 and answer.headers["retry-after"]


def snapshot(cluster: Cluster, case_ids: list[str]) -> dict[str, tuple[int, int, int]]:
    """Per case: its version, its severity activity rows, and the audited successful updates that changed it."""
    report = cluster.manage("shell", "-c", (
        "from cases.models import Case, Activity; from audit.models import PublicApiAccess as P\n"
        f"for i in {case_ids!r}:\n"
        "    c = Case.objects.get(stellar_id=i)\n"
        "    a = Activity.objects.filter(case=c, field='severity').count()\n"
        "    r = sum(1 for x in P.objects.filter(tool='updateCase', outcome='success', case_ids=i)"
        ".values_list('changes', flat=True) if x)\n"
        "    print(i, c.version, a, r)"))
    rows = [line.split() for line in report.splitlines() if line.split()[:1] and line.split()[0] in case_ids]
    assert len(rows) == len(case_ids), report
    return {row[0]: (int(row[1]), int(row[2]), int(row[3])) for row in rows}


LOAD_SECONDS = 30


def test_an_instance_killed_under_load_loses_nothing_and_nginx_moves_to_the_survivor(cluster):
    key = cluster.new_key("load")
    listed = rpc(cluster.url, key, params={"name": "listCases", "arguments": {"created_within": "7d", "limit": 4}})
    cases = listed.json()["result"]["structuredContent"]["cases"]
    assert len(cases) == 4
    answered_ids = [listed.headers["X-Request-Id"]]  # each answer names the request id its audit row holds
    answered = {c["_id"]: 0 for c in cases}
    before = snapshot(cluster, list(answered))
    tally = {"answered": 0, "dropped": 0, "server_errors": 0}
    lock = threading.Lock()
    deadline = time.monotonic() + LOAD_SECONDS

    def client(worker: int) -> None:
        with httpx.Client(timeout=30) as http:
            n = worker
            while time.monotonic() < deadline:
                n += 16
                case = cases[n % 4]
                params = ({"name": "updateCase", "arguments": {"_id": case["_id"], "severity": ["High", "Low"][n % 2]}}
                          if n % 3 == 0 else {"name": "listTenant", "arguments": {}})
                try:
                    response = http.post(f"{cluster.url}/mcp/", json={"jsonrpc": "2.0", "id": n, "method": "tools/call",
                                                                      "params": params},
                                         headers={"Authorization": f"Bearer {key}", "MCP-Protocol-Version": "2025-11-25"})
                except httpx.TransportError:
                    response = None
                with lock:
                    if response is None or response.status_code in (502, 504):
                        tally["dropped"] += 1  # no answer from the application: the instance died under it
                    elif response.status_code >= 500:
                        tally["server_errors"] += 1
                    else:
                        tally["answered"] += 1
                        answered_ids.append(response.headers["X-Request-Id"])
                        result = response.json()["result"]
                        if params["name"] == "updateCase" and not result["isError"] and result["structuredContent"]["changes"]:
                            answered[case["_id"]] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    time.sleep(LOAD_SECONDS / 3)
    cluster.kill_instance(1)
    time.sleep(LOAD_SECONDS / 3)
    cluster.restart_instance(1)
    for thread in threads:
        thread.join()
    print(f"\n16 clients, {LOAD_SECONDS} s through nginx, instance 1 killed and restarted a third and two thirds in: {tally}")
    assert tally["server_errors"] == 0 and tally["answered"] > 200
    # Unanswered: only calls instance 1 held when it died, each of the 16 clients' one in flight, plus
    # at most one more each sent on a connection nginx had kept open to it.
    assert tally["dropped"] <= 32
    # No lost, duplicated or unaudited update: per case, versions, activity rows and audited changes moved
    # together, by at least what the clients were told and at most that plus the calls left unanswered.
    after = snapshot(cluster, list(answered))
    for case_id, (version, activities, audited) in after.items():
        v0, a0, r0 = before[case_id]
        line = f"{case_id}: version +{version - v0}, activities +{activities - a0}, audited +{audited - r0}"
        assert version - v0 == activities - a0 == audited - r0, line
        assert answered[case_id] <= activities - a0 <= answered[case_id] + tally["dropped"], line
    # And every call: each answered one (the listCases above, then the load) has exactly one audit row,
    # under the request id its answer named; the only other rows are of calls left unanswered (recorded
    # before the instance died), at most one each.
    report = cluster.manage("shell", "-c", "from audit.models import PublicApiAccess as P\n"
                            "for rid in P.objects.filter(key_name='load').values_list('request_id', flat=True):\n"
                            "    print('row', rid)")
    rows = Counter(line.split()[1] for line in report.splitlines() if line.startswith("row "))
    assert len(answered_ids) == len(set(answered_ids)) == tally["answered"] + 1
    assert [rid for rid in answered_ids if rows[rid] != 1] == [], "answered calls without exactly one audit row"
    unanswered_rows = rows.keys() - set(answered_ids)
    assert len(unanswered_rows) <= tally["dropped"] and max(rows.values()) == 1, (len(unanswered_rows), tally)
    # Both instances answer again.
    assert [rpc(base, key).status_code for base in cluster.instances.values()] == [200, 200]
