"""The API keys that act on a user's behalf."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models

from tenants.models import Tenant


class ApiKeyScope(models.TextChoices):
    READ = "read", "Read only"
    READ_WRITE = "read_write", "Read and write"


class ApiKeyKind(models.TextChoices):
    API_KEY = "api_key", "API key"
    OAUTH = "oauth", "OAuth grant"


class ApiKeyState(models.TextChoices):
    ACTIVE = "active", "active"
    ROTATING = "rotating", "rotating (in grace period)"
    ROTATED = "rotated", "rotated"
    EXPIRED = "expired", "expired"
    REVOKED = "revoked", "revoked"


USABLE_STATES = frozenset({ApiKeyState.ACTIVE, ApiKeyState.ROTATING})


class ApiKey(models.Model):
    """A user's API key, or an OAuth grant. Only a digest of a key's secret is stored; the plaintext is shown once.

    Plaintext format: ``sk-stellar-<public_id><secret>``; the public id finds the row, the digest of the
    whole key (HMAC-SHA256 with a server-side pepper) proves the secret.
    """

    public_id = models.CharField(max_length=16, unique=True, editable=False)
    # An OAuth grant is a key without a usable secret: a user's consent to a client (its name is the
    # client's), used only through the access tokens the authorization server makes for it.
    kind = models.CharField(max_length=8, choices=ApiKeyKind.choices, default=ApiKeyKind.API_KEY, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    name = models.CharField(max_length=100)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    scope = models.CharField(max_length=10, choices=ApiKeyScope.choices, default=ApiKeyScope.READ_WRITE)
    # Explicit, so that a key whose listed tenants were all deleted is restricted to nothing rather than
    # widened to every tenant of its owner.
    restricted = models.BooleanField(
        "limited to listed tenants", default=False, editable=False,
        help_text="The key reaches only the listed tenants (those its owner may access); none left: nothing.",
    )
    tenants = models.ManyToManyField(
        Tenant, blank=True, related_name="+", help_text="The tenants a restricted key is limited to."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_reason = models.CharField(max_length=500, blank=True, default="")
    rotated_from = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="rotated_to"
    )
    # Set when the key is rotated: it keeps working until then (the grace period), never after.
    grace_until = models.DateTimeField("rotation grace until", null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "revoked_at"], name="apikey_user_revoked")]

    def __str__(self) -> str:
        return f"{self.name} ({self.public_id})"

    def restriction_label(self) -> str:
        """What the key may reach, in words (uses prefetched tenants when there are)."""
        if not self.restricted:
            return "all of the owner's"
        names = sorted(t.cust_name for t in self.tenants.all())
        return ", ".join(names) if names else "none (its tenants were deleted)"

    def state_at(self, now: datetime) -> ApiKeyState:
        """Revoked beats rotated beats expired; a key in its rotation grace period is still usable."""
        if self.revoked_at is not None:
            return ApiKeyState.REVOKED
        if self.grace_until is not None and self.grace_until <= now:
            return ApiKeyState.ROTATED
        if self.expires_at is not None and self.expires_at <= now:
            return ApiKeyState.EXPIRED
        if self.grace_until is not None:
            return ApiKeyState.ROTATING
        return ApiKeyState.ACTIVE
