"""What the OAuth tests drive the server with: a person at a browser (sign-in and consent forms over HTTP),
the official `mcp` client's OAuth provider, and an HTTPS server on a loopback port, under a private CA,
that serves client metadata documents."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import http.server
import json
import re
import secrets
import ssl
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import httpx2
import trustme
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

T = TypeVar("T")
PASSWORD = "correct horse battery staple"
CALLBACK = "http://127.0.0.1:33418/callback"  # never served: the browser's redirect is read, not followed


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def query_of(location: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


class Browser:
    """A person at a browser: follows the server's pages, logs in, and answers the consent form."""

    def __init__(self, base_url: str, username: str, password: str = PASSWORD) -> None:
        self.base_url, self.username, self.password = base_url, username, password
        self.http = httpx.Client(base_url=base_url, follow_redirects=False, timeout=30)

    def _csrf(self, page: httpx.Response) -> str:
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert match, page.text[:500]
        return match[1]

    def open(self, url: str) -> httpx.Response:
        """GET `url`; when the server asks for a login, log in and come back."""
        page = self.http.get(url)
        if page.status_code == 302 and "/login/" in page.headers["location"]:
            login_url = page.headers["location"]
            login = self.http.get(login_url)
            next_url = query_of(login_url)["next"]
            done = self.http.post(urlsplit(login_url).path, data={
                "csrfmiddlewaretoken": self._csrf(login), "username": self.username, "password": self.password,
                "next": next_url})
            assert done.status_code == 302, done.text[:500]
            page = self.http.get(done.headers["location"])
        return page

    def consent(self, url: str, *, access: str = "read_write", tenants: list[int] | None = None,
                deny: bool = False) -> httpx.Response:
        """Open the authorization URL and answer the consent page; returns the server's answer (a redirect)."""
        page = self.open(url)
        assert page.status_code == 200, (page.status_code, page.headers.get("location"), page.text[:500])
        data: dict[str, Any] = {"csrfmiddlewaretoken": self._csrf(page), "access": access}
        if tenants:
            data["tenants"] = [str(pk) for pk in tenants]
        data["deny" if deny else "allow"] = "1"
        return self.http.post(url, data=data)

    def sign_in(self, url: str, **choices: Any) -> dict[str, str]:
        """The query of the redirect back to the client (code, state, iss) after allowing."""
        answer = self.consent(url, **choices)
        assert answer.status_code == 302, answer.text[:500]
        return query_of(answer.headers["location"])


class Memory:
    """TokenStorage for the official client: what a real client keeps between sessions."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


@dataclass
class OfficialClient:
    """The official `mcp` client with its OAuth provider; the browser answers the sign-in it asks for."""

    base_url: str
    browser: Browser
    name: str = "Test MCP client"
    metadata_url: str | None = None  # a client metadata document's URL: used instead of registering
    choices: dict[str, Any] = field(default_factory=dict)
    storage: Memory = field(default_factory=Memory)
    sign_ins: int = 0
    _provider: OAuthClientProvider | None = None

    def provider(self) -> OAuthClientProvider:
        """One provider for the client's life, as in a real client process: it knows when its token expires."""
        if self._provider is None:
            self._provider = self._new_provider()
        return self._provider

    def _new_provider(self) -> OAuthClientProvider:
        redirect: dict[str, str] = {}

        async def on_redirect(url: str) -> None:
            self.sign_ins += 1
            redirect.update(self.browser.sign_in(url, **self.choices))

        async def on_callback() -> AuthorizationCodeResult:
            return AuthorizationCodeResult(code=redirect["code"], state=redirect.get("state"), iss=redirect.get("iss"))

        metadata = OAuthClientMetadata(redirect_uris=[CALLBACK], client_name=self.name,
                                       grant_types=["authorization_code", "refresh_token"], response_types=["code"],
                                       token_endpoint_auth_method="none")
        return OAuthClientProvider(f"{self.base_url}/mcp/", metadata, self.storage, redirect_handler=on_redirect,
                                   callback_handler=on_callback, client_metadata_url=self.metadata_url)

    def session(self, work: Callable[[Client], Awaitable[T]]) -> T:
        async def main() -> T:
            async with httpx2.AsyncClient(auth=self.provider(), timeout=30.0) as http:
                async with Client(streamable_http_client(f"{self.base_url}/mcp/", http_client=http)) as client:
                    return await work(client)

        return asyncio.run(main())


# --- client metadata documents over HTTPS -------------------------------------------------------
class MetadataHost:
    """An HTTPS server on 127.0.0.1 (certificate from a private CA) serving client metadata documents:
    a good one, and the kinds a server must refuse."""

    def __init__(self, directory: Path) -> None:
        ca = trustme.CA()
        self.ca_path = directory / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_path))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(context)
        host = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                host.requests.append(self.path)
                url = host.url(self.path)
                if self.path == "/redirect.json":
                    self.send_response(302)
                    self.send_header("Location", "https://example.com/client.json")
                    self.end_headers()
                    return
                if self.path == "/slow.json":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    for _ in range(40):  # a byte at a time, past any reasonable deadline
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        time.sleep(0.25)
                    return
                document: Any = {"client_id": url, "client_name": "Hosted client", "redirect_uris": [CALLBACK],
                                 "grant_types": ["authorization_code", "refresh_token"],
                                 "token_endpoint_auth_method": "none"}
                if self.path == "/big.json":
                    document["padding"] = "x" * 10_000
                elif self.path == "/wrong-id.json":
                    document["client_id"] = "https://elsewhere.example/client.json"
                elif self.path == "/bad-redirect.json":
                    document["redirect_uris"] = ["http://attacker.example/callback"]
                elif self.path != "/client.json":
                    self.send_response(404)
                    self.end_headers()
                    return
                body = json.dumps(document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.requests: list[str] = []
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def authorize_url(base_url: str, client_id: str, *, challenge: str | None = None, method: str | None = "S256",
                  redirect_uri: str = CALLBACK, scope: str = "cases:read cases:write", state: str = "s1",
                  **extra: str) -> str:
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": scope,
              "state": state, "resource": f"{base_url}/mcp/"}
    if challenge is not None:
        params["code_challenge"] = challenge
    if method is not None and challenge is not None:
        params["code_challenge_method"] = method
    params.update(extra)
    return f"{base_url}/oauth/authorize?{urlencode(params)}"


def register(base_url: str, **metadata: Any) -> httpx.Response:
    body = {"redirect_uris": [CALLBACK], "client_name": "Manual client", "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"], **metadata}
    return httpx.post(f"{base_url}/oauth/register", json=body, timeout=30)


def exchange(base_url: str, **form: str) -> httpx.Response:
    form.setdefault("grant_type", "authorization_code")
    form.setdefault("redirect_uri", CALLBACK)
    form.setdefault("resource", f"{base_url}/mcp/")
    return httpx.post(f"{base_url}/oauth/token", data=form, timeout=30)


def connect(base_url: str, username: str, *, access: str = "read_write", **choices: Any) -> dict[str, Any]:
    """Register a client, sign in and exchange the code by hand: the token response, plus client_id."""
    client_id = register(base_url).json()["client_id"]
    verifier, challenge = pkce_pair()
    answer = Browser(base_url, username).sign_in(authorize_url(base_url, client_id, challenge=challenge),
                                                 access=access, **choices)
    token = exchange(base_url, code=answer["code"], code_verifier=verifier, client_id=client_id)
    assert token.status_code == 200, token.text
    return {**token.json(), "client_id": client_id}


def grant_token(base_url: str, user: Any, *, scope: str = "read_write", tenant_ids: list[str] | None = None,
                audience: str | None = None) -> str:
    """An access token of a new grant made the way a code exchange makes it (without the HTTP steps), for
    the permission matrices; `audience` another resource's URL to make a token this server must refuse."""
    from accounts.keys import generate_public_id
    from accounts.tokens import oauth_token_encode
    from oauth import grants
    from oauth.models import OAuthClient, Registration

    client = OAuthClient.objects.create(client_id=f"mcp_{secrets.token_urlsafe(12)}", name="Matrix app",
                                        redirect_uris=[CALLBACK], registration=Registration.DCR)
    code = grants.save_code(code=secrets.token_urlsafe(), client=client, user=user, redirect_uri=CALLBACK,
                            code_challenge="-", scope=scope, tenant_ids=tenant_ids, resource=f"{base_url}/mcp/")
    grant = grants.grant_from_code(code, public_id=generate_public_id(), refresh_token=grants.new_refresh_token())
    return oauth_token_encode(grant.key.public_id, int(time.time()) + 600, audience or f"{base_url}/mcp/")
