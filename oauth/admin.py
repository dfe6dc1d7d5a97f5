from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from .clients import forget
from .models import OAuthClient


@admin.register(OAuthClient)
class OAuthClientAdmin(admin.ModelAdmin):
    """The apps that asked users to sign in. Read-only; deleting one disconnects every user's grant to it
    (each grant is listed under API keys, kind oauth, where it can be revoked alone)."""

    list_display = ("name", "client_id", "registration", "grant_count", "created_at")
    list_filter = ("registration",)
    search_fields = ("name", "client_id")
    readonly_fields = ("name", "client_id", "registration", "redirect_uris", "created_at", "fetched_at")
    actions = ["delete_clients"]

    @admin.display(description="grants")
    def grant_count(self, obj: OAuthClient) -> int:
        return obj.grants.count()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # would delete rows without disconnecting their grants
        return actions

    def delete_model(self, request: HttpRequest, obj: OAuthClient) -> None:
        with transaction.atomic():
            forget(obj, by=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[OAuthClient]) -> None:
        for client in queryset:
            self.delete_model(request, client)

    @admin.action(description="Delete selected apps and disconnect their users", permissions=["delete"])
    def delete_clients(self, request: HttpRequest, queryset: QuerySet[OAuthClient]) -> None:
        names = [client.name for client in queryset]
        self.delete_queryset(request, queryset)
        self.message_user(request, f"Deleted {len(names)} app(s) and disconnected their users: {', '.join(names)}.",
                          messages.SUCCESS)
