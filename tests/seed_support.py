"""What the `seed_demo` tests share: a fixed moment, a small data set, and a snapshot of what a seed determines."""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib.auth import get_user_model

from cases.models import Activity, Alert, Case, Comment, Observable, ScoreHistory
from tenants.models import Tenant, TenantAccess

User = get_user_model()

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SMALL = dict(tenants=3, cases=60, alerts_per_case=4, days=30)


def timeless(ai_summary: dict | None) -> dict | None:
    """An AI summary without its times, which move with the moment of the run."""
    if ai_summary is None:
        return None
    timeline = [{k: v for k, v in item.items() if k != "time"} for item in ai_summary["timeline"]]
    return {**{k: v for k, v in ai_summary.items() if k != "generated_at"}, "timeline": timeline}


def snapshot() -> dict[str, list]:
    """Everything a seed determines but times, keyed by public ids (primary keys are the database's business)."""
    return {
        "tenants": list(Tenant.objects.order_by("cust_id").values_list("cust_id", "cust_name", "tgrp_name", "attributes")),
        "cases": [(*row[:-1], timeless(row[-1])) for row in Case.objects.order_by("ticket_id").values_list(
            "ticket_id", "stellar_id", "tenant__cust_id", "name", "status", "severity", "score", "size",
            "assignee__username", "tags", "resolution", "summary", "version", "ai_summary")],
        "alerts": list(Alert.objects.order_by("stellar_uuid").values_list(
            "stellar_uuid", "es_id", "case__ticket_id", "name", "technique_id", "severity", "event_score", "srcip",
            "dstip")),
        "comments": list(Comment.objects.order_by("stellar_id").values_list("stellar_id", "case__ticket_id", "comment")),
        "activities": sorted(Activity.objects.values_list("case__ticket_id", "field", "from_value", "to_value", "user_name")),
        "observables": sorted(Observable.objects.values_list("case__ticket_id", "type", "value", "count")),
        "scores": sorted(ScoreHistory.objects.values_list("case__ticket_id", "score")),
        "users": sorted(User.objects.values_list("username", "email", "first_name", "last_name", "is_superuser")),
    }


def times() -> dict[str, list]:
    return {
        "cases": list(Case.objects.order_by("ticket_id").values_list("created_at", "modified_at", "closed")),
        "alerts": list(Alert.objects.order_by("stellar_uuid").values_list("timestamp", flat=True)),
    }


def wipe() -> None:
    """Back to an empty database, as a fresh one would be."""
    for model in (Alert, Case, Tenant, TenantAccess):
        model.objects.all().delete()
    User.objects.all().delete()
