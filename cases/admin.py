"""Admin for the embedded Stellar data: tenants, cases (with their comments, observables, activities and
score history inline) and alerts, kept fast on 100,000 cases and a million alerts.

Large tables never render a <select> of related rows (raw ids / autocomplete), never count the whole
table twice (`show_full_result_count = False`), and search with indexed exact matches where the term
looks like an id.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from tenants.models import Tenant

from .backend.serializers import user_display_name
from .models import Activity, Alert, Case, CaseTag, Comment, Observable, ScoreHistory

HEX24 = re.compile(r"^[0-9a-fA-F]{24}$")
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
ALERT_STATUSES = ("New", "In Progress", "Ignored", "Closed")


def changelist_link(model: type, text: str, **filters: Any) -> str:
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    return format_html('<a href="{}?{}">{}</a>', url, query, text)


def change_link(obj: Any) -> str:
    if obj is None:
        return "-"
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, obj)


class FastChangeList(admin.ModelAdmin):
    """Shared settings for the big tables."""

    show_full_result_count = False
    list_per_page = 50


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("cust_name", "cust_id", "tgrp_name", "created_at", "cases", "alerts")
    list_filter = ("tgrp_name",)
    search_fields = ("cust_name", "=cust_id", "tgrp_name")
    ordering = ("cust_name",)

    @admin.display(description="Cases")
    def cases(self, obj: Tenant) -> str:
        return changelist_link(Case, "cases", tenant__id__exact=obj.pk)

    @admin.display(description="Alerts")
    def alerts(self, obj: Tenant) -> str:
        return changelist_link(Alert, "alerts", tenant__id__exact=obj.pk)


class CommentInline(admin.TabularInline):
    model = Comment
    extra = 0
    fields = ("created_at", "user_name", "comment")
    readonly_fields = ("created_at", "user_name")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ObservableInline(admin.TabularInline):
    model = Observable
    extra = 0
    fields = ("type", "value", "count", "first_seen", "last_seen")


class ReadOnlyInline(admin.TabularInline):
    """History is written by the system, never edited by hand."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ActivityInline(ReadOnlyInline):
    model = Activity
    fields = ("timestamp", "field", "from_value", "to_value", "user_name")


class ScoreHistoryInline(ReadOnlyInline):
    model = ScoreHistory
    fields = ("timestamp", "score", "reasons")


TRACKED_FIELDS = ("status", "severity", "assignee", "resolution", "tags")


@admin.register(Case)
class CaseAdmin(FastChangeList):
    list_display = ("ticket_id", "name", "tenant", "status", "severity", "score", "size", "assignee", "created_at")
    list_display_links = ("ticket_id", "name")
    list_filter = ("status", "severity", "tenant", "resolution", ("created_at", admin.DateFieldListFilter))
    search_fields = ("=ticket_id", "=stellar_id", "name")
    search_help_text = "A ticket id, a case _id (24 hex) or part of the case name."
    list_select_related = ("tenant", "assignee")
    autocomplete_fields = ("tenant",)
    raw_id_fields = ("assignee", "created_by", "modified_by")
    readonly_fields = ("stellar_id", "alerts_link", "version", "created_at", "modified_at", "modified_by_name")
    inlines = (CommentInline, ObservableInline, ActivityInline, ScoreHistoryInline)
    fieldsets = (
        (None, {"fields": ("stellar_id", "ticket_id", "tenant", "name", "alerts_link")}),
        ("Triage", {"fields": ("status", "severity", "score", "assignee", "tags", "resolution", "resolution_note")}),
        ("Content", {"fields": ("summary", "ai_summary")}),
        ("Timeline", {"fields": (
            "created_at", "created_by", "created_by_name", "modified_at", "modified_by", "modified_by_name",
            "acknowledged", "closed", "start_timestamp", "end_timestamp", "size", "version",
        )}),
    )

    @admin.display(description="Alerts")
    def alerts_link(self, obj: Case) -> str:
        if obj.pk is None:
            return "-"
        return changelist_link(Alert, f"View the {obj.size} alerts of this case", case__id__exact=obj.pk)

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        if term.isdigit():
            return queryset.filter(ticket_id=int(term)), False
        if HEX24.match(term):
            return queryset.filter(stellar_id=term.lower()), False
        return queryset.filter(name__icontains=term) if term else queryset, False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # Creation needs a creation time; afterwards it is history.
        return tuple(f for f in self.readonly_fields if obj is not None or f != "created_at")

    def save_model(self, request: HttpRequest, obj: Case, form: Any, change: bool) -> None:
        """An edit here is an update like any other: version, modified by/at, activities, tag rows."""
        now = timezone.now()
        user = request.user
        user_name = user_display_name(user)
        obj.tags = list(dict.fromkeys(str(t) for t in (obj.tags or [])))
        activities = []
        if change:
            before = Case.objects.select_related("assignee").get(pk=obj.pk)
            for field in TRACKED_FIELDS:
                old, new = getattr(before, field), getattr(obj, field)
                if old == new:
                    continue
                if field == "assignee":
                    old, new = (old.username if old else ""), (new.username if new else "")
                elif field == "tags":
                    old, new = ", ".join(old), ", ".join(new)
                activities.append(Activity(field=field, from_value=old, to_value=new, user=user, user_name=user_name,
                                           timestamp=now))
            if form.has_changed():
                obj.version = before.version + 1
        else:
            obj.created_by, obj.created_by_name = user, user_name
        obj.modified_at, obj.modified_by, obj.modified_by_name = now, user, user_name
        super().save_model(request, obj, form, change)
        for activity in activities:
            activity.case = obj
        Activity.objects.bulk_create(activities)
        CaseTag.objects.filter(case=obj).exclude(tag__in=obj.tags).delete()
        CaseTag.objects.bulk_create([CaseTag(case=obj, tag=t) for t in obj.tags], ignore_conflicts=True)


class AlertStatusFilter(admin.SimpleListFilter):
    """Fixed choices: a DISTINCT over a million alerts just to draw the sidebar would be slow."""

    title = "event status"
    parameter_name = "event_status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(s, s) for s in ALERT_STATUSES]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(event_status=self.value()) if self.value() else queryset


class TacticFilter(admin.SimpleListFilter):
    title = "MITRE tactic"
    parameter_name = "tactic_id"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        from .demo_data.mitre import TACTICS

        return [(tid, f"{tid} {name}") for tid, name in TACTICS.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(tactic_id=self.value()) if self.value() else queryset


@admin.register(Alert)
class AlertAdmin(FastChangeList):
    list_display = ("es_id", "stellar_uuid", "name", "tenant", "case_link", "severity", "event_score", "timestamp")
    list_filter = (AlertStatusFilter, "tenant", TacticFilter)
    search_fields = ("=stellar_uuid", "=es_id", "name")
    search_help_text = "A stellar_uuid, an alert _id or part of the alert name."
    list_select_related = ("tenant", "case")
    autocomplete_fields = ("tenant",)
    raw_id_fields = ("case",)
    # Newest first by primary key: the insertion order, served by the table itself without a sort.
    ordering = ("-id",)

    @admin.display(description="Case", ordering="case")
    def case_link(self, obj: Alert) -> str:
        return change_link(obj.case)

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        if UUID.match(term):
            return queryset.filter(stellar_uuid=term.lower()), False
        if re.fullmatch(r"[A-Za-z0-9_-]{20}", term):
            by_id = queryset.filter(es_id=term)
            if by_id.exists():
                return by_id, False
        return queryset.filter(name__icontains=term) if term else queryset, False


class CaseChildAdmin(FastChangeList):
    raw_id_fields = ("case",)
    list_select_related = ("case",)


@admin.register(Observable)
class ObservableAdmin(CaseChildAdmin):
    list_display = ("type", "value", "case", "count", "first_seen", "last_seen")
    list_filter = ("type",)
    search_fields = ("=value",)
    ordering = ("-id",)


@admin.register(Comment)
class CommentAdmin(CaseChildAdmin):
    list_display = ("created_at", "user_name", "case", "comment")
    raw_id_fields = ("case", "user")
    search_fields = ("comment",)
    ordering = ("-id",)


class ReadOnlyAdmin(CaseChildAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdmin):
    list_display = ("timestamp", "case", "field", "from_value", "to_value", "user_name")
    ordering = ("-id",)


@admin.register(ScoreHistory)
class ScoreHistoryAdmin(ReadOnlyAdmin):
    list_display = ("timestamp", "case", "score")
    ordering = ("-id",)
