"""The profile page "Profile | API Keys": a user's own keys and the apps they signed in to (OAuth), created,
revoked and disconnected through the services."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.exceptions import ApiKeyError
from accounts.forms import ApiKeyCreateForm
from accounts.models import USABLE_STATES, ApiKeyKind
from accounts.selectors import api_key_get, api_key_list
from accounts.services import api_key_create, api_key_revoke
from accounts.usage import calls_in_last_day
from tenants.scope import tenant_scope_for_user


def mcp_url(request: HttpRequest) -> str:
    """The /mcp/ URL to print in connection hints: MCP_PUBLIC_URL when set, else this request's host."""
    if settings.MCP_PUBLIC_URL:
        return settings.MCP_PUBLIC_URL.rstrip("/") + "/mcp/"
    return request.build_absolute_uri("/mcp/")


@never_cache
@login_required
def api_keys(request: HttpRequest) -> HttpResponse:
    form = ApiKeyCreateForm(request.POST or None, owner=request.user)
    new_keys = []
    if request.method == "POST" and form.is_valid():
        try:
            key, plaintext = api_key_create(user=request.user, issued_by=request.user, **form.service_kwargs())
        except ApiKeyError as exc:
            form.add_error(None, str(exc))
        else:
            # Shown in this response only; a redirect would need the plaintext stored somewhere.
            new_keys = [(key, plaintext)]
            form = ApiKeyCreateForm(owner=request.user)
    now = timezone.now()
    keys = [(key, key.state_at(now)) for key in api_key_list(user=request.user, kind=ApiKeyKind.API_KEY)]
    calls = calls_in_last_day([key.public_id for key, _ in keys])
    # Apps the user signed in to (OAuth): each is a key of kind oauth named after the app.
    apps = [(key, key.state_at(now)) for key in api_key_list(user=request.user, kind=ApiKeyKind.OAUTH)
            if key.state_at(now) in USABLE_STATES]
    context = {
        **admin.site.each_context(request),
        "is_nav_sidebar_enabled": False,
        "title": "Profile | API Keys",
        "form": form,
        "keys": [(key, state, calls.get(key.public_id, 0)) for key, state in keys],
        "apps": apps,
        "usable_states": USABLE_STATES,
        "new_keys": new_keys,
        "mcp_url": mcp_url(request),
        "tenant_scope": tenant_scope_for_user(request.user),
    }
    return render(request, "accounts/profile_api_keys.html", context)


@never_cache
@login_required
@require_POST
def api_key_revoke_view(request: HttpRequest, public_id: str) -> HttpResponse:
    key = api_key_get(public_id=public_id)
    if key is None or key.user_id != request.user.pk:
        raise Http404("No such API key.")
    try:
        api_key_revoke(key=key, by=request.user, reason=request.POST.get("reason") or "Revoked by its owner.")
    except ApiKeyError as exc:
        messages.warning(request, str(exc))
    else:
        if key.kind == ApiKeyKind.OAUTH:
            messages.success(request, f"{key.name} is disconnected: its next request is refused.")
        else:
            messages.success(request, f"API key {key.public_id} ({key.name}) is revoked.")
    return redirect("accounts:profile-api-keys")
