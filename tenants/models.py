"""Tenants (the platform's customers, `cust_id`) and the tenant access of users.

Both tables keep the names they were created with, when cases held the tenants and accounts the access.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

HEX32 = RegexValidator(r"^[0-9a-f]{32}$", "Must be 32 lowercase hex characters.")


def new_hex32() -> str:
    return secrets.token_hex(16)


class Tenant(models.Model):
    cust_id = models.CharField(max_length=32, unique=True, default=new_hex32, validators=[HEX32])
    cust_name = models.CharField(max_length=200)
    tgrp_name = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField()
    attributes = models.JSONField(default=dict, blank=True, help_text="Free attributes (address, contact, ...).")

    class Meta:
        db_table = "cases_tenant"
        ordering = ["cust_name"]

    def __str__(self) -> str:
        return f"{self.cust_name} ({self.cust_id})"


class TenantAccess(models.Model):
    """A user's tenant access: every tenant (root) or a listed set. No row means no tenant."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tenant_access")
    all_tenants = models.BooleanField("root (all tenants)", default=False)
    tenants = models.ManyToManyField(Tenant, blank=True, related_name="user_access",
                                     db_table="accounts_tenantaccess_tenants")

    class Meta:
        db_table = "accounts_tenantaccess"
        verbose_name = "tenant access"
        verbose_name_plural = "tenant access"

    def __str__(self) -> str:
        return f"Tenant access of {self.user}"
