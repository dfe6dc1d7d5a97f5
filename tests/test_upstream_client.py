"""The upstream backend's HTTP behaviour against live instances of this project's Public API: token
exchange, caching and renewal, retries honouring Retry-After, timeouts, TLS with a private CA, an
outbound proxy, connection reuse, and errors that say what failed without leaking a secret.

Misbehaving platforms are instances started with the PUBLIC_API_FAULT_* test settings (one gthread
worker each, so the "every other request" counter is exact).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import httpx
import pytest

from accounts.keys import generate_key, key_digest, parse_public_id
from accounts.models import ApiKey
from accounts.services import api_key_revoke
from accounts.tokens import access_token_encode
from audit.models import PublicApiAccess
from cases.backend import CaseQuery, UpstreamUnavailable
from cases.backend.upstream import UpstreamBackend
from cases.backend.upstream_client import (
    Token,
    UpstreamConfig,
    client_for,
    release,
    tokens,
)
from tests.conftest import PUBLIC_API_ENV, LiveServer, free_port
from tests.factories import ROOT_SCOPE
from tests.mcp_helpers import McpSession, error_text

TOKEN_ENDPOINT = "POST /connect/api/v1/access_token"


def live_instance(django_db_blocker, **faults: str) -> LiveServer:
    with django_db_blocker.unblock():
        server = LiveServer({**PUBLIC_API_ENV, **faults}, workers=1)
    # The first request loads the URLconf and DRF; /healthz is not a Public API call, so no fault counts it.
    httpx.get(f"{server.url}/healthz", timeout=30)
    return server


@pytest.fixture(scope="module")
def flaky_429(django_db_setup, django_db_blocker):
    server = live_instance(django_db_blocker, PUBLIC_API_FAULT_STATUS="429", PUBLIC_API_FAULT_EVERY="2",
                           PUBLIC_API_FAULT_RETRY_AFTER="1")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def flaky_503(django_db_setup, django_db_blocker):
    server = live_instance(django_db_blocker, PUBLIC_API_FAULT_STATUS="503", PUBLIC_API_FAULT_EVERY="2",
                           PUBLIC_API_FAULT_RETRY_AFTER="0")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def down(django_db_setup, django_db_blocker):
    server = live_instance(django_db_blocker, PUBLIC_API_FAULT_STATUS="503", PUBLIC_API_FAULT_RETRY_AFTER="0")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def slow_down(django_db_setup, django_db_blocker):
    server = live_instance(django_db_blocker, PUBLIC_API_FAULT_STATUS="429", PUBLIC_API_FAULT_RETRY_AFTER="120")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stalled(django_db_setup, django_db_blocker):
    server = live_instance(django_db_blocker, PUBLIC_API_FAULT_DELAY_MS="3000")
    yield server
    server.stop()


def exchanges() -> int:
    return PublicApiAccess.objects.filter(endpoint=TOKEN_ENDPOINT, http_status=200).count()


# --- tokens -------------------------------------------------------------------------------------------

def test_one_token_and_one_connection_serve_many_calls(public_api_url, root_key, configs):
    backend = UpstreamBackend(configs(public_api_url, root_key))
    for _ in range(10):
        assert [t["cust_name"] for t in backend.list_tenants(ROOT_SCOPE)] == ["Acme"]
    assert exchanges() == 1
    assert backend.client.connections_opened == 1  # keep-alive: no new TCP handshake per call
    rows = PublicApiAccess.objects.filter(source="REST", endpoint="GET /connect/api/v1/tenants")
    assert rows.count() == 10 and set(rows.values_list("username", flat=True)) == {"root"}


def test_legacy_basic_exchange(public_api_url, root_key, configs):
    assert UpstreamBackend(configs(public_api_url, root_key, user_email="ROOT@corp.test")).list_tenants(ROOT_SCOPE)
    wrong = UpstreamBackend(configs(public_api_url, root_key, user_email="someone@corp.test"))
    with pytest.raises(UpstreamUnavailable) as exc:
        wrong.list_tenants(ROOT_SCOPE)
    assert exc.value.retryable is False
    assert "refused the gateway's credentials (STELLAR_USER_EMAIL and STELLAR_API_KEY)" in exc.value.message


def test_token_is_renewed_before_it_expires(public_api_url, root_key, configs):
    config = configs(public_api_url, root_key)
    backend = UpstreamBackend(config)
    backend.list_tenants(ROOT_SCOPE)
    current = tokens.current(config.credential_id)
    tokens.put(config.credential_id, Token(current.value, time.time() + 30))  # inside the renewal margin
    backend.list_tenants(ROOT_SCOPE)
    assert exchanges() == 2
    renewed = tokens.current(config.credential_id)
    assert renewed.exp - time.time() > 500


def test_a_refused_token_is_renewed_once(public_api_url, root_key, configs):
    config = configs(public_api_url, root_key)
    expired = access_token_encode(parse_public_id(root_key), int(time.time()) - 5)
    tokens.put(config.credential_id, Token(expired, time.time() + 600))  # the cache believes it is valid
    assert UpstreamBackend(config).list_tenants(ROOT_SCOPE)
    assert exchanges() == 1
    assert PublicApiAccess.objects.filter(endpoint="GET /connect/api/v1/tenants", http_status=401).count() == 1


def test_concurrent_renewals_make_one_exchange(public_api_url, root_key, configs):
    backend = UpstreamBackend(configs(public_api_url, root_key))
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def work():
        try:
            start.wait()
            backend.list_tenants(ROOT_SCOPE)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    assert exchanges() == 1


def test_a_revoked_key_is_a_clear_permanent_error(public_api_url, root_key, configs):
    api_key_revoke(key=ApiKey.objects.get(name="gateway"), reason="test")
    with pytest.raises(UpstreamUnavailable) as exc:
        UpstreamBackend(configs(public_api_url, root_key)).list_tenants(ROOT_SCOPE)
    assert exc.value.retryable is False
    assert exc.value.message.startswith("The Stellar Cyber API at http://127.0.0.1:")
    assert "STELLAR_API_KEY" in exc.value.message and root_key not in exc.value.message


# --- retries, timeouts ----------------------------------------------------------------------------------

def test_429_is_retried_after_the_servers_retry_after(flaky_429, root_key, configs, caplog):
    backend = UpstreamBackend(configs(flaky_429.url, root_key))
    started = time.monotonic()
    assert backend.list_tenants(ROOT_SCOPE)  # token exchange and tenants call: each refused once
    assert time.monotonic() - started >= 2.0
    waits = [r.getMessage() for r in caplog.records if r.name == "cases.upstream" and "retry 1 of 2" in r.getMessage()]
    assert len(waits) == 2 and all("answered 429" in w and "in 1.00 s" in w for w in waits)
    assert PublicApiAccess.objects.filter(http_status=429, outcome="rate_limited").count() == 2


def test_503_is_retried_with_backoff(flaky_503, root_key, configs, caplog):
    backend = UpstreamBackend(configs(flaky_503.url, root_key))
    started = time.monotonic()
    ticket_id = backend.list_cases(ROOT_SCOPE, CaseQuery()).items[0]["ticket_id"]
    assert backend.get_case(ROOT_SCOPE, ticket_id=ticket_id)["name"] == "Phishing wave"
    assert time.monotonic() - started < 4  # three backoffs of at most 0.25 s; no Retry-After was sent
    assert caplog.text.count("answered 503; retry 1 of 2") == 3


def test_an_unavailable_platform_is_a_retryable_error(down, root_key, configs):
    with pytest.raises(UpstreamUnavailable) as exc:
        UpstreamBackend(configs(down.url, root_key, max_retries=2)).list_tenants(ROOT_SCOPE)
    assert exc.value.retryable is True
    assert exc.value.message.endswith(
        "answered 503 when asked to get an access token after 3 attempts; retrying in a minute may help."
    )
    assert PublicApiAccess.objects.filter(http_status=503).count() == 3


def test_a_long_retry_after_is_reported_not_waited_for(slow_down, root_key, configs):
    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable) as exc:
        UpstreamBackend(configs(slow_down.url, root_key)).list_tenants(ROOT_SCOPE)
    assert time.monotonic() - started < 5  # not the 120 s asked for
    assert exc.value.retryable is True and "retry after 120 seconds" in exc.value.message


def test_a_stalled_platform_times_out_quickly(stalled, root_key, configs):
    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable) as exc:
        UpstreamBackend(configs(stalled.url, root_key, timeout=0.3, max_retries=1)).list_tenants(ROOT_SCOPE)
    assert time.monotonic() - started < 2
    assert exc.value.retryable is True
    assert "did not answer within 0.3 s when asked to get an access token after 2 attempts" in exc.value.message


def test_unreachable_and_unconfigured(transactional_db, configs):
    with pytest.raises(UpstreamUnavailable) as exc:
        UpstreamBackend(configs(f"http://127.0.0.1:{free_port()}", "sk-stellar-x", max_retries=1)).list_tenants(ROOT_SCOPE)
    assert exc.value.retryable is True and "could not be reached (ConnectError)" in exc.value.message
    with pytest.raises(UpstreamUnavailable) as exc:
        UpstreamBackend(configs("", "")).list_tenants(ROOT_SCOPE)
    assert exc.value.retryable is False and "set STELLAR_URL and STELLAR_API_KEY" in exc.value.message
    with pytest.raises(UpstreamUnavailable) as exc:
        UpstreamBackend(configs("acme.stellarcyber.cloud", "sk-stellar-x")).list_tenants(ROOT_SCOPE)
    assert exc.value.retryable is False and "STELLAR_URL must be the platform's address" in exc.value.message


# --- secrets --------------------------------------------------------------------------------------------

def test_no_secret_in_any_message_or_log_line(public_api_url, down, root_key, configs, caplog):
    caplog.set_level(logging.DEBUG)
    config = configs(public_api_url, root_key)
    backend = UpstreamBackend(config)
    backend.list_tenants(ROOT_SCOPE)
    secrets = {root_key, tokens.current(config.credential_id).value}
    expired = access_token_encode(parse_public_id(root_key), int(time.time()) - 5)
    secrets.add(expired)
    tokens.put(config.credential_id, Token(expired, time.time() + 600))
    backend.list_tenants(ROOT_SCOPE)  # 401, renewal, retry
    secrets.add(tokens.current(config.credential_id).value)
    messages = []
    for failing in (UpstreamBackend(configs(down.url, root_key, max_retries=1)),
                    UpstreamBackend(configs(public_api_url, root_key, user_email="x@y.z"))):
        with pytest.raises(UpstreamUnavailable) as exc:
            failing.list_tenants(ROOT_SCOPE)
        messages.append(exc.value.message)
    api_key_revoke(key=ApiKey.objects.get(name="gateway"), reason="test")
    tokens.clear()
    with pytest.raises(UpstreamUnavailable) as exc:
        backend.list_tenants(ROOT_SCOPE)
    messages.append(exc.value.message)
    assert "retry 1 of 1" in caplog.text and "renewing the access token" in caplog.text
    for secret in secrets:
        assert secret not in caplog.text
        assert all(secret not in m for m in messages)
    assert secrets.isdisjoint(repr(config).split("'"))


# --- through /mcp/ ----------------------------------------------------------------------------------------

_MCP_GATEWAY_KEY = generate_key().plaintext


@pytest.fixture(scope="module")
def mcp_over_down_upstream(down, django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        server = LiveServer({"STELLAR_BACKEND": "upstream", "STELLAR_URL": down.url,
                             "STELLAR_API_KEY": _MCP_GATEWAY_KEY, "STELLAR_MAX_RETRIES": "0"}, workers=1)
    yield server
    server.stop()


def test_an_upstream_failure_is_a_tool_error_over_mcp(mcp_over_down_upstream, root_key):
    root = ApiKey.objects.get(name="gateway").user
    ApiKey.objects.create(public_id=parse_public_id(_MCP_GATEWAY_KEY), digest=key_digest(_MCP_GATEWAY_KEY),
                          name="mcp gateway", user=root)
    with McpSession(f"{mcp_over_down_upstream.url}/mcp/", root_key) as mcp:
        message = error_text(mcp.call("listTenant"))
    assert message.startswith("The Stellar Cyber API at http://127.0.0.1:")
    assert message.endswith("answered 503 when asked to get an access token; retrying in a minute may help.")
    row = PublicApiAccess.objects.get(source="MCP", tool="listTenant")
    assert row.outcome == "tool_error" and row.http_status == 200
    assert _MCP_GATEWAY_KEY not in message and "Traceback" not in Path(mcp_over_down_upstream.log_path).read_text()


def test_one_pooled_client_per_configuration():
    config = UpstreamConfig(url="http://127.0.0.1:1", api_key="k")
    try:
        assert client_for(config) is client_for(UpstreamConfig(url="http://127.0.0.1:1", api_key="k"))
    finally:
        release(config)


# --- calls that create something: retried only when the platform certainly did not act ----------------

def _case_id() -> str:
    from cases.models import Case

    return Case.objects.get().stellar_id


def test_a_comment_refused_with_503_is_retried_and_added_once(flaky_503, root_key, configs):
    from cases.models import Comment

    backend = UpstreamBackend(configs(flaky_503.url, root_key))
    backend.list_tenants(ROOT_SCOPE)  # the token exchange and a first call, so the next POST is the faulted one
    added = backend.add_case_comment(ROOT_SCOPE, _case_id(), "noted", actor=None)
    assert added["comment"]["comment"] == "noted"
    assert Comment.objects.count() == 1


@pytest.fixture(scope="module")
def flaky_502(django_db_setup, django_db_blocker):
    server = live_instance(django_db_blocker, PUBLIC_API_FAULT_STATUS="502", PUBLIC_API_FAULT_EVERY="2")
    yield server
    server.stop()


def test_a_comment_answered_502_is_not_sent_again(flaky_502, root_key, configs):
    """A 502 (like a timeout) may come after the platform acted: a second POST could add the comment twice."""
    from cases.models import Comment

    backend = UpstreamBackend(configs(flaky_502.url, root_key))
    with pytest.raises(UpstreamUnavailable) as exc:
        # The token exchange and the case lookup are each retried once past their 502; the POST is not.
        backend.add_case_comment(ROOT_SCOPE, _case_id(), "noted once", actor=None)
    assert "may or may not have been done" in exc.value.message and exc.value.retryable is False
    posts = PublicApiAccess.objects.filter(endpoint="POST /connect/api/v1/cases/{id}/comments")
    assert posts.count() == 1 and not Comment.objects.exists()
