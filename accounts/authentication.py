"""Who is calling: one function turns an ``Authorization: Bearer ...`` value into a Principal.

The credential is an API key (``sk-stellar-...``) or an access token (``sat-...``). Either way the key
row is read on every request (one indexed query, joined with its owner), so revocation, expiry,
rotation and a deactivated owner take effect at once on every worker. Every refusal looks the same to
the caller. A verification costs an HMAC and three small queries: the rate-limit check, the key row,
the tenant sets (plus one UPDATE of last_used_at at most once a minute per key).

Failures are limited per client IP through the shared cache: after AUTH_FAILURE_LIMIT refused
requests within a window (a missing credential counts: each one still costs a refusal and an audit row),
the IP's further refusals become 429s for AUTH_FAILURE_WINDOW_SECONDS. A valid credential is always
accepted, blocked address or not: a 190-bit secret cannot be guessed, and behind a proxy that is not
trusted (TRUSTED_PROXY_HOPS) every client shares one address, so blocking it would lock out every user
for one client's failures.
"""

from __future__ import annotations

import logging
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError
from django.utils import timezone

from accounts.exceptions import AuthenticationFailed
from accounts.keys import digest_matches, looks_like_api_key, parse_public_id
from accounts.models import ApiKeyKind
from accounts.principal import Principal
from accounts.selectors import (
    api_key_for_verification,
    key_is_usable,
    tenant_scope_for_key,
)
from accounts.services import api_key_touch_last_used
from accounts.tokens import (
    access_token_public_id,
    access_token_verify,
    looks_like_access_token,
)

__all__ = ["AuthenticationFailed", "authenticate_bearer"]

logger = logging.getLogger("accounts")

# Compared against when the public id is unknown, so that case costs the same digest work.
_UNKNOWN_KEY_DIGEST = "0" * 64


class _Refused(Exception):
    pass


def _bearer_credential(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, credential = authorization.strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        return None
    return credential


def _presented_public_id(credential: str) -> str | None:
    if looks_like_api_key(credential):
        return parse_public_id(credential)
    if looks_like_access_token(credential):
        return access_token_public_id(credential)
    return None


def _resolve(credential: str, resource: str | None) -> Principal:
    now = timezone.now()
    if looks_like_api_key(credential):
        public_id = parse_public_id(credential)
        if public_id is None:
            raise _Refused
        key = api_key_for_verification(public_id)
        if not digest_matches(credential, key.digest if key is not None else _UNKNOWN_KEY_DIGEST):
            raise _Refused
        via_access_token, oauth = False, False
    elif looks_like_access_token(credential):
        verified = access_token_verify(credential, now=now.timestamp(), audience=resource)
        if verified is None:
            raise _Refused
        key = api_key_for_verification(verified.public_id)
        via_access_token, oauth = True, verified.oauth
    else:
        raise _Refused
    # An OAuth grant is used through tokens made for it, an API key through itself or its own tokens.
    if key is None or (key.kind == ApiKeyKind.OAUTH) != oauth or not key_is_usable(key, now):
        raise _Refused
    try:
        api_key_touch_last_used(key=key, now=now)
    except DatabaseError:
        # "Last used" is a convenience: a busy or read-only database must not refuse a valid key.
        logger.warning("could not record last use of API key %s", key.public_id, exc_info=True)
    return Principal(
        user=key.user,
        api_key=key,
        scope=key.scope,
        tenants=tenant_scope_for_key(key),
        via_access_token=via_access_token,
    )


def _block_key(client_ip: str | None) -> str:
    return f"auth-block:{client_ip or 'unknown'}"


def _blocked_for(client_ip: str | None, now: float) -> int:
    """Seconds the IP stays blocked (0: not blocked)."""
    until = cache.get(_block_key(client_ip))
    return math.ceil(until - now) if until is not None and until > now else 0


def _record_failure(client_ip: str | None, now: float) -> None:
    # Fixed windows named by their index: the counter needs no expiry bookkeeping of its own. Two
    # workers failing at the same instant may count once; a limit off by one is harmless here.
    window = settings.AUTH_FAILURE_WINDOW_SECONDS
    counter = f"auth-fail:{client_ip or 'unknown'}:{int(now // window)}"
    count = cache.get(counter, 0) + 1
    cache.set(counter, count, timeout=window)
    if count >= settings.AUTH_FAILURE_LIMIT:
        cache.set(_block_key(client_ip), now + window, timeout=window)


def authenticate_bearer(authorization: str | None, *, client_ip: str | None, resource: str | None = None) -> Principal:
    """The principal behind an Authorization header value, or AuthenticationFailed. `resource` is the URL
    of the resource the request is for: OAuth access tokens are accepted only when made for it.

    The principal's tenants are the owner's (all of them for root, none without a TenantAccess row),
    intersected with the key's listed tenants when the key is restricted; its scope is the key's.
    """
    credential = _bearer_credential(authorization)
    if credential is not None:
        try:
            return _resolve(credential, resource)
        except _Refused:
            pass
    presented_id = _presented_public_id(credential) if credential is not None else None
    now = time.time()
    retry_after = _blocked_for(client_ip, now)
    if retry_after:
        raise AuthenticationFailed(key_public_id=presented_id, rate_limited=True, retry_after=retry_after)
    _record_failure(client_ip, now)
    raise AuthenticationFailed(key_public_id=presented_id)

