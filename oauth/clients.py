"""The clients users may sign in to: registered by the client itself (RFC 7591), or known by the HTTPS URL
of a metadata document it publishes (Client ID Metadata Documents), which is fetched here.

Every client is public: it holds no secret, and PKCE proves that whoever exchanges a code started the
sign-in. A redirect URI is HTTPS, or plain HTTP to a loopback address (a native app listening on this
machine, RFC 8252); nothing else, so a code can only travel to a server or back to the user's own
machine. A metadata document is fetched from a public address only (no SSRF into this network), over
HTTPS, without following redirects, at most OAUTH_CLIENT_METADATA_MAX_BYTES within
OAUTH_CLIENT_METADATA_TIMEOUT_SECONDS, and kept OAUTH_CLIENT_METADATA_CACHE_SECONDS.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import socket
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings
from django.utils import timezone

from features.switches import Switches

from .models import OAuthClient, Registration

MAX_REDIRECT_URIS = 10
MAX_URI_CHARS = 2000
MAX_NAME_CHARS = 200
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
GRANT_TYPES = frozenset({"authorization_code", "refresh_token"})


class ClientRefused(Exception):
    """A client cannot be registered or identified; `error` is the RFC 7591 error code."""

    def __init__(self, message: str, error: str = "invalid_client_metadata") -> None:
        super().__init__(message)
        self.message, self.error = message, error


def check_redirect_uri(uri: Any) -> str:
    if not isinstance(uri, str) or not uri or len(uri) > MAX_URI_CHARS:
        raise ClientRefused("Each redirect URI must be a URL of at most 2,000 characters.", "invalid_redirect_uri")
    try:
        parts = urlsplit(uri)
        host = parts.hostname or ""
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        raise ClientRefused(f"Redirect URI {uri[:100]!r} is not a valid URL.", "invalid_redirect_uri") from None
    if parts.fragment or parts.username or parts.password or not host:
        raise ClientRefused(f"Redirect URI {uri[:100]!r} may have no fragment or credentials.", "invalid_redirect_uri")
    if parts.scheme == "https" or (parts.scheme == "http" and host in LOOPBACK_HOSTS):
        return uri
    raise ClientRefused(
        f"Redirect URI {uri[:100]!r} must use https, or http to a loopback address (127.0.0.1, [::1], localhost).",
        "invalid_redirect_uri",
    )


def _checked_metadata(metadata: Any) -> tuple[str, list[str]]:
    """The client's name and redirect URIs from its registration request or metadata document."""
    if not isinstance(metadata, dict):
        raise ClientRefused("Client metadata must be a JSON object.")
    uris = metadata.get("redirect_uris")
    if not isinstance(uris, list) or not 1 <= len(uris) <= MAX_REDIRECT_URIS:
        raise ClientRefused(f"redirect_uris must list 1 to {MAX_REDIRECT_URIS} URIs.", "invalid_redirect_uri")
    uris = [check_redirect_uri(uri) for uri in uris]
    grant_types = metadata.get("grant_types", ["authorization_code"])
    if not isinstance(grant_types, list) or not set(grant_types) <= GRANT_TYPES or "authorization_code" not in grant_types:
        raise ClientRefused("grant_types may be authorization_code and refresh_token only.")
    if metadata.get("response_types", ["code"]) != ["code"]:
        raise ClientRefused('response_types must be ["code"].')
    # Whatever token_endpoint_auth_method a client asks for, it is registered public ("none"): RFC 7591
    # lets the server decide, and the answer says so; PKCE proves each code.
    name = metadata.get("client_name") or "MCP client"
    if not isinstance(name, str):
        raise ClientRefused("client_name must be a string.")
    return name.strip()[:MAX_NAME_CHARS] or "MCP client", list(dict.fromkeys(uris))


def register(metadata: Any) -> OAuthClient:
    """A new client from an RFC 7591 registration request."""
    name, uris = _checked_metadata(metadata)
    return OAuthClient.objects.create(client_id=f"mcp_{secrets.token_urlsafe(24)}", name=name, redirect_uris=uris,
                                      registration=Registration.DCR)


def registration_response(client: OAuthClient) -> dict[str, Any]:
    return {
        "client_id": client.client_id,
        "client_id_issued_at": int(client.created_at.timestamp()),
        "client_name": client.name,
        "redirect_uris": client.redirect_uris,
        "grant_types": sorted(GRANT_TYPES),
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    }


def is_metadata_url(client_id: str) -> bool:
    return client_id.startswith(("https://", "http://"))


def client_for(client_id: str, switches: Switches) -> OAuthClient | None:
    """The client a `client_id` names (None: no such client), fetching or refreshing its metadata
    document when the id is one's URL; ClientRefused when the document cannot be used."""
    if not client_id or len(client_id) > MAX_URI_CHARS:
        return None
    client = OAuthClient.objects.filter(client_id=client_id).first()
    if not is_metadata_url(client_id):
        return client
    if not switches.cimd_enabled:
        raise ClientRefused("This server does not accept client metadata documents (the operator switched them off).")
    fresh_since = timezone.now() - timedelta(seconds=settings.OAUTH_CLIENT_METADATA_CACHE_SECONDS)
    if client is not None and client.fetched_at is not None and client.fetched_at > fresh_since:
        return client
    name, uris = _checked_metadata(_fetch_document(client_id))
    client, _ = OAuthClient.objects.update_or_create(
        client_id=client_id,
        defaults={"name": name, "redirect_uris": uris, "registration": Registration.CIMD, "fetched_at": timezone.now()},
    )
    return client


def _fetch_document(url: str) -> Any:
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        raise ClientRefused("The client metadata document's URL is not a valid URL.") from None
    test_loopback = settings.OAUTH_CLIENT_METADATA_ALLOW_LOOPBACK and host in LOOPBACK_HOSTS
    if parts.scheme != "https" and not (test_loopback and parts.scheme == "http"):
        raise ClientRefused("A client metadata document must be served over https.")
    if parts.path in ("", "/") or parts.fragment or parts.username or not host:
        raise ClientRefused("A client metadata document's URL needs a path, and no fragment or credentials.")
    address = _public_address(host, allow_loopback=test_loopback)
    # Connect to the address just checked rather than let a second lookup answer differently (DNS
    # rebinding); TLS still verifies the certificate against the host name.
    netloc = f"[{address}]" if ":" in address else address
    target = urlunsplit((parts.scheme, f"{netloc}:{port}" if port else netloc, parts.path, parts.query, ""))
    deadline = time.monotonic() + settings.OAUTH_CLIENT_METADATA_TIMEOUT_SECONDS
    limit = settings.OAUTH_CLIENT_METADATA_MAX_BYTES
    verify: str | bool = settings.OAUTH_CLIENT_METADATA_CA_BUNDLE or True
    try:
        with httpx.Client(timeout=settings.OAUTH_CLIENT_METADATA_TIMEOUT_SECONDS, follow_redirects=False,
                          verify=verify, trust_env=False) as http:
            with http.stream("GET", target, headers={"Accept": "application/json", "Host": parts.netloc},
                             extensions={"sni_hostname": host}) as response:
                if response.is_redirect:
                    raise ClientRefused("The client metadata document's URL redirects elsewhere; it must serve the document.")
                if response.status_code != 200:
                    raise ClientRefused(f"The client metadata document could not be read (HTTP {response.status_code}).")
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > limit:
                        raise ClientRefused(f"The client metadata document is larger than {limit} bytes.")
                    if time.monotonic() > deadline:
                        raise ClientRefused("The client metadata document took too long to arrive.")
    except httpx.HTTPError:
        raise ClientRefused("The client metadata document could not be fetched (no answer in time, or TLS failed).") from None
    try:
        document = json.loads(body)
    except ValueError:
        raise ClientRefused("The client metadata document is not JSON.") from None
    if not isinstance(document, dict) or document.get("client_id") != url:
        raise ClientRefused("The client metadata document must name its own URL as client_id.")
    return document


def _public_address(host: str, *, allow_loopback: bool) -> str:
    """An address of `host`, refused when any of them is in this network (loopback, private, link-local...)."""
    try:
        addresses = sorted({info[4][0] for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)})
    except (OSError, UnicodeError, ValueError):
        raise ClientRefused("The client metadata document's host does not resolve.") from None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not (ip.is_global or (allow_loopback and ip.is_loopback)):
            raise ClientRefused("The client metadata document's host is not a public address.")
    return addresses[0].split("%")[0]


def forget(client: OAuthClient, *, by: Any = None) -> int:
    """Delete a client after disconnecting every grant users gave it; returns how many were disconnected.
    (Deleting the rows alone would leave the grants' keys, and so their tokens, working.)"""
    from .grants import disconnect

    grants = list(client.grants.select_related("key"))
    for grant in grants:
        disconnect(grant, reason=f"Its app ({client.name}) was deleted by an administrator.", by=by)
    client.delete()
    return len(grants)
