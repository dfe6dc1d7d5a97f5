"""The upstream client against platforms that are not plain HTTP on loopback, or not well behaved: TLS with a
private CA, an outbound proxy, and answers no Stellar Cyber platform should give."""

from __future__ import annotations

import http.client
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from cases.backend import CaseQuery, NotFound, UpstreamUnavailable
from cases.backend.upstream import UpstreamBackend
from tenants.scope import TenantScope
from tests.conftest import PUBLIC_API_ENV, LiveServer
from tests.factories import ROOT_SCOPE

# --- TLS and proxy --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tls_instance(django_db_setup, django_db_blocker, tmp_path_factory):
    """A Public API instance over HTTPS with a certificate signed by a private test CA."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command makes the test CA and certificate")
    d = tmp_path_factory.mktemp("tls")

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=Test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=127.0.0.1")
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    run("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "srv.pem",
        "-days", "2", "-extfile", "ext.cnf")
    tls_args = f"{PUBLIC_API_ENV['GUNICORN_CMD_ARGS']} --certfile {d / 'srv.pem'} --keyfile {d / 'srv.key'}"
    with django_db_blocker.unblock():
        server = LiveServer({**PUBLIC_API_ENV, "GUNICORN_CMD_ARGS": tls_args}, workers=1)
    server.url = f"https://127.0.0.1:{server.port}"
    server.ca = d / "ca.pem"
    yield server
    server.stop()


def test_tls_with_a_private_ca(tls_instance, root_key, configs):
    assert UpstreamBackend(configs(tls_instance.url, root_key, ca_bundle=str(tls_instance.ca))).list_tenants(ROOT_SCOPE)
    with pytest.raises(UpstreamUnavailable) as exc:
        UpstreamBackend(configs(tls_instance.url, root_key)).list_tenants(ROOT_SCOPE)
    assert exc.value.retryable is False and "set STELLAR_CA_BUNDLE" in exc.value.message
    assert UpstreamBackend(configs(tls_instance.url, root_key, verify_tls=False)).list_tenants(ROOT_SCOPE)
    with pytest.raises(UpstreamUnavailable, match="STELLAR_CA_BUNDLE is not a readable PEM file"):
        UpstreamBackend(configs(tls_instance.url, root_key, ca_bundle="/nonexistent.pem")).list_tenants(ROOT_SCOPE)


class _ForwardProxy(BaseHTTPRequestHandler):
    """A minimal HTTP forward proxy that records the request lines it relays."""

    seen: list[str] = []

    def _relay(self) -> None:
        type(self).seen.append(self.requestline)
        target = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection")}
        upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
        upstream.request(self.command, target.path + (f"?{target.query}" if target.query else ""), body, headers)
        answer = upstream.getresponse()
        payload = answer.read()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("connection", "keep-alive", "transfer-encoding", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = _relay

    def log_message(self, *args) -> None:
        pass


def test_outbound_proxy(public_api_url, root_key, configs):
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), _ForwardProxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        _ForwardProxy.seen = []
        config = configs(public_api_url, root_key, proxy=f"http://127.0.0.1:{proxy.server_port}")
        assert UpstreamBackend(config).list_tenants(ROOT_SCOPE)
    finally:
        proxy.shutdown()
    assert _ForwardProxy.seen == [
        f"POST {public_api_url}/connect/api/v1/access_token HTTP/1.1",
        f"GET {public_api_url}/connect/api/v1/tenants HTTP/1.1",
    ]



class _OddPlatform(BaseHTTPRequestHandler):
    """A stand-in for a platform (or a proxy in front of one) that answers in unexpected shapes."""

    answers: dict[str, tuple[int, str, bytes]] = {}

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = urlsplit(self.path).path
        if path == "/connect/api/v1/access_token":
            status, kind, body = 200, "application/json", b'{"access_token": "t0k3n-odd-platform", "exp": 9999999999}'
        else:
            status, kind, body = self.answers.get(path, (404, "text/html", b"<h1>Not Found</h1>"))
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *args) -> None:
        pass


def test_unexpected_answers_are_clear_errors_not_crashes(configs):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OddPlatform)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    case_id = "0123456789abcdef01234567"
    _OddPlatform.answers = {
        "/connect/api/v1/cases": (200, "application/json", b'{"data": {"cases": "none", "total": 1}}'),
        f"/connect/api/v1/cases/{case_id}": (200, "application/json", b'{"data": ["not", "a", "case"]}'),
        "/connect/api/v1/tenants": (200, "text/html", b"<html>Gateway login</html>"),
        "/connect/api/data/aella-ser-*/_search": (200, "application/json", b'{"hits": {"hits": [1, {"_id": 2}]}}'),
    }
    try:
        backend = UpstreamBackend(configs(f"http://127.0.0.1:{server.server_port}", "sk-stellar-k", max_retries=0))
        with pytest.raises(UpstreamUnavailable, match="without data.cases"):
            backend.list_cases(ROOT_SCOPE, CaseQuery())
        with pytest.raises(NotFound, match=f"No case with _id {case_id}"):
            backend.get_case(ROOT_SCOPE, case_id=case_id)
        with pytest.raises(UpstreamUnavailable, match="something that is not JSON"):
            backend.list_tenants(ROOT_SCOPE)
        with pytest.raises(NotFound, match="No alert with id"):
            backend.get_alert(TenantScope(all_tenants=False, cust_ids=frozenset({"a" * 32})), "x")
        with pytest.raises(NotFound):  # the platform's 404 for the section
            backend.list_case_observables(ROOT_SCOPE, case_id)
    finally:
        server.shutdown()
