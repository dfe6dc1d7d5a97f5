"""Public API access records: one row per tool call (MCP) or API call (REST), whatever its outcome."""

from __future__ import annotations

from django.conf import settings
from django.db import models

ACTIVITY_PUBLIC_API_ACCESS = "Public API access"


class Source(models.TextChoices):
    MCP = "MCP"
    REST = "REST"


class Outcome(models.TextChoices):
    SUCCESS = "success"
    TOOL_ERROR = "tool_error", "tool error"
    DENIED = "denied"
    UNAUTHENTICATED = "unauthenticated"
    CONFLICT = "conflict"
    SERVER_ERROR = "server_error", "server error"
    RATE_LIMITED = "rate_limited", "rate limited"


class PublicApiAccess(models.Model):
    """Append-only: rows are inserted by the recorder and never updated or deleted but by retention."""

    timestamp = models.DateTimeField(db_index=True)
    # The user and key are kept by id, without a database constraint and untouched when they are
    # deleted: the log may live in a database of its own (see stellar_mcp_site/db_router.py), and an
    # audit row keeps saying who made the call (username and key id are stored as text as well).
    # Not indexed: every reader (admin filters and search, rate limits) goes by those text snapshots, and
    # each index is one more page written by the INSERT every call makes.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False,
        db_index=False, related_name="+",
    )
    username = models.CharField(max_length=150, blank=True, default="")
    api_key = models.ForeignKey(
        "accounts.ApiKey", null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False,
        db_index=False, related_name="+",
    )
    key_public_id = models.CharField("key id", max_length=16, blank=True, default="")
    # The key's name when the call was made; for an OAuth grant, the name of the app the user signed in to.
    key_name = models.CharField("key or app", max_length=100, blank=True, default="")
    activity_type = models.CharField(max_length=40, default=ACTIVITY_PUBLIC_API_ACCESS)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.MCP)
    endpoint = models.CharField(max_length=120, blank=True, default="")
    tool = models.CharField(max_length=64, blank=True, default="")
    arguments = models.JSONField(default=dict, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    error = models.TextField(blank=True, default="")
    tenant_ids = models.CharField(max_length=500, blank=True, default="", help_text="Comma-separated cust_ids.")
    case_ids = models.CharField(max_length=500, blank=True, default="")
    alert_ids = models.CharField(max_length=500, blank=True, default="")
    changes = models.JSONField(null=True, blank=True, help_text="updateCase change set: field, from, to.")
    http_status = models.PositiveSmallIntegerField(default=200)
    response_bytes = models.PositiveIntegerField("response size (bytes)", default=0,
                                                 help_text="A tool's result JSON, or a REST answer's body.")
    duration_ms = models.FloatField(default=0)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True, default="")
    protocol_version = models.CharField(max_length=20, blank=True, default="")
    request_id = models.CharField(max_length=40, blank=True, default="", db_index=True)

    class Meta:
        verbose_name = "Public API access"
        verbose_name_plural = "Activity Log"
        ordering = ["-timestamp", "-id"]
        indexes = [
            models.Index(fields=["username", "timestamp"], name="paa_username_time"),
            # Also the per-key budgets' counter (audit/budgets.py): with outcome and endpoint in the index,
            # that check reads index entries only, never the rows.
            models.Index(fields=["key_public_id", "timestamp", "outcome", "endpoint"], name="paa_key_time_outcome_endpoint"),
            models.Index(fields=["outcome", "timestamp"], name="paa_outcome_time"),
            models.Index(fields=["tool", "timestamp"], name="paa_tool_time"),
            # None on source or activity_type: with two values and one, the timestamp index serves
            # their filters as well, and every index is one more write on each audited call.
        ]

    def __str__(self) -> str:
        return f"{self.timestamp:%Y-%m-%d %H:%M:%S} {self.username or '-'} {self.endpoint} {self.outcome}"


class ActivityHour(models.Model):
    """The dashboard's figures for one hour of the Activity Log, or one day, rolled up once it is over
    (audit/rollups.py): calls by outcome, by key, by user, by tool, and refused calls by client address.

    The dashboard then reads these instead of every call, which keeps its 30-day view fast on a log of
    millions. Retention deletes them with the rows they sum."""

    hour = models.DateTimeField(help_text="The start of the hour, or of the day (local midnight).")
    hours = models.PositiveSmallIntegerField(default=1, help_text="1: an hour; 24: a day.")
    # "total" (every rolled-up hour has one, even without calls), "outcome", "key", "user", "tool", "refused_ip"
    kind = models.CharField(max_length=12)
    value = models.CharField(max_length=150, blank=True, default="")
    label = models.CharField(max_length=150, blank=True, default="")  # a key's username
    calls = models.PositiveIntegerField()
    last = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "Activity Log hour"
        constraints = [
            # Every reader asks for some kinds of figure over a range of hours or of days.
            models.UniqueConstraint(fields=["hours", "kind", "hour", "value", "label"], name="activityhour_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H:00} {self.kind} {self.value} {self.calls}"
