"""Root URLs: the MCP endpoint, the admin console, the profile pages."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("mcp_gateway.urls")),
    path("", include("accounts.urls")),
]
