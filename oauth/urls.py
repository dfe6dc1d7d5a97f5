from django.urls import path, re_path

from . import views

app_name = "oauth"

urlpatterns = [
    # RFC 9728: the resource's metadata sits at the well-known prefix followed by the resource's path
    # (/mcp/, or /mcp as a client may write it); the root one serves clients that look there.
    re_path(r"^\.well-known/oauth-protected-resource(?:/mcp/?)?$", views.protected_resource_metadata,
            name="protected-resource-metadata"),
    path(".well-known/oauth-authorization-server", views.authorization_server_metadata,
         name="authorization-server-metadata"),
    path("oauth/authorize", views.authorize, name="authorize"),
    path("oauth/token", views.token, name="token"),
    path("oauth/revoke", views.revoke, name="revoke"),
    path("oauth/register", views.register, name="register"),
]
