"""Short-lived access tokens: ``sat-<key public id>.<expiry epoch>.<signature>`` made from an API key, and
``soa-<grant public id>.<expiry epoch>.<signature>`` made by the OAuth authorization server for a grant.

A token is an HMAC-SHA256 signature (key derived from SECRET_KEY, one per kind) over the key's public id,
an expiry and, for an OAuth token, the resource it is for; nothing more: it holds no secret and no
permission. Whoever verifies it still loads the key row, so revoking, expiring or rotating the key (or
disconnecting the grant), or deactivating its owner, refuses the token on the very next request, on every
worker.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import UTC, datetime
from typing import NamedTuple

from django.conf import settings
from django.utils import timezone

from accounts.exceptions import AuthenticationFailed
from accounts.keys import PUBLIC_ID_LENGTH
from accounts.models import ApiKey
from accounts.selectors import key_is_usable
from stellar_mcp_site.signing import signing_key

ACCESS_TOKEN_PREFIX = "sat-"  # made from an API key by get_access_token or POST /connect/api/v1/access_token
OAUTH_TOKEN_PREFIX = "soa-"  # made for an OAuth grant by the authorization server, for one resource
_SIGNATURE_LENGTH = 43  # base64url of 32 bytes, unpadded
_TOKEN_RE = re.compile(
    rf"(?P<prefix>{re.escape(ACCESS_TOKEN_PREFIX)}|{re.escape(OAUTH_TOKEN_PREFIX)})"
    rf"(?P<public_id>[a-z0-9]{{{PUBLIC_ID_LENGTH}}})\.(?P<exp>[0-9]{{1,12}})\.(?P<sig>[A-Za-z0-9_-]{{{_SIGNATURE_LENGTH}}})"
)
_PURPOSES = {ACCESS_TOKEN_PREFIX: b"stellar-mcp/access-token/v1", OAUTH_TOKEN_PREFIX: b"stellar-mcp/oauth-access-token/v1"}


class VerifiedToken(NamedTuple):
    public_id: str
    exp: int
    oauth: bool  # made for an OAuth grant (its key's kind must be oauth)


def _signature(prefix: str, public_id: str, exp: int, audience: str) -> str:
    # An OAuth token signs its audience (RFC 8707): a token made for another resource never verifies here.
    message = f"{public_id}.{exp}" if prefix == ACCESS_TOKEN_PREFIX else f"{public_id}.{exp}.{audience}"
    mac = hmac.new(signing_key(_PURPOSES[prefix]), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def access_token_encode(public_id: str, exp: int) -> str:
    return f"{ACCESS_TOKEN_PREFIX}{public_id}.{exp}.{_signature(ACCESS_TOKEN_PREFIX, public_id, exp, '')}"


def oauth_token_encode(public_id: str, exp: int, audience: str) -> str:
    return f"{OAUTH_TOKEN_PREFIX}{public_id}.{exp}.{_signature(OAUTH_TOKEN_PREFIX, public_id, exp, audience)}"


def looks_like_access_token(value: str) -> bool:
    return value.startswith((ACCESS_TOKEN_PREFIX, OAUTH_TOKEN_PREFIX))


def access_token_public_id(token: str) -> str | None:
    """The key public id a well-formed token names (signature not checked; for audit only)."""
    match = _TOKEN_RE.fullmatch(token)
    return match["public_id"] if match else None


def access_token_verify(token: str, *, now: float, audience: str | None = None) -> VerifiedToken | None:
    """The signed content of a well-formed, authentic, unexpired token; None otherwise. An OAuth token
    verifies only for the `audience` it was made for, and never where no audience is given."""
    match = _TOKEN_RE.fullmatch(token)
    if match is None:
        return None
    prefix, public_id, exp = match["prefix"], match["public_id"], int(match["exp"])
    oauth = prefix == OAUTH_TOKEN_PREFIX
    if oauth and not audience:
        return None
    if not hmac.compare_digest(_signature(prefix, public_id, exp, audience or ""), match["sig"]):
        return None
    if exp <= now:
        return None
    return VerifiedToken(public_id, exp, oauth)


def access_token_issue(*, api_key: ApiKey, now: datetime | None = None) -> dict:
    """A token for `api_key`, valid ACCESS_TOKEN_TTL_SECONDS and never past the key's own end.

    Returns ``access_token``, ``token_type`` ("Bearer"), ``expires_in`` (seconds), ``exp`` (epoch
    seconds, as the Stellar Cyber Public API returns it) and ``expires_at`` (ISO-8601 UTC).
    Raises AuthenticationFailed when the key is not usable.
    """
    now = now or timezone.now()
    if not key_is_usable(api_key, now):
        raise AuthenticationFailed(key_public_id=api_key.public_id)
    issued = int(now.timestamp())
    exp = issued + settings.ACCESS_TOKEN_TTL_SECONDS
    for end in (api_key.expires_at, api_key.grace_until):
        if end is not None:
            exp = min(exp, int(end.timestamp()))
    return {
        "access_token": access_token_encode(api_key.public_id, exp),
        "token_type": "Bearer",
        "expires_in": exp - issued,
        "exp": exp,
        "expires_at": datetime.fromtimestamp(exp, tz=UTC).isoformat().replace("+00:00", "Z"),
    }
