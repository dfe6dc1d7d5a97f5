"""Who this server is, as OAuth sees it: the issuer, the protected resource (/mcp/), and the metadata
documents that tell a client where to sign a user in (RFC 9728 for the resource, RFC 8414 for the server).

The issuer is MCP_PUBLIC_URL when it is set (it must be, behind a proxy that rewrites the host), else
the request's own scheme and host (one the Host check already allowed). A root issuer carries its
trailing slash: that is how every client's URL type writes it, and the `iss` a client receives after
sign-in is compared with it character for character (RFC 9207).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from features.switches import Switches

SCOPES = {"cases:read": "Read cases, alerts and tenants", "cases:write": "Also update cases"}
MCP_PATH = "/mcp/"


def base_url(request: HttpRequest) -> str:
    """scheme://host of this server, without a trailing slash."""
    if settings.MCP_PUBLIC_URL:
        return settings.MCP_PUBLIC_URL.rstrip("/")
    return f"{request.scheme}://{request.get_host()}"


def issuer(request: HttpRequest) -> str:
    return base_url(request) + "/"


def resource(request: HttpRequest) -> str:
    """The protected resource: the MCP endpoint's URL. Tokens are made for it and accepted only on it."""
    return base_url(request) + MCP_PATH


def resource_metadata_url(request: HttpRequest) -> str:
    return f"{base_url(request)}/.well-known/oauth-protected-resource{MCP_PATH}"


def is_this_resource(value: str, request: HttpRequest) -> bool:
    """Whether a client's `resource` parameter names the MCP endpoint (with or without its trailing slash)."""
    return value.rstrip("/") == resource(request).rstrip("/")


def protected_resource_metadata(request: HttpRequest) -> dict[str, Any]:
    return {
        "resource": resource(request),
        "authorization_servers": [issuer(request)],
        "scopes_supported": list(SCOPES),
        "bearer_methods_supported": ["header"],
        "resource_name": "Stellar Cyber MCP Server",
    }


def authorization_server_metadata(request: HttpRequest, switches: Switches) -> dict[str, Any]:
    base = base_url(request)
    metadata: dict[str, Any] = {
        "issuer": issuer(request),
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "scopes_supported": list(SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        "client_id_metadata_document_supported": switches.cimd_enabled,
    }
    if switches.dcr_enabled:
        metadata["registration_endpoint"] = f"{base}/oauth/register"
    return metadata


def challenge(request: HttpRequest, *, credential_sent: bool) -> str:
    """The WWW-Authenticate value of a 401 from the MCP endpoint: where to learn how to sign in."""
    value = f'Bearer resource_metadata="{resource_metadata_url(request)}", scope="{" ".join(SCOPES)}"'
    return value + ', error="invalid_token"' if credential_sent else value
