"""Reads of the accounts app: a key's tenant scope, key usability, key listings."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet

from accounts import request_path_sql
from accounts.models import USABLE_STATES, ApiKey, ApiKeyState
from tenants.scope import ALL_TENANTS, NO_TENANTS, TenantScope, tenant_access_of


def tenant_scope_for_key(api_key: ApiKey) -> TenantScope:
    """The owner's tenants, intersected with the key's listed tenants when the key is restricted.

    A restricted key whose tenants were all deleted reaches nothing: a deletion never widens a key.
    One query for both tenant sets, none for an unrestricted key of a root user: this runs on every
    authenticated request.
    """
    access = tenant_access_of(api_key.user)
    if access is None:
        return NO_TENANTS
    if access.all_tenants and not api_key.restricted:
        return ALL_TENANTS
    rows = request_path_sql.tenant_cust_ids(
        api_key_id=api_key.pk if api_key.restricted else None,
        access_id=None if access.all_tenants else access.pk,
    )
    restriction = frozenset(cust_id for cust_id, from_key in rows if from_key)
    if access.all_tenants:
        return TenantScope(all_tenants=False, cust_ids=restriction)
    owner = frozenset(cust_id for cust_id, from_key in rows if not from_key)
    return TenantScope(all_tenants=False, cust_ids=owner & restriction if api_key.restricted else owner)


def key_is_usable(api_key: ApiKey, now: datetime) -> bool:
    """Not revoked, not expired, not past its rotation grace period, and its owner is active."""
    return api_key.state_at(now) in USABLE_STATES and api_key.user.is_active


def api_key_list(*, user: AbstractBaseUser | None = None, kind: str | None = None) -> QuerySet[ApiKey]:
    """Keys and OAuth grants (`kind` picks one), with owner and tenants loaded; one user's when given."""
    keys = ApiKey.objects.select_related("user").prefetch_related("tenants")
    if kind is not None:
        keys = keys.filter(kind=kind)
    return keys.filter(user=user) if user is not None else keys


def api_key_for_verification(public_id: str) -> ApiKey | None:
    """The key with its owner and the owner's TenantAccess already loaded, in one query."""
    return request_path_sql.load_key_with_owner(public_id)


def api_key_get(*, public_id: str) -> ApiKey | None:
    return ApiKey.objects.select_related("user").filter(public_id=public_id).first()


def api_key_state_filter(state: ApiKeyState, now: datetime) -> Q:
    """The condition under which ApiKey.state_at(now) == state, for filtering in the database."""
    live = Q(revoked_at__isnull=True)
    not_rotated = Q(grace_until__isnull=True) | Q(grace_until__gt=now)
    not_expired = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    return {
        ApiKeyState.REVOKED: ~live,
        ApiKeyState.ROTATED: live & Q(grace_until__lte=now),
        ApiKeyState.EXPIRED: live & not_rotated & Q(expires_at__lte=now),
        ApiKeyState.ROTATING: live & Q(grace_until__gt=now) & not_expired,
        ApiKeyState.ACTIVE: live & Q(grace_until__isnull=True) & not_expired,
    }[state]
