"""The admin console under the product's name, with what an operator needs grouped under the product
documentation's words ("System | User | Activity Log"): the apps' own sections stay for the rest."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest
from django.urls import reverse

PRODUCT = "Stellar Cyber MCP Server"
# The System section, in this order: (app label, model name).
SYSTEM = (("auth", "User"), ("tenants", "TenantAccess"), ("accounts", "ApiKey"), ("audit", "PublicApiAccess"),
          ("features", "FeatureSettings"), ("oauth", "OAuthClient"))


class ConsoleSite(admin.AdminSite):
    site_header = PRODUCT
    site_title = PRODUCT
    index_title = "Console"

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
        apps = super().get_app_list(request, app_label)
        if app_label is not None:
            return apps
        models = {(app["app_label"], model["object_name"]): model for app in apps for model in app["models"]}
        system = [models[key] for key in SYSTEM if key in models]
        rest = []
        for app in apps:
            app["models"] = [m for m in app["models"] if (app["app_label"], m["object_name"]) not in SYSTEM]
            if app["models"]:
                rest.append(app)
        if not system:
            return rest
        section = {"name": "System", "app_label": "system", "app_url": reverse("admin:index", current_app=self.name),
                   "has_module_perms": True, "models": system}
        return [section, *rest]


class ConsoleAdminConfig(AdminConfig):
    default_site = "stellar_mcp_site.console.ConsoleSite"
