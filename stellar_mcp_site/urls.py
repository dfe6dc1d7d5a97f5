"""Root URLs: the MCP endpoint, the admin console, the profile pages."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from .health import healthz, readyz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    # A plain login for analysts who are not staff, so they too reach Profile | API Keys.
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("mcp_gateway.urls")),
    # The Stellar-compatible Public API over the embedded store.
    path("connect/api/", include("public_api.urls")),
    path("", include("accounts.urls")),
]
