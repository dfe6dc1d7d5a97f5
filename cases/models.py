"""The embedded Stellar Cyber data store: tenants, cases, alerts and what hangs off a case.

Field names follow the Stellar Cyber Public API (`cust_id`, `ticket_id`, `score`, ...). Public ids
(`_id` of a case, `_id`/`_index`/`stellar_uuid` of an alert) are separate from the integer primary
keys, which keep joins and keyset pagination cheap.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

# Tenant lives in the tenants app; new_hex32 stays importable here for migration cases.0001.
from tenants.models import Tenant, new_hex32  # noqa: F401

from .fields import DocumentField

HEX24 = RegexValidator(r"^[0-9a-f]{24}$", "Must be 24 lowercase hex characters.")


def new_hex24() -> str:
    return secrets.token_hex(12)


class CaseStatus(models.TextChoices):
    NEW = "New"
    IN_PROGRESS = "In Progress"
    ESCALATED = "Escalated"
    RESOLVED = "Resolved"
    CANCELLED = "Cancelled"


OPEN_STATUSES = (CaseStatus.NEW, CaseStatus.IN_PROGRESS, CaseStatus.ESCALATED)


class Severity(models.TextChoices):
    CRITICAL = "Critical"
    HIGH = "High"
    MEDIUM = "Medium"
    LOW = "Low"


# Sorting by severity means Critical > High > Medium > Low, not alphabetical.
SEVERITY_RANK = {Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3, Severity.CRITICAL: 4}


class Resolution(models.TextChoices):
    FALSE_POSITIVE = "False Positive"
    BENIGN = "Benign"
    TRUE_POSITIVE = "True Positive"


class ObservableType(models.TextChoices):
    IP = "ip"
    HOST = "host"
    USER = "user"
    DOMAIN = "domain"
    URL = "url"
    HASH = "hash"
    EMAIL = "email"
    PROCESS = "process"
    FILE = "file"


# The columns listCases filters and sorts by, besides the tenant and the creation time (see Case.Meta).
_LISTED_COLUMNS = ["status", "severity", "severity_rank", "score", "ticket_id", "modified_at", "assignee"]


class Case(models.Model):
    # On SQLite, triggers on this table feed the search index (migrations 0004 and 0007). A migration that
    # makes Django rebuild the table there (most column changes do) drops them: it must run
    # cases.migrations.0007's create_triggers again; tests/test_case_search_index.py checks they exist.
    stellar_id = models.CharField("_id", max_length=24, unique=True, default=new_hex24, validators=[HEX24])
    ticket_id = models.PositiveIntegerField(unique=True)
    # No index of its own (nor on assignee, nor on the case of the child rows below): a composite index
    # leads with the column and serves its lookups, and each extra index is written on every change and
    # built again after each bulk load.
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="cases", db_index=False)
    name = models.CharField(max_length=500)
    status = models.CharField(max_length=20, choices=CaseStatus.choices, default=CaseStatus.NEW)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.MEDIUM)
    severity_rank = models.PositiveSmallIntegerField(editable=False, default=2)
    score = models.FloatField(default=0, validators=[MinValueValidator(0), MaxValueValidator(100)])
    size = models.PositiveIntegerField(default=0, help_text="Number of alerts in the case.")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_cases",
        db_index=False,
    )
    tags = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_name = models.CharField(max_length=150, default="System")
    modified_at = models.DateTimeField()
    modified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    modified_by_name = models.CharField(max_length=150, default="System")
    acknowledged = models.DateTimeField(null=True, blank=True)
    closed = models.DateTimeField(null=True, blank=True)
    start_timestamp = models.DateTimeField(null=True, blank=True)
    end_timestamp = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    resolution = models.CharField(max_length=20, choices=Resolution.choices, blank=True, default="")
    resolution_note = models.TextField(blank=True, default="")
    summary = models.TextField(blank=True, default="")
    ai_summary = models.JSONField(
        null=True,
        blank=True,
        help_text="Structured AI summary: timeline, hypothesis (MITRE ATT&CK), key entities and relations, "
        "recommendations, concise summary, verdict, triage state.",
    )
    # Lower-cased name, tags, assignee, ticket id and summary: what `listCases.search` matches.
    search_text = models.TextField(blank=True, default="", editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Keyset pages of the default sort (created_at) within a tenant and across all tenants. Every
            # listCases call has a created_at range (24 hours by default), so these also carry the columns
            # that listCases filters and sorts by: a page sorted by severity or score within the range is
            # chosen from the index alone, before its 20 rows are read (case_sql.select_cases).
            models.Index(fields=["tenant", "created_at", "id", *_LISTED_COLUMNS], name="case_tenant_created"),
            models.Index(fields=["created_at", "id", "tenant", *_LISTED_COLUMNS], name="case_created"),
            models.Index(fields=["tenant", "modified_at", "id"], name="case_tenant_modified"),
            models.Index(fields=["modified_at", "id"], name="case_modified"),
            # Triage filters (status, severity, min_score in a time range) counted from the index alone, and
            # getTenantDetail's open counts. Across tenants SQLite skips through its few tenant values,
            # which it does only with planner statistics (cases/planner_statistics.py).
            models.Index(fields=["tenant", "status", "severity", "created_at", "score"], name="case_triage"),
            # An assignee's cases ("assigned to me") in a time range, and by status, from the index alone.
            models.Index(fields=["assignee", "created_at", "status"], name="case_assignee"),
            models.Index(fields=["score", "id"], name="case_score"),
            # Pages sorted by severity, across tenants and within one, without sorting every case.
            models.Index(fields=["severity_rank", "id"], name="case_severity"),
            models.Index(fields=["tenant", "severity_rank", "id"], name="case_tenant_severity"),
            # `search` and `name` on PostgreSQL: the trigram GIN indexes of migration 0002 (none on SQLite).
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(score__gte=0) & models.Q(score__lte=100), name="case_score_0_100"),
            models.CheckConstraint(
                condition=models.Q(status__in=CaseStatus.values), name="case_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(severity__in=Severity.values), name="case_severity_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(resolution__in=[*Resolution.values, ""]), name="case_resolution_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id} {self.name}"

    def refresh_derived_fields(self) -> None:
        """Recompute the denormalised columns; call before every save."""
        self.severity_rank = SEVERITY_RANK.get(self.severity, 0)
        assignee = self.assignee.username if self.assignee_id and self.assignee else ""
        self.search_text = build_search_text(self.ticket_id, self.name, self.tags, assignee, self.summary)

    def save(self, *args, **kwargs) -> None:
        self.refresh_derived_fields()
        super().save(*args, **kwargs)


def build_search_text(ticket_id: int, name: str, tags: list[str], assignee: str, summary: str) -> str:
    return " ".join([str(ticket_id), name, " ".join(tags), assignee, summary[:2000]]).lower()


class CaseTag(models.Model):
    """One row per tag of a case, so "has any of these tags" is an indexed lookup on every database."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="tag_rows", db_index=False)
    tag = models.CharField(max_length=100)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "tag"], name="casetag_unique")]
        indexes = [models.Index(fields=["tag", "case"], name="casetag_tag")]


class Alert(models.Model):
    es_id = models.CharField("_id", max_length=40, db_index=True)
    index = models.CharField("_index", max_length=120)
    stellar_uuid = models.CharField(max_length=64, unique=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="alerts")
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts", db_index=False)
    timestamp = models.DateTimeField()
    source = DocumentField("_source", help_text="The complete Elasticsearch document.")
    # Denormalised from `source` for listing without parsing JSON.
    name = models.CharField(max_length=300, blank=True, default="")
    tactic_id = models.CharField(max_length=20, blank=True, default="")
    tactic_name = models.CharField(max_length=100, blank=True, default="")
    technique_id = models.CharField(max_length=20, blank=True, default="")
    technique_name = models.CharField(max_length=200, blank=True, default="")
    severity = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(100)])
    event_score = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(100)])
    event_status = models.CharField(max_length=20, default="New")
    srcip = models.CharField(max_length=45, blank=True, default="")
    dstip = models.CharField(max_length=45, blank=True, default="")
    ai_summary = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-timestamp", "-id"]
        indexes = [models.Index(fields=["case", "timestamp", "id"], name="alert_case_time")]

    def __str__(self) -> str:
        return f"{self.name or self.es_id} ({self.stellar_uuid})"


class Observable(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="observables", db_index=False)
    type = models.CharField(max_length=10, choices=ObservableType.choices)
    value = models.CharField(max_length=500)
    count = models.PositiveIntegerField(default=1)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        ordering = ["type", "-count", "id"]
        indexes = [models.Index(fields=["case", "type"], name="observable_case_type")]

    def __str__(self) -> str:
        return f"{self.type}:{self.value}"


class Comment(models.Model):
    stellar_id = models.CharField("_id", max_length=24, unique=True, default=new_hex24)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="comments", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    user_name = models.CharField(max_length=150)
    comment = models.TextField()
    created_at = models.DateTimeField()
    modified_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["case", "created_at", "id"], name="comment_case_time")]


class Activity(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="activities", db_index=False)
    field = models.CharField(max_length=50)
    from_value = models.TextField("from", blank=True, default="")
    to_value = models.TextField("to", blank=True, default="")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    user_name = models.CharField(max_length=150)
    timestamp = models.DateTimeField()

    class Meta:
        ordering = ["-timestamp", "-id"]
        verbose_name_plural = "activities"
        indexes = [models.Index(fields=["case", "timestamp", "id"], name="activity_case_time")]


class ScoreHistory(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="score_history", db_index=False)
    score = models.FloatField(validators=[MinValueValidator(0), MaxValueValidator(100)])
    timestamp = models.DateTimeField()
    reasons = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-timestamp", "-id"]
        verbose_name_plural = "score history"
        indexes = [models.Index(fields=["case", "timestamp", "id"], name="score_case_time")]
