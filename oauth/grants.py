"""Grants: a user's consent to a client, kept as an API key of kind oauth, and the codes and refresh tokens
that lead to it. Codes and refresh tokens are random, shown once, stored as digests; each is used once."""

from __future__ import annotations

import hashlib
import logging
import hmac
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from accounts.exceptions import ApiKeyError
from accounts.models import ApiKey, ApiKeyKind
from accounts.services import api_key_revoke
from stellar_mcp_site.signing import signing_key
from tenants.models import Tenant

from .models import AuthorizationCode, Grant, OAuthClient, RefreshToken

logger = logging.getLogger(__name__)

REFRESH_TOKEN_PREFIX = "sor-"
# The API key scope a grant of these OAuth scopes carries, and back.
SCOPE_OF = {"cases:read": "read", "cases:write": "read_write"}
OAUTH_SCOPES_OF = {"read": ["cases:read"], "read_write": ["cases:read", "cases:write"]}


def digest(secret: str) -> str:
    return hmac.new(signing_key(b"stellar-mcp/oauth-secret-digest/v1"), secret.encode(), hashlib.sha256).hexdigest()


def new_refresh_token() -> str:
    return REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)


def grant_scope(oauth_scopes: list[str]) -> str:
    """The API key scope of a grant of `oauth_scopes`: read-write only with cases:write."""
    return "read_write" if "cases:write" in oauth_scopes else "read"


def refresh_expiry(now: datetime) -> datetime:
    return now + timedelta(days=settings.OAUTH_REFRESH_TOKEN_DAYS)


def save_code(*, code: str, client: OAuthClient, user: AbstractBaseUser, redirect_uri: str, code_challenge: str,
              scope: str, tenant_ids: list[str] | None, resource: str) -> AuthorizationCode:
    return AuthorizationCode.objects.create(
        digest=digest(code), client=client, user=user, redirect_uri=redirect_uri, code_challenge=code_challenge,
        scope=scope, tenant_ids=tenant_ids, resource=resource,
        expires_at=timezone.now() + timedelta(seconds=settings.OAUTH_CODE_SECONDS),
    )


def grant_from_code(code: AuthorizationCode, *, public_id: str, refresh_token: str) -> Grant:
    """The grant a code is exchanged for (its key holds the consented scope and tenants), with its first
    refresh token. The code is spent."""
    now = timezone.now()
    key = ApiKey.objects.create(
        public_id=public_id, digest=secrets.token_hex(32),  # no secret: the key is used through its tokens
        kind=ApiKeyKind.OAUTH, name=code.client.name[:100], user=code.user, scope=code.scope,
        restricted=code.tenant_ids is not None, expires_at=refresh_expiry(now),
    )
    if code.tenant_ids is not None:
        key.tenants.set(Tenant.objects.filter(cust_id__in=code.tenant_ids))
    grant = Grant.objects.create(key=key, client=code.client)
    RefreshToken.objects.create(digest=digest(refresh_token), grant=grant, expires_at=key.expires_at)
    code.used_at, code.grant = now, grant
    code.save(update_fields=["used_at", "grant"])
    logger.info("OAuth grant %s made for %s by %s (scope %s)", key.public_id, code.client.name,
                code.user.get_username(), code.scope)
    return grant


def rotate(old: RefreshToken, *, refresh_token: str) -> RefreshToken:
    """Spend a refresh token for the next one; the grant lives on as long as the newest."""
    now = timezone.now()
    old.used_at = now
    old.save(update_fields=["used_at"])
    expires = refresh_expiry(now)
    ApiKey.objects.filter(pk=old.grant.key_id).update(expires_at=expires)
    return RefreshToken.objects.create(digest=digest(refresh_token), grant=old.grant, expires_at=expires)


def disconnect(grant: Grant | None, *, reason: str, by: AbstractBaseUser | None = None) -> None:
    """Revoke a grant: every access and refresh token made for it is refused from the next request."""
    if grant is None:
        return
    try:
        api_key_revoke(key=grant.key, by=by, reason=reason)
    except ApiKeyError:
        pass  # revoked already
