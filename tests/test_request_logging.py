"""One structured log line per request, with the request id the response carries in X-Request-Id."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from django.http import HttpResponse
from django.test import RequestFactory

from audit.middleware import RequestLogMiddleware
from stellar_mcp_site.logging import JsonFormatter

ROOT = Path(__file__).resolve().parent.parent


def _request_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "request"]


def test_json_line_carries_the_request_id_of_the_response(client, caplog):
    with caplog.at_level(logging.INFO, logger="request"):
        response = client.get("/admin/login/", {"next": "/admin/", "token": "sekrit-value"})
    rid = response["X-Request-Id"]
    assert len(rid) >= 16
    [record] = _request_records(caplog)
    line = JsonFormatter().format(record)
    payload = json.loads(line)
    assert payload["request_id"] == rid
    assert payload["method"] == "GET" and payload["path"] == "/admin/login/" and payload["status"] == 200
    assert payload["client_ip"] == "127.0.0.1"
    assert isinstance(payload["duration_ms"], float) and payload["duration_ms"] >= 0
    assert payload["logger"] == "request" and payload["level"] == "INFO"
    # The query string (which may carry a credential) is not logged.
    assert "sekrit-value" not in line


def test_each_request_gets_its_own_id(client, caplog):
    with caplog.at_level(logging.INFO, logger="request"):
        first = client.get("/admin/login/")["X-Request-Id"]
        second = client.get("/admin/login/")["X-Request-Id"]
    assert first != second
    assert [r.request_id for r in _request_records(caplog)] == [first, second]


def test_the_view_sees_the_same_id_and_can_name_the_user(caplog):
    seen = {}

    def view(request):
        seen["request_id"] = request.request_id
        request.audit_username = "alice"
        return HttpResponse(status=201)

    with caplog.at_level(logging.INFO, logger="request"):
        response = RequestLogMiddleware(view)(RequestFactory().post("/mcp/"))
    [record] = _request_records(caplog)
    assert response["X-Request-Id"] == seen["request_id"] == record.request_id
    assert (record.user, record.status, record.method, record.path) == ("alice", 201, "POST", "/mcp/")


def test_server_errors_are_logged_at_error(caplog):
    with caplog.at_level(logging.INFO, logger="request"):
        RequestLogMiddleware(lambda request: HttpResponse(status=503))(RequestFactory().get("/x"))
    assert [r.levelno for r in _request_records(caplog)] == [logging.ERROR]


def test_log_format_json_writes_json_lines_to_the_console():
    script = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "print(Client(HTTP_HOST='127.0.0.1').get('/no-such-page/')['X-Request-Id'])\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "stellar_mcp_site.settings", "LOG_FORMAT": "json", "LOG_LEVEL": "INFO"}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    rid = done.stdout.strip().splitlines()[-1]
    # Python warnings go to stderr too, as plain text; every log record must be one JSON object.
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    [entry] = [e for e in lines if e["logger"] == "request"]
    assert entry["request_id"] == rid and entry["status"] == 404 and entry["path"] == "/no-such-page/"
