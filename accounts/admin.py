"""Admin for API keys and users' tenant access.

Keys are created, revoked and rotated through the services only. A new key's plaintext is rendered
once, in the response to the request that made it (never in a message, which would sit in the
session store); no page shows a digest. Keys are never deleted, so audit rows keep their key.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts.exceptions import ApiKeyError
from accounts.forms import AdminApiKeyCreateForm, RevokeForm, RotateForm
from accounts.models import ApiKey, ApiKeyState
from accounts.selectors import api_key_state_filter
from accounts.services import api_key_create, api_key_revoke, api_key_rotate
from accounts.usage import calls_in_last_day
from accounts.views import mcp_url
from tenants.models import TenantAccess

KEY_FIELDS = (
    "public_id",
    "name",
    "user",
    "scope",
    "tenant_restriction",
    "created_at",
    "expires_at",
    "last_used_at",
    "state",
    "grace_until",
    "revoked_at",
    "revoked_by",
    "revoked_reason",
    "rotated_from",
    "rotated_to_link",
)


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return ApiKeyState.choices

    def queryset(self, request, queryset):
        if self.value() in ApiKeyState.values:
            return queryset.filter(api_key_state_filter(ApiKeyState(self.value()), timezone.now()))
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("public_id", "kind", "name", "user", "scope", "tenant_restriction", "last_used_at", "calls_24h",
                    "state")
    list_filter = ("kind", "scope", StateFilter, ("user", admin.RelatedOnlyFieldListFilter))
    search_fields = ("public_id", "name", "user__username")
    list_select_related = ("user",)
    fields = KEY_FIELDS
    readonly_fields = tuple(f for f in KEY_FIELDS if f != "name")
    actions = ["revoke_keys", "rotate_keys"]
    ordering = ("-created_at",)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tenants")

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="tenants")
    def tenant_restriction(self, obj: ApiKey) -> str:
        return obj.restriction_label()

    @admin.display(description="state")
    def state(self, obj: ApiKey) -> str:
        return obj.state_at(timezone.now()).label

    @admin.display(description="rotated to")
    def rotated_to_link(self, obj: ApiKey) -> str:
        successor = ApiKey.objects.filter(rotated_from=obj).first()
        if successor is None:
            return "-"
        return format_html('<a href="{}">{}</a>', reverse("admin:accounts_apikey_change", args=[successor.pk]), successor)

    # --- create: the plaintext is shown on the response page, once ----------------------------

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = AdminApiKeyCreateForm(request.POST or None, issuer=request.user)
        if request.method == "POST" and form.is_valid():
            try:
                key, plaintext = api_key_create(
                    user=form.cleaned_data["user"], issued_by=request.user, **form.service_kwargs()
                )
            except ApiKeyError as exc:
                form.add_error(None, str(exc))
            else:
                self.log_addition(request, key, [{"added": {}}])
                return self._new_keys_page(request, "API key created", [(key, plaintext)])
        context = {
            **self.admin_site.each_context(request),
            "title": "Add API key",
            "opts": self.model._meta,
            "form": form,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/accounts/apikey/add_form.html", context)

    def _new_keys_page(self, request: HttpRequest, title: str, new_keys: list, errors: list[str] = ()) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "new_keys": new_keys,
            "errors": errors,
            "mcp_url": mcp_url(request),
        }
        return TemplateResponse(request, "admin/accounts/apikey/key_created.html", context)

    @admin.display(description="calls (24 h)")
    def calls_24h(self, obj: ApiKey) -> int:
        # One lookup on the Activity Log's (key, time) index per listed key.
        return calls_in_last_day([obj.public_id]).get(obj.public_id, 0)

    # --- actions -------------------------------------------------------------------------------

    def _confirmation_page(self, request, queryset, *, template, title, action, form) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "keys": queryset,
            "form": form,
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, template, context)

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> HttpResponse | None:
        form = RevokeForm(request.POST if "confirm" in request.POST else None)
        if form.is_valid():
            done, refused = [], []
            for key in queryset:
                try:
                    api_key_revoke(key=key, by=request.user, reason=form.cleaned_data["reason"])
                except ApiKeyError as exc:
                    refused.append(str(exc))
                else:
                    done.append(key.public_id)
                    self.log_change(request, key, f"Revoked: {form.cleaned_data['reason']}")
            if done:
                self.message_user(request, f"Revoked {len(done)} API key(s): {', '.join(done)}.", messages.SUCCESS)
            for text in refused:
                self.message_user(request, text, messages.WARNING)
            return None
        return self._confirmation_page(
            request,
            queryset,
            template="admin/accounts/apikey/revoke_confirmation.html",
            title="Revoke API keys",
            action="revoke_keys",
            form=form,
        )

    @admin.action(description="Rotate selected API keys", permissions=["change"])
    def rotate_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> HttpResponse | None:
        form = RotateForm(request.POST if "confirm" in request.POST else None)
        if form.is_valid():
            new_keys, refused = [], []
            for key in queryset:
                try:
                    new, plaintext = api_key_rotate(
                        key=key, grace_minutes=form.cleaned_data["grace_minutes"], by=request.user
                    )
                except ApiKeyError as exc:
                    refused.append(str(exc))
                else:
                    new_keys.append((new, plaintext))
                    self.log_change(request, key, f"Rotated to {new.public_id}")
                    self.log_addition(request, new, [{"added": {}}])
            return self._new_keys_page(request, "API keys rotated", new_keys, refused)
        return self._confirmation_page(
            request,
            queryset,
            template="admin/accounts/apikey/rotate_confirmation.html",
            title="Rotate API keys",
            action="rotate_keys",
            form=form,
        )


class TenantAccessInline(admin.StackedInline):
    model = TenantAccess
    can_delete = True
    max_num = 1
    filter_horizontal = ("tenants",)
    verbose_name_plural = "tenant access"


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    fk_name = "user"
    fields = ("public_id", "name", "scope", "created_at", "expires_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = "API keys"

    def has_add_permission(self, request, obj=None):
        return False


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    inlines = [*DjangoUserAdmin.inlines, TenantAccessInline, ApiKeyInline]


@admin.register(TenantAccess)
class TenantAccessAdmin(admin.ModelAdmin):
    list_display = ("user", "all_tenants", "tenant_count")
    list_filter = ("all_tenants",)
    search_fields = ("user__username",)
    filter_horizontal = ("tenants",)
    list_select_related = ("user",)

    @admin.display(description="tenants")
    def tenant_count(self, obj: TenantAccess) -> str:
        return "all" if obj.all_tenants else str(obj.tenants.count())
