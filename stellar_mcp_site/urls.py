"""Root URLs: the MCP endpoint, OAuth sign-in, the admin console, the profile pages."""

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
    # Sign-in for hosted MCP clients (OAuth 2.1) and its metadata documents.
    path("", include("oauth.urls")),
    # The Stellar-compatible Public API over the embedded store.
    path("connect/api/", include("public_api.urls")),
    path("", include("accounts.urls")),
]
