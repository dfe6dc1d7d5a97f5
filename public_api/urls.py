"""/connect/api/...: the Stellar-compatible Public API (included under "connect/api/" by the root URLs).

Paths take an optional trailing slash; a redirect would lose a PUT body in most clients.
"""

from django.urls import re_path

from . import views

SECTIONS = "|".join(views.CaseSectionView.SECTIONS)

urlpatterns = [
    re_path(r"^v1/access_token/?$", views.AccessTokenView.as_view(), name="public-api-access-token"),
    re_path(r"^v1/cases/?$", views.CasesView.as_view(), name="public-api-cases"),
    re_path(r"^v1/cases/(?P<case_id>[^/]+)/?$", views.CaseView.as_view(), name="public-api-case"),
    re_path(
        rf"^v1/cases/(?P<case_id>[^/]+)/(?P<section>{SECTIONS})/?$",
        views.CaseSectionView.as_view(),
        name="public-api-case-section",
    ),
    re_path(r"^data/(?P<index>[^/]+)/_search/?$", views.AlertSearchView.as_view(), name="public-api-search"),
    re_path(r"^v1/tenants/?$", views.TenantsView.as_view(), name="public-api-tenants"),
    re_path(r"^v1/tenants/(?P<cust_id>[^/]+)/?$", views.TenantView.as_view(), name="public-api-tenant"),
    re_path(r"", views.UnknownEndpointView.as_view(), name="public-api-unknown"),
]
