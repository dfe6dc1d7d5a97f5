"""Feature settings: the operator's switches for the MCP server, AI summaries and how OAuth clients may register."""

from __future__ import annotations

from django.db import models


class FeatureSettings(models.Model):
    """A singleton row (pk=1). Read on every request so a change applies at once on every worker."""

    mcp_enabled = models.BooleanField("MCP server enabled", default=True)
    ai_summary_enabled = models.BooleanField("AI summary enabled", default=True)
    oauth_dcr_enabled = models.BooleanField(
        "OAuth: dynamic client registration", default=True,
        help_text="MCP clients may register themselves (RFC 7591) to sign users in.",
    )
    oauth_cimd_enabled = models.BooleanField(
        "OAuth: client metadata documents", default=True,
        help_text="MCP clients may be known by the HTTPS URL of their metadata document.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # The table keeps the name it was created with, when the MCP gateway app held the switches.
        db_table = "mcp_gateway_featuresettings"
        verbose_name = "feature settings"
        verbose_name_plural = "feature settings"

    def save(self, *args, **kwargs) -> None:
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> "FeatureSettings":
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj

    def __str__(self) -> str:
        return "Feature settings"
