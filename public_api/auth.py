"""Who is calling the Public API: this project's API keys and access tokens, in the Stellar Cyber schemes.

Accepted on every endpoint:
- ``Authorization: Bearer <access token>`` (from POST /connect/api/v1/access_token), the usual way;
- ``Authorization: Bearer <API key>``: the raw key. The Stellar Cyber platform refuses a raw scoped key
  on data endpoints (401); this instance accepts it, as /mcp/ does, because a key is at least as strong
  a credential as the token made from it and it saves a gateway a round trip;
- ``Authorization: Basic base64(<email or username>:<API key>)``, the legacy scheme, where the name must
  be the key owner's.

POST /connect/api/v1/access_token takes an API key only (Bearer or Basic), never an access token: the
key is the refresh credential. Every refusal reads the same, and failures (a missing credential
included) count against the per-IP limit of accounts.authentication (429 with Retry-After once it is
reached; a valid credential is never refused by it).
"""

from __future__ import annotations

import base64
import binascii

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from accounts.authentication import AuthenticationFailed as KeyRefused
from accounts.authentication import authenticate_bearer
from accounts.keys import looks_like_api_key
from accounts.principal import Principal
from stellar_mcp_site.request_meta import client_ip

AUTH_HELP = (
    "Invalid or expired credentials: send 'Authorization: Bearer <access token>' from "
    "POST /connect/api/v1/access_token, or the API key itself."
)
TOKEN_HELP = (
    "Invalid credentials: POST /connect/api/v1/access_token needs 'Authorization: Bearer <API key>' "
    "or 'Basic base64(email:API key)'."
)


class Unauthenticated(exceptions.AuthenticationFailed):
    """401; `key_public_id` is the presented key's public id when it parses (for the audit row)."""

    def __init__(self, message: str, key_public_id: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.key_public_id = key_public_id


class TooManyFailures(exceptions.Throttled):
    def __init__(self, retry_after: int, key_public_id: str = "") -> None:
        super().__init__(wait=retry_after)
        self.retry_after = max(1, int(retry_after))
        self.message = f"Too many failed authentication attempts from this address; retry after {self.retry_after} seconds."
        self.key_public_id = key_public_id


def _basic_key(value: str) -> tuple[str, str] | None:
    """(name, key) of a Basic credential, None when it does not decode."""
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    name, sep, key = decoded.partition(":")
    return (name.strip(), key.strip()) if sep and name.strip() and key.strip() else None


def principal_for(authorization: str | None, *, ip: str | None, key_only: bool) -> Principal:
    """The principal behind an Authorization header, or Unauthenticated / TooManyFailures.

    A missing or malformed header is refused by accounts.authentication like a wrong credential, so it
    counts against the address's failures the same way."""
    help_text = TOKEN_HELP if key_only else AUTH_HELP
    scheme, _, credential = (authorization or "").strip().partition(" ")
    basic_name = None
    if scheme.lower() == "basic":
        basic_name, credential = _basic_key(credential) or (None, "")
    elif scheme.lower() != "bearer":
        credential = ""
    credential = credential.strip()
    try:
        principal = authenticate_bearer(f"Bearer {credential}" if credential else None, client_ip=ip)
    except KeyRefused as exc:
        if exc.rate_limited:
            raise TooManyFailures(exc.retry_after, exc.key_public_id or "") from None
        raise Unauthenticated(help_text, exc.key_public_id or "") from None
    key_id = getattr(principal.api_key, "public_id", "")
    if key_only and (principal.via_access_token or not looks_like_api_key(credential)):
        raise Unauthenticated(help_text, key_id)
    if basic_name is not None:
        user = principal.user
        names = {user.get_username().lower(), (getattr(user, "email", "") or "").lower()} - {""}
        if basic_name.lower() not in names:
            raise Unauthenticated(help_text, key_id)
    return principal


class ApiKeyAuthentication(BaseAuthentication):
    """DRF glue: request.user is the key owner, request.auth the Principal."""

    key_only = False

    def authenticate(self, request):
        django_request = request._request
        try:
            principal = principal_for(
                request.META.get("HTTP_AUTHORIZATION"), ip=client_ip(django_request), key_only=self.key_only
            )
        except (Unauthenticated, TooManyFailures) as exc:
            django_request.audit_key_public_id = exc.key_public_id
            raise
        django_request.audit_username = principal.user.get_username()
        return principal.user, principal

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="stellar-public-api", error="invalid_token"'


class ApiKeyOnlyAuthentication(ApiKeyAuthentication):
    key_only = True
