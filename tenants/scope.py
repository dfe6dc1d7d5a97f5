"""The tenants a caller may touch, and how a user's tenant access becomes that scope."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from .models import Tenant, TenantAccess


@dataclass(frozen=True)
class TenantScope:
    """The tenants a caller may touch. `all_tenants` is a root caller with no key restriction."""

    all_tenants: bool
    cust_ids: frozenset[str] = frozenset()

    def allows(self, cust_id: str) -> bool:
        return self.all_tenants or cust_id in self.cust_ids

    def within(self, other: TenantScope) -> bool:
        """Whether every tenant this scope reaches, `other` reaches too (now and as tenants are added)."""
        return other.all_tenants or (not self.all_tenants and self.cust_ids <= other.cust_ids)

    def limited_to(self, cust_ids: frozenset[str]) -> TenantScope:
        return TenantScope(all_tenants=False, cust_ids=cust_ids if self.all_tenants else self.cust_ids & cust_ids)


NO_TENANTS = TenantScope(all_tenants=False)
ALL_TENANTS = TenantScope(all_tenants=True)


def tenant_access_of(user: AbstractBaseUser) -> TenantAccess | None:
    # Uses the row (or its absence) already cached on the user by a select_related or the key lookup.
    try:
        return user.tenant_access  # type: ignore[attr-defined]
    except TenantAccess.DoesNotExist:
        return None


def tenant_scope_for_user(user: AbstractBaseUser) -> TenantScope:
    """The tenants a user may see: all of them for root, the listed ones, or none without an access row."""
    access = tenant_access_of(user)
    if access is None:
        return NO_TENANTS
    if access.all_tenants:
        return ALL_TENANTS
    return TenantScope(all_tenants=False, cust_ids=frozenset(access.tenants.values_list("cust_id", flat=True)))


def tenants_available_to(user: AbstractBaseUser) -> QuerySet[Tenant]:
    """The tenants a user may see, as rows (to restrict one of their keys to)."""
    access = tenant_access_of(user)
    if access is None:
        return Tenant.objects.none()
    if access.all_tenants:
        return Tenant.objects.all()
    return access.tenants.all()


def usernames_within(scope: TenantScope, prefix: str, *, limit: int) -> list[str]:
    """Usernames (starting with `prefix`) of active users who can access one of the scope's tenants, and
    only those: a caller never learns a user of a tenant it cannot see. Served by the username index."""
    from django.contrib.auth import get_user_model
    from django.db.models import Q

    users = get_user_model().objects.filter(is_active=True, username__startswith=prefix)
    if scope.all_tenants:
        users = users.filter(tenant_access__isnull=False)
    else:
        users = users.filter(Q(tenant_access__all_tenants=True)
                             | Q(tenant_access__tenants__cust_id__in=scope.cust_ids)).distinct()
    return list(users.order_by("username").values_list("username", flat=True)[:limit])
