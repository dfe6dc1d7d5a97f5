"""The authorization server's records: the clients it knows, the codes it gave out, the refresh tokens of
each grant. A grant itself is an API key of kind oauth (accounts.ApiKey): the same principal, tenant
limits, budgets, revocation and audit as a pasted key. Codes and refresh tokens are kept as digests."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.models import ApiKey


class Registration(models.TextChoices):
    DCR = "dcr", "dynamic registration (RFC 7591)"
    CIMD = "cimd", "client metadata document"


class OAuthClient(models.Model):
    """An MCP client that may ask users to sign in. Public: it holds no secret (PKCE proves each code)."""

    # Ours for a registered client; for a metadata document's client, the document's HTTPS URL.
    client_id = models.CharField(max_length=1000, unique=True)
    name = models.CharField(max_length=200)
    redirect_uris = models.JSONField(default=list)
    registration = models.CharField(max_length=8, choices=Registration.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    fetched_at = models.DateTimeField(null=True, blank=True, help_text="When its metadata document was last read.")

    class Meta:
        verbose_name = "OAuth client"
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Grant(models.Model):
    """A user's consent to a client: its API key (kind oauth) holds the scope, tenants and state."""

    key = models.OneToOneField(ApiKey, on_delete=models.CASCADE, related_name="oauth_grant")
    client = models.ForeignKey(OAuthClient, on_delete=models.CASCADE, related_name="grants")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.client} for {self.key.user}"


class AuthorizationCode(models.Model):
    """What a user consented to, until the client exchanges the code (once, within OAUTH_CODE_SECONDS)."""

    digest = models.CharField(max_length=64, unique=True)
    client = models.ForeignKey(OAuthClient, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    redirect_uri = models.TextField()
    code_challenge = models.CharField(max_length=128)
    scope = models.CharField(max_length=10)  # accounts.ApiKeyScope
    tenant_ids = models.JSONField(null=True, blank=True)  # cust_ids the grant is limited to; null: the user's
    resource = models.TextField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    # The grant the code was exchanged for: revoked when the code is presented again (a stolen code).
    grant = models.ForeignKey(Grant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")


class RefreshToken(models.Model):
    """One refresh token of a grant. Each is used once: using it gives the next; using it again is a
    theft, and disconnects the grant."""

    digest = models.CharField(max_length=64, unique=True)
    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="refresh_tokens")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
