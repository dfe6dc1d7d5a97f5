"""Liveness and readiness endpoints over gunicorn."""

from __future__ import annotations

import httpx

from tests.conftest import LiveServer


def test_healthz_and_readyz(live_url):
    assert httpx.get(f"{live_url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{live_url}/readyz")
    assert ready.status_code == 200 and ready.json()["database"] == "ok"


def test_readyz_says_when_the_database_is_unreachable(django_db_blocker, tmp_path):
    with django_db_blocker.unblock():
        server = LiveServer({"DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"}, workers=1)
    try:
        assert httpx.get(f"{server.url}/healthz").status_code == 200
        ready = httpx.get(f"{server.url}/readyz")
        assert ready.status_code == 503 and ready.json()["database"] == "unreachable"
    finally:
        server.stop()


def test_readyz_says_when_the_activity_log_database_is_unreachable(django_db_blocker):
    # A call that cannot be audited should not be served: the log's own database counts for readiness.
    with django_db_blocker.unblock():
        server = LiveServer({"AUDIT_DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"}, workers=1)
    try:
        ready = httpx.get(f"{server.url}/readyz")
        assert ready.status_code == 503 and ready.json()["database"] == "unreachable"
    finally:
        server.stop()
