"""The caller of a request, as every layer below authentication sees it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

Scope = Literal["read", "read_write"]


@dataclass(frozen=True)
class TenantScope:
    """The tenants a caller may touch. `all_tenants` is a root caller with no key restriction."""

    all_tenants: bool
    cust_ids: frozenset[str] = frozenset()

    def allows(self, cust_id: str) -> bool:
        return self.all_tenants or cust_id in self.cust_ids

    def within(self, other: "TenantScope") -> bool:
        """Whether every tenant this scope reaches, `other` reaches too (now and as tenants are added)."""
        return other.all_tenants or (not self.all_tenants and self.cust_ids <= other.cust_ids)

    def limited_to(self, cust_ids: frozenset[str]) -> "TenantScope":
        return TenantScope(all_tenants=False, cust_ids=cust_ids if self.all_tenants else self.cust_ids & cust_ids)


@dataclass(frozen=True)
class Principal:
    user: "AbstractBaseUser"
    api_key: object | None  # accounts.models.ApiKey; None only for in-process callers (tests, commands)
    scope: Scope
    tenants: TenantScope
    via_access_token: bool = False

    @property
    def can_write(self) -> bool:
        return self.scope == "read_write"
