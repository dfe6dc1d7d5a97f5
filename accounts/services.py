"""Writes of the accounts app: create, revoke and rotate API keys, record their use.

Views, admin actions and management commands call these and nothing else to change a key. Each
returns the plaintext of a new key exactly once; only its digest is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.exceptions import ApiKeyError
from accounts.keys import generate_key, key_digest
from accounts.models import ApiKey, ApiKeyKind, ApiKeyScope, ApiKeyState
from tenants.models import Tenant
from tenants.scope import tenant_scope_for_user, tenants_available_to

logger = logging.getLogger(__name__)

# last_used_at is a hint for people, not an audit trail: one write a minute per key is plenty.
LAST_USED_RESOLUTION = timedelta(minutes=1)
NAME_MAX_LENGTH = ApiKey._meta.get_field("name").max_length
MAX_EXPIRES_IN_DAYS = 3650
# A rotated key's old secret stays valid this long at most: long enough to update every client.
MAX_GRACE_MINUTES = 7 * 24 * 60


def _check_issuer(issuer: AbstractBaseUser | None, owner: AbstractBaseUser, restriction: Iterable[Tenant] | None) -> None:
    """Whoever issues a key sees its plaintext: only its owner, or a superuser who could reach every
    tenant the key reaches, may issue one. None is an operator at the command line (a shell on the server)."""
    if issuer is None or issuer.pk == owner.pk:
        return
    if not issuer.is_superuser:
        raise ApiKeyError("Only a superuser may issue or rotate a key for another user; create your own on Profile | API Keys.")
    reach = tenant_scope_for_user(owner)
    if restriction is not None:
        reach = reach.limited_to(frozenset(t.cust_id for t in restriction))
    if not reach.within(tenant_scope_for_user(issuer)):
        raise ApiKeyError(
            f"The key would reach tenants outside your own tenant access: restrict it to tenants you may access, "
            f"or let {owner.get_username()} create it."
        )


def _validated_tenants(user: AbstractBaseUser, tenant_ids: Iterable[str]) -> list[Tenant]:
    wanted = list(dict.fromkeys(tenant_ids))
    if not wanted:
        return []
    found = {t.cust_id: t for t in Tenant.objects.filter(cust_id__in=wanted)}
    unknown = [c for c in wanted if c not in found]
    if unknown:
        raise ApiKeyError(f"Unknown tenant: {', '.join(unknown)}.")
    allowed = set(tenants_available_to(user).filter(cust_id__in=wanted).values_list("cust_id", flat=True))
    outside = [c for c in wanted if c not in allowed]
    if outside:
        raise ApiKeyError(f"Tenant outside the access of user {user.get_username()}: {', '.join(outside)}.")
    return [found[c] for c in wanted]


def _insert_key(
    *,
    user: AbstractBaseUser,
    name: str,
    scope: str,
    restricted: bool,
    tenants: Iterable[Tenant],
    expires_at: datetime | None,
    rotated_from: ApiKey | None,
) -> tuple[ApiKey, str]:
    # 36**12 public ids: a collision is all but impossible, but a retry costs nothing.
    for _ in range(5):
        public_id, plaintext = generate_key()
        try:
            with transaction.atomic():
                key = ApiKey.objects.create(
                    public_id=public_id,
                    digest=key_digest(plaintext),
                    name=name,
                    user=user,
                    scope=scope,
                    restricted=restricted,
                    expires_at=expires_at,
                    rotated_from=rotated_from,
                )
        except IntegrityError:
            if ApiKey.objects.filter(public_id=public_id).exists():
                continue
            raise
        key.tenants.set(tenants)
        return key, plaintext
    raise ApiKeyError("Could not allocate a unique key id; try again.")


@transaction.atomic
def api_key_create(
    *,
    user: AbstractBaseUser,
    name: str,
    scope: str = ApiKeyScope.READ_WRITE,
    tenant_ids: Iterable[str] | None = None,
    expires_in_days: int | None = None,
    issued_by: AbstractBaseUser | None = None,
) -> tuple[ApiKey, str]:
    """Create a key for `user`; returns the row and the plaintext, which is not stored anywhere.

    `tenant_ids` are cust_ids restricting the key; each must be within the user's own tenant access.
    A key given tenants stays restricted to them for good: should they all be deleted, it reaches nothing.
    `issued_by` is the person who will see the plaintext (None: an operator's command); see _check_issuer.
    """
    name = (name or "").strip()
    if not name:
        raise ApiKeyError("A key needs a name.")
    if len(name) > NAME_MAX_LENGTH:
        raise ApiKeyError(f"A key name has at most {NAME_MAX_LENGTH} characters.")
    if scope not in ApiKeyScope.values:
        raise ApiKeyError(f"Unknown scope {scope!r}; use one of: {', '.join(ApiKeyScope.values)}.")
    if not user.is_active:
        raise ApiKeyError(f"User {user.get_username()} is inactive.")
    expires_at = None
    if expires_in_days is not None:
        if not 1 <= expires_in_days <= MAX_EXPIRES_IN_DAYS:
            raise ApiKeyError(f"Expiry must be between 1 and {MAX_EXPIRES_IN_DAYS} days.")
        expires_at = timezone.now() + timedelta(days=expires_in_days)
    tenants = _validated_tenants(user, tenant_ids or ())
    _check_issuer(issued_by, user, tenants or None)
    key, plaintext = _insert_key(
        user=user, name=name, scope=scope, restricted=bool(tenants), tenants=tenants, expires_at=expires_at,
        rotated_from=None,
    )
    logger.info("API key %s created for %s (scope %s)", key.public_id, user.get_username(), scope)
    return key, plaintext


def _locked(key: ApiKey) -> ApiKey:
    try:
        return ApiKey.objects.select_for_update().select_related("user").get(pk=key.pk)
    except ApiKey.DoesNotExist:
        raise ApiKeyError(f"Unknown key {key.public_id}.") from None


@transaction.atomic
def api_key_revoke(*, key: ApiKey, by: AbstractBaseUser | None = None, reason: str = "") -> ApiKey:
    """Revoke a key for good; it is refused from the next request on."""
    key = _locked(key)
    if key.revoked_at is not None:
        raise ApiKeyError(f"Key {key.public_id} was already revoked on {key.revoked_at:%Y-%m-%d %H:%M} UTC.")
    key.revoked_at = timezone.now()
    key.revoked_by = by
    key.revoked_reason = (reason or "").strip()[: ApiKey._meta.get_field("revoked_reason").max_length]
    key.save(update_fields=["revoked_at", "revoked_by", "revoked_reason"])
    logger.info("API key %s revoked by %s", key.public_id, by.get_username() if by else "(system)")
    return key


@transaction.atomic
def api_key_rotate(*, key: ApiKey, grace_minutes: int = 0, by: AbstractBaseUser | None = None) -> tuple[ApiKey, str]:
    """Issue a successor with the same owner, name, scope, tenants and lifetime; the old key works
    `grace_minutes` longer (0: stops at once; at most MAX_GRACE_MINUTES). `by` sees the new plaintext,
    so the rules of api_key_create's `issued_by` apply to it."""
    if not 0 <= grace_minutes <= MAX_GRACE_MINUTES:
        raise ApiKeyError(f"The grace period must be from 0 to {MAX_GRACE_MINUTES} minutes (7 days).")
    key = _locked(key)
    now = timezone.now()
    state = key.state_at(now)
    if state != ApiKeyState.ACTIVE:
        raise ApiKeyError(f"Key {key.public_id} is {state.value}; only an active key can be rotated.")
    if key.kind == ApiKeyKind.OAUTH:
        raise ApiKeyError(f"{key.public_id} is an app's OAuth sign-in, not a key: revoke it and sign in again.")
    tenants = list(key.tenants.all())
    _check_issuer(by, key.user, tenants if key.restricted else None)
    expires_at = now + (key.expires_at - key.created_at) if key.expires_at is not None else None
    new_key, plaintext = _insert_key(
        user=key.user,
        name=key.name,
        scope=key.scope,
        restricted=key.restricted,
        tenants=tenants,
        expires_at=expires_at,
        rotated_from=key,
    )
    key.grace_until = now + timedelta(minutes=grace_minutes)
    key.save(update_fields=["grace_until"])
    logger.info(
        "API key %s rotated to %s by %s (grace %d min)",
        key.public_id,
        new_key.public_id,
        by.get_username() if by else "(system)",
        grace_minutes,
    )
    return new_key, plaintext


def api_key_touch_last_used(*, key: ApiKey, now: datetime | None = None) -> bool:
    """Record that the key was used, at most once per LAST_USED_RESOLUTION; True when a row was written.

    A single conditional UPDATE, so concurrent workers cannot both write within the same minute.
    """
    now = now or timezone.now()
    threshold = now - LAST_USED_RESOLUTION
    if key.last_used_at is not None and key.last_used_at > threshold:
        return False
    written = (
        ApiKey.objects.filter(pk=key.pk)
        .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=threshold))
        .update(last_used_at=now)
    )
    if written:
        key.last_used_at = now
    return bool(written)
