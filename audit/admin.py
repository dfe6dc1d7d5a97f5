"""The operator's Activity Log: a read-only list of Public API access, its export and a dashboard.

Rows are evidence, so nobody edits or deletes them here (retention is `prune_public_api_access`).
Filters take their choices from small tables or constants, never from a DISTINCT over the log.
"""

from __future__ import annotations

import json

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    StreamingHttpResponse,
)
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst

from accounts.models import ApiKey
from tenants.models import Tenant

from .charts import Series, horizontal_bar_chart, stacked_bar_chart
from .export import CONTENT_TYPES, FORMATS, export_lines
from .models import ACTIVITY_PUBLIC_API_ACCESS, Outcome, PublicApiAccess
from .paginator import EstimatedCountPaginator
from .search import search, whole_entry
from .rollups import REFUSED
from .selectors import MEDIAN_SAMPLE, activity_dashboard

# The tools of the product documentation ("Supported API Calls") and addCaseComment; a name a client
# made up is still findable with the search box.
DOCUMENTED_TOOLS = (
    "get_access_token",
    "listCases",
    "getCaseDetail",
    "getCaseAlerts",
    "updateCase",
    "addCaseComment",
    "getAlertDetail",
    "listTenant",
    "getTenantDetail",
)
# The dashboard's periods: ?period= -> (days, words).
DASHBOARD_PERIODS = {"24h": (1, "24 hours"), "7d": (7, "7 days"), "30d": (30, "30 days")}
NO_USER = "(none)"  # parentheses cannot appear in a Django username
OUTCOME_COLORS = {
    Outcome.SUCCESS: "#2e7d32",
    Outcome.TOOL_ERROR: "#f9a825",
    Outcome.DENIED: "#c62828",
    Outcome.UNAUTHENTICATED: "#6a1b9a",
    Outcome.CONFLICT: "#1565c0",
    Outcome.SERVER_ERROR: "#4e342e",
    Outcome.RATE_LIMITED: "#757575",
}


class UserFilter(admin.SimpleListFilter):
    title = "user"
    parameter_name = "username"

    def lookups(self, request, model_admin):
        # Only a key's owner can appear in the log; the key table is small, the log is not.
        names = ApiKey.objects.order_by("user__username").values_list("user__username", flat=True).distinct()
        return [(NO_USER, "(no user)"), *((name, name) for name in names)]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        return queryset.filter(username="" if value == NO_USER else value)


class ActivityTypeFilter(admin.SimpleListFilter):
    title = "activity type"
    parameter_name = "activity_type"

    def lookups(self, request, model_admin):
        return [(ACTIVITY_PUBLIC_API_ACCESS, ACTIVITY_PUBLIC_API_ACCESS)]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset if value is None else queryset.filter(activity_type=value)


class ToolFilter(admin.SimpleListFilter):
    title = "tool"
    parameter_name = "tool"

    def lookups(self, request, model_admin):
        return [(tool, tool) for tool in DOCUMENTED_TOOLS]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset if value is None else queryset.filter(tool=value)


class TenantFilter(admin.SimpleListFilter):
    title = "tenant"
    parameter_name = "tenant"

    def lookups(self, request, model_admin):
        return list(Tenant.objects.order_by("cust_name").values_list("cust_id", "cust_name"))

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        # tenant_ids is a comma-separated list: match whole entries only.
        return queryset.filter(whole_entry("tenant_ids", value))


def _json_block(value) -> str:
    if value in (None, {}, []):
        return "-"
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True))


def _streaming_export(queryset: QuerySet, fmt: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(export_lines(queryset, fmt), content_type=CONTENT_TYPES[fmt])
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="activity-log-{stamp}.{fmt}"'
    return response


@admin.register(PublicApiAccess)
class PublicApiAccessAdmin(admin.ModelAdmin):
    list_display = (
        "timestamp",
        "username",
        "key_public_id",
        "key_name",
        "source",
        "endpoint",
        "tool",
        "outcome",
        "http_status",
        "duration_ms",
        "client_ip",
    )
    list_filter = (UserFilter, ActivityTypeFilter, "source", ToolFilter, "outcome", TenantFilter)
    date_hierarchy = "timestamp"
    search_fields = ("username",)  # shows the box; get_search_results decides what it matches
    search_help_text = "An exact username, key id, request id, tool or case _id."
    show_full_result_count = False
    # Facet counts would be one COUNT per filter choice over the whole log.
    show_facets = admin.ShowFacets.NEVER
    paginator = EstimatedCountPaginator
    list_per_page = 100
    actions = ("export_csv", "export_jsonl")
    fieldsets = (
        (None, {"fields": ("timestamp", "activity_type", "source", "endpoint", "tool", "outcome", "http_status")}),
        ("Who", {"fields": ("user", "username", "api_key", "key_public_id", "key_name", "client_ip", "user_agent")}),
        ("What", {"fields": ("arguments_display", "changes_display", "tenant_ids", "case_links", "alert_ids", "error")}),
        ("Request", {"fields": ("duration_ms", "response_bytes", "protocol_version", "request_id")}),
    )
    readonly_fields = tuple(f.name for f in PublicApiAccess._meta.fields) + ("arguments_display", "changes_display",
                                                                           "case_links")

    @admin.display(description="cases")
    def case_links(self, obj: PublicApiAccess) -> str:
        """Each case the call touched, linked to the case in the console (found by its _id)."""
        ids = [i for i in (obj.case_ids or "").split(",") if i]
        if not ids:
            return "-"
        changelist = reverse("admin:cases_case_changelist")
        return format_html_join(", ", '<a href="{}?q={}">{}</a>', ((changelist, i, i) for i in ids))

    @admin.display(description="arguments")
    def arguments_display(self, obj: PublicApiAccess) -> str:
        return _json_block(obj.arguments)

    @admin.display(description="changes")
    def changes_display(self, obj: PublicApiAccess) -> str:
        return _json_block(obj.changes)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.action(description="Export selected as CSV", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet) -> StreamingHttpResponse:
        return _streaming_export(queryset, "csv")

    @admin.action(description="Export selected as JSON Lines", permissions=["view"])
    def export_jsonl(self, request: HttpRequest, queryset: QuerySet) -> StreamingHttpResponse:
        return _streaming_export(queryset, "jsonl")

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("dashboard/", self.admin_site.admin_view(self.dashboard_view), name="%s_%s_dashboard" % info),
            path("export/<str:fmt>/", self.admin_site.admin_view(self.export_view), name="%s_%s_export" % info),
            *super().get_urls(),
        ]

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        return search(queryset, search_term), False

    def changelist_view(self, request: HttpRequest, extra_context=None):
        params = request.GET.copy()
        params.pop("p", None)
        extra_context = {**(extra_context or {}), "export_query": f"?{params.urlencode()}" if params else ""}
        return super().changelist_view(request, extra_context)

    def export_view(self, request: HttpRequest, fmt: str) -> HttpResponse:
        """The list's current selection (filters, search, date) as a file."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        if fmt not in FORMATS:
            return HttpResponseBadRequest("Unknown export format.")
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseBadRequest("Invalid filter parameters.")
        return _streaming_export(changelist.queryset, fmt)

    def dashboard_view(self, request: HttpRequest) -> TemplateResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        period = request.GET.get("period") if request.GET.get("period") in DASHBOARD_PERIODS else "7d"
        days, period_label = DASHBOARD_PERIODS[period]
        data = activity_dashboard(days=days)
        if days == 1:
            ticks = [(i, f"{h:%H:00}") for i, h in enumerate(data.hours) if h.hour % 3 == 0]
        else:
            every = 1 if days <= 7 else 5
            ticks = [(i, f"{h:%a %d}") for i, h in enumerate(data.hours) if h.hour == 0 and h.toordinal() % every == 0]
        outcomes = [o for o in Outcome if data.totals.get(o.value)] or [Outcome.SUCCESS]
        calls_chart = stacked_bar_chart(
            [f"{h:%Y-%m-%d %H:00}" for h in data.hours],
            [Series(capfirst(o.label), OUTCOME_COLORS[o], data.hourly[o.value]) for o in outcomes],
            ticks=ticks,
            label="Calls per hour by outcome",
        )
        refused_chart = stacked_bar_chart(
            [f"{h:%Y-%m-%d %H:00}" for h in data.hours],
            [Series(capfirst(o.label), OUTCOME_COLORS[o], data.hourly[o.value]) for o in REFUSED],
            ticks=ticks,
            height=160,
            label="Denied and unauthenticated attempts per hour",
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Activity dashboard",
            "subtitle": f"Last {period_label}, since {data.since:%Y-%m-%d %H:00} {timezone.get_current_timezone_name()}",
            "periods": [(key, label, key == period) for key, (_, label) in DASHBOARD_PERIODS.items()],
            "data": data,
            "outcome_totals": [(capfirst(o.label), data.totals.get(o.value, 0)) for o in Outcome],
            "median_sample": MEDIAN_SAMPLE,
            "refused_total": sum(data.totals.get(o.value, 0) for o in REFUSED),
            "calls_chart": calls_chart,
            "refused_chart": refused_chart,
            "keys_chart": horizontal_bar_chart(
                [(f"{k['key_public_id']} ({k['username'] or '-'})", k["calls"]) for k in data.top_keys], label="Top keys"
            ),
            "users_chart": horizontal_bar_chart([(u["username"], u["calls"]) for u in data.top_users], label="Top users"),
            "tools_chart": horizontal_bar_chart([(t["tool"], t["calls"]) for t in data.tools], label="Calls per tool"),
            "tools_median_chart": horizontal_bar_chart(
                [(t["tool"], t["median_ms"]) for t in data.tools], color="#8d6e63", unit=" ms", label="Median duration"
            ),
            "ips_chart": horizontal_bar_chart(
                [(r["client_ip"] or "unknown", r["attempts"]) for r in data.refused_top_ips],
                color=OUTCOME_COLORS[Outcome.DENIED],
                label="Top client IPs of refused attempts",
            ),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/audit/publicapiaccess/dashboard.html", context)
