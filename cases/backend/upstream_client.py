"""HTTP to a Stellar Cyber Public API: token exchange and cache, one pooled client, retries, clear errors.

- Token: POST /connect/api/v1/access_token with ``Bearer <STELLAR_API_KEY>``, or ``Basic
  base64(STELLAR_USER_EMAIL:STELLAR_API_KEY)`` when an email is configured; the answer is
  {"access_token", "exp" (epoch seconds)}. Tokens are cached per credential in the process and renewed
  REFRESH_MARGIN_SECONDS before `exp`; concurrent renewals of one credential wait for a single exchange.
  A 401 on a data call drops the token, fetches a new one and retries that call once.
- One httpx.Client per process and configuration (keep-alive pool, so calls reuse TCP/TLS connections),
  re-created after a fork. Environment proxy variables are ignored: STELLAR_PROXY is the only proxy.
- Retries: 429, 502, 503, 504, timeouts and connection errors, at most STELLAR_MAX_RETRIES more
  attempts, exponential backoff with jitter, or the server's Retry-After when it gives one (a longer
  Retry-After than RETRY_AFTER_CAP_SECONDS is not waited for: the caller is told when to retry). A call
  gives up after CALL_BUDGET_SECONDS in all. PUT is retried too: an update sets values, so repeating
  it changes nothing more.
- Failures are BackendError subclasses whose message says what failed and whether retrying may help;
  an answer the backend must interpret (403, 404, 409, 422) is an UpstreamRefusal. No message or log
  line carries the key or a token (the key never leaves the Authorization header of the exchange).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import random
import re
import ssl
import threading
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from .base import UpstreamUnavailable
from .upstream_memory import REFRESH_MARGIN_SECONDS, Token, TokenCache, tokens  # noqa: F401  (tests use them here)

logger = logging.getLogger("cases.upstream")

TOKEN_PATH = "/connect/api/v1/access_token"
CASES = "/connect/api/v1/cases"
TENANTS = "/connect/api/v1/tenants"
ALERT_SEARCH = "/connect/api/data/aella-ser-*/_search"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
RETRY_AFTER_CAP_SECONDS = 10.0
BACKOFF_BASE_SECONDS = 0.25
CALL_BUDGET_SECONDS = 20.0
MAX_MESSAGE = 300


@dataclass(frozen=True)
class UpstreamConfig:
    url: str
    api_key: str
    user_email: str = ""
    timeout: float = 10.0
    max_retries: int = 2
    proxy: str = ""
    ca_bundle: str = ""
    verify_tls: bool = True

    @classmethod
    def from_settings(cls) -> "UpstreamConfig":
        return cls(
            url=settings.STELLAR_URL.rstrip("/"),
            api_key=settings.STELLAR_API_KEY,
            user_email=settings.STELLAR_USER_EMAIL,
            timeout=settings.STELLAR_TIMEOUT_SECONDS,
            max_retries=max(0, settings.STELLAR_MAX_RETRIES),
            proxy=settings.STELLAR_PROXY,
            ca_bundle=settings.STELLAR_CA_BUNDLE,
            verify_tls=settings.STELLAR_VERIFY_TLS,
        )

    @property
    def host(self) -> str:
        """scheme://host[:port] for messages: never the path, a query or userinfo."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}"

    @property
    def credential_id(self) -> str:
        """Names the credential in the token cache without holding it."""
        raw = "\0".join((self.url, self.user_email, self.api_key))
        return hashlib.sha256(raw.encode()).hexdigest()[:32]

    def __repr__(self) -> str:  # the dataclass default would print the key
        return f"UpstreamConfig(url={self.host!r}, user_email={'set' if self.user_email else 'unset'})"


class UpstreamRefusal(Exception):
    """The upstream answered 4xx the caller must interpret (403, 404, 409, 422, 400)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message




def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("Retry-After")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(raw).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


class UpstreamClient:
    """Calls one Stellar Cyber Public API with the configured credential."""

    def __init__(self, config: UpstreamConfig) -> None:
        self.config = config
        self.connections_opened = 0
        self.http = httpx.Client(
            base_url=config.url,
            timeout=httpx.Timeout(config.timeout, connect=min(config.timeout, 10.0)),
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10, keepalive_expiry=30.0),
            proxy=config.proxy or None,
            verify=self._verify(config),
            trust_env=False,
            headers={"Accept": "application/json", "User-Agent": "stellar-mcp-gateway"},
        )

    @staticmethod
    def _verify(config: UpstreamConfig) -> ssl.SSLContext | bool:
        if not config.verify_tls:
            return False
        if config.ca_bundle:
            try:
                return ssl.create_default_context(cafile=config.ca_bundle)
            except (OSError, ssl.SSLError):
                raise UpstreamUnavailable(
                    "STELLAR_CA_BUNDLE is not a readable PEM file of CA certificates: an administrator must fix "
                    "it; retrying will not help.",
                    retryable=False,
                ) from None
        return True

    def close(self) -> None:
        self.http.close()

    # --- messages ------------------------------------------------------------------------------
    def scrub(self, text: str) -> str:
        """Upstream text made safe to show: one line, bounded, without our key or a cached token."""
        text = _CONTROL.sub(" ", str(text)).strip()
        secrets = [self.config.api_key, *(t.value for t in tokens._tokens.values())]
        for secret in secrets:
            if secret and len(secret) >= 8:
                text = text.replace(secret, "[REDACTED]")
        return text[:MAX_MESSAGE]

    def _refusal_message(self, response: httpx.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return ""
        if isinstance(body, dict):
            for name in ("message", "error_description", "error"):
                value = body.get(name)
                if isinstance(value, str) and value.strip():
                    return self.scrub(value)
                if isinstance(value, dict) and isinstance(value.get("reason"), str):  # Elasticsearch
                    return self.scrub(value["reason"])
        return ""

    # --- tokens ---------------------------------------------------------------------------------
    def _exchange_headers(self) -> dict[str, str]:
        c = self.config
        if c.user_email:
            basic = base64.b64encode(f"{c.user_email}:{c.api_key}".encode()).decode()
            return {"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"}
        return {"Authorization": f"Bearer {c.api_key}", "Content-Type": "application/x-www-form-urlencoded"}

    def _fetch_token(self) -> Token:
        response = self._send("POST", TOKEN_PATH, what="get an access token", headers=self._exchange_headers())
        if response.status_code in (401, 403):
            scheme = "STELLAR_USER_EMAIL and STELLAR_API_KEY" if self.config.user_email else "STELLAR_API_KEY"
            raise UpstreamUnavailable(
                f"The Stellar Cyber API at {self.config.host} refused the gateway's credentials ({scheme}) "
                f"when asked for an access token: an administrator must fix them; retrying will not help.",
                retryable=False,
            )
        body = self._json(response, "get an access token")
        value, exp = (body.get("access_token"), body.get("exp")) if isinstance(body, dict) else (None, None)
        if not isinstance(value, str) or not value or isinstance(exp, bool) or not isinstance(exp, (int, float)):
            raise UpstreamUnavailable(
                f"The Stellar Cyber API at {self.config.host} answered the token exchange without "
                f"access_token and exp; check STELLAR_URL; retrying will not help.",
                retryable=False,
            )
        exp = float(exp) / 1000 if exp > 1e11 else float(exp)  # seconds, though a millisecond value is tolerated
        logger.info("upstream access token obtained from %s, valid %d s", self.config.host, int(exp - time.time()))
        return Token(value, exp)

    def token(self) -> Token:
        if not self.config.url or not self.config.api_key:
            raise UpstreamUnavailable(
                "The upstream Stellar Cyber API is not configured: set STELLAR_URL and STELLAR_API_KEY; "
                "retrying will not help.",
                retryable=False,
            )
        if urlsplit(self.config.url).scheme not in ("https", "http") or not urlsplit(self.config.url).hostname:
            raise UpstreamUnavailable(
                "STELLAR_URL must be the platform's address, like https://acme.stellarcyber.cloud; "
                "retrying will not help.",
                retryable=False,
            )
        return tokens.get(self.config.credential_id, self._fetch_token)

    # --- calls ----------------------------------------------------------------------------------
    def call(
        self, method: str, path: str, *, what: str, params: dict[str, Any] | None = None,
        json: Any = None, headers: dict[str, str] | None = None, idempotent: bool = True,
    ) -> Any:
        """The decoded JSON body of a 2xx answer; UpstreamRefusal for 400/403/404/409/422;
        UpstreamUnavailable for everything else that goes wrong. A call that is not `idempotent` (it
        creates something) is retried only when the platform certainly did not act on it."""
        token = self.token()
        response = self._send(method, path, what=what, params=params, json=json, idempotent=idempotent,
                              headers={**(headers or {}), "Authorization": f"Bearer {token.value}"})
        if response.status_code == 401:
            # Expired early or revoked upstream: one new token, one more try.
            tokens.drop(self.config.credential_id, token.value)
            logger.info("upstream %s %s answered 401: renewing the access token once", method, path)
            token = self.token()
            response = self._send(method, path, what=what, params=params, json=json, idempotent=idempotent,
                                  headers={**(headers or {}), "Authorization": f"Bearer {token.value}"})
            if response.status_code == 401:
                raise UpstreamUnavailable(
                    f"The Stellar Cyber API at {self.config.host} refused a fresh access token when asked to "
                    f"{what}: the gateway's upstream key may be revoked; retrying will not help.",
                    retryable=False,
                )
        if response.status_code in (400, 403, 404, 409, 422):
            raise UpstreamRefusal(response.status_code, self._refusal_message(response))
        if response.status_code >= 400:
            raise UpstreamUnavailable(
                f"The Stellar Cyber API at {self.config.host} answered {response.status_code} when asked to "
                f"{what}; retrying will not help.",
                retryable=False,
            )
        return self._json(response, what)

    def _json(self, response: httpx.Response, what: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise UpstreamUnavailable(
                f"The Stellar Cyber API at {self.config.host} answered the request to {what} with something "
                f"that is not JSON (a proxy error page?); retrying later may help."
            ) from None

    def _trace(self, event: str, info: dict) -> None:
        if event == "connection.connect_tcp.complete":
            self.connections_opened += 1

    def _send(
        self, method: str, path: str, *, what: str, params: dict[str, Any] | None = None, json: Any = None,
        headers: dict[str, str] | None = None, idempotent: bool = True,
    ) -> httpx.Response:
        """One call with the retry policy; returns any answer that is not worth retrying."""
        deadline = time.monotonic() + CALL_BUDGET_SECONDS
        attempts = self.config.max_retries + 1
        for attempt in range(1, attempts + 1):
            wait: float | None = None
            # Whether the platform certainly did not act: it refused with 429 or 503, or was never reached.
            # A timeout, a reset, a 502 or a 504 may come after it acted.
            untouched = False
            try:
                response = self.http.request(method, path, params=params, json=json, headers=headers,
                                             extensions={"trace": self._trace})
            except httpx.TimeoutException:
                problem = f"did not answer within {self.config.timeout:g} s"
            except httpx.TransportError as exc:  # refused, reset, DNS, TLS, proxy
                if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                    raise UpstreamUnavailable(
                        f"The TLS certificate of the Stellar Cyber API at {self.config.host} could not be verified: "
                        f"set STELLAR_CA_BUNDLE to the CA that signed it; retrying will not help.",
                        retryable=False,
                    ) from None
                problem = f"could not be reached ({type(exc).__name__})"
                untouched = isinstance(exc, httpx.ConnectError)
            else:
                if response.status_code not in RETRY_STATUSES:
                    return response
                problem = f"answered {response.status_code}"
                untouched = response.status_code in (429, 503)
                wait = _retry_after(response)
                if wait is not None and wait > RETRY_AFTER_CAP_SECONDS:
                    raise UpstreamUnavailable(
                        f"The Stellar Cyber API at {self.config.host} {problem} when asked to {what} and asked "
                        f"to retry after {int(wait)} seconds; retrying after that may help."
                    )
            if not idempotent and not untouched:
                raise UpstreamUnavailable(
                    f"The Stellar Cyber API at {self.config.host} {problem} when asked to {what}: it may or may not "
                    f"have been done. Check before trying again, so it is not done twice.",
                    retryable=False,
                )
            if wait is None:
                wait = BACKOFF_BASE_SECONDS * (2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
            if attempt == attempts or time.monotonic() + wait > deadline:
                tries = f" after {attempt} attempts" if attempt > 1 else ""
                raise UpstreamUnavailable(
                    f"The Stellar Cyber API at {self.config.host} {problem} when asked to {what}{tries}; "
                    f"retrying in a minute may help."
                )
            logger.warning("upstream %s %s %s; retry %d of %d in %.2f s", method, path, problem, attempt,
                           attempts - 1, wait)
            time.sleep(wait)
        raise AssertionError("unreachable")


_clients: dict[UpstreamConfig, UpstreamClient] = {}
_clients_pid = os.getpid()
_clients_lock = threading.Lock()


def client_for(config: UpstreamConfig) -> UpstreamClient:
    """The process's pooled client for `config` (a forked child gets its own: sockets are not shared)."""
    global _clients_pid
    with _clients_lock:
        if _clients_pid != os.getpid():
            _clients.clear()
            tokens.clear()
            _clients_pid = os.getpid()
        client = _clients.get(config)
        if client is None:
            client = _clients[config] = UpstreamClient(config)
        return client


def release(config: UpstreamConfig) -> None:
    """Close and forget the process's client for `config` (a configuration that is no longer used)."""
    with _clients_lock:
        client = _clients.pop(config, None)
    if client is not None:
        client.close()
