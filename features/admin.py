from django.contrib import admin

from .models import FeatureSettings


@admin.register(FeatureSettings)
class FeatureSettingsAdmin(admin.ModelAdmin):
    """The System Settings switches; one row, changed in place, never added twice or deleted."""

    list_display = ("__str__", "mcp_enabled", "ai_summary_enabled", "oauth_dcr_enabled", "oauth_cimd_enabled", "updated_at")
    readonly_fields = ("updated_at",)

    def has_add_permission(self, request) -> bool:
        return not FeatureSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        FeatureSettings.load()  # the row always exists, so the list always has something to click
        return super().changelist_view(request, extra_context)
