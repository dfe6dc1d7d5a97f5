"""The caller of a request, as every layer below authentication sees it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from tenants.scope import TenantScope

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

Scope = Literal["read", "read_write"]


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
