from django.urls import path

from .views import mcp_endpoint

# Both spellings reach the view: a redirect would lose the POST body in most clients.
# McpEndpointMiddleware answers these same paths before URL resolution; the patterns keep reverse("mcp").
MCP_PATHS = frozenset({"/mcp/", "/mcp"})

urlpatterns = [
    path("mcp/", mcp_endpoint, name="mcp"),
    path("mcp", mcp_endpoint),
]
