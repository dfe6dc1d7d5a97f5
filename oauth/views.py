"""The OAuth endpoints: the two metadata documents, the sign-in and consent page (authorize), and the
token, revocation and registration endpoints that clients call directly.

Thin: oauthlib (oauth/server.py) checks each protocol request, oauth/clients.py knows the clients,
oauth/grants.py keeps the grants. What happens here is HTTP: bounded bodies, the `resource` parameter
(RFC 8707), `iss` on every authorization response (RFC 9207), CORS on what browsers' clients fetch,
and a page (not a redirect) when the client or its redirect URI cannot be trusted.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from oauthlib.common import add_params_to_uri
from oauthlib.oauth2 import FatalClientError, OAuth2Error

from features.switches import current as current_switches
from stellar_mcp_site.request_meta import client_ip, declared_body_length

from . import clients, metadata
from .forms import ConsentForm
from .grants import OAUTH_SCOPES_OF
from .server import Server, token_response

logger = logging.getLogger(__name__)

# A token, revocation or registration request is a few hundred bytes; nothing bigger is read.
MAX_BODY_BYTES = 16 * 1024
CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": "Authorization, Content-Type, MCP-Protocol-Version",
        "Access-Control-Max-Age": "3600"}


# --- helpers ----------------------------------------------------------------------------------
def _json(data: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> JsonResponse:
    response = JsonResponse(data, status=status)
    for name, value in {**CORS, "Cache-Control": "no-store", **(headers or {})}.items():
        response[name] = value
    return response


def _error(status: int, error: str, description: str, headers: dict[str, str] | None = None) -> JsonResponse:
    return _json({"error": error, "error_description": description}, status, headers)


def _preflight_or_refusal(request: HttpRequest, methods: tuple[str, ...]) -> HttpResponse | None:
    """The answer to a CORS preflight, a method this endpoint does not take, or a body too big to read."""
    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
        for name, value in CORS.items():
            response[name] = value
        return response
    if request.method not in methods:
        return _error(405, "invalid_request", f"Use {' or '.join(methods)}.", {"Allow": ", ".join(methods)})
    if declared_body_length(request) > MAX_BODY_BYTES:
        return _error(413, "invalid_request", f"The request body is larger than {MAX_BODY_BYTES} bytes.")
    return None


def _form_pairs(request: HttpRequest) -> list[tuple[str, str]]:
    """The form body as pairs, repeats kept (oauthlib refuses a repeated parameter)."""
    return [(name, value) for name, values in request.POST.lists() for value in values]


def _oauth_uri(request: HttpRequest) -> str:
    """This request's URL for oauthlib, its query re-encoded (oauthlib refuses characters a URL must escape)."""
    query = urlencode([(name, value) for name, values in request.GET.lists() for value in values])
    return f"{metadata.base_url(request)}{request.path}" + (f"?{query}" if query else "")


def _resource_ok(request: HttpRequest, values: list[str]) -> bool:
    """RFC 8707: a client may name the resource it wants a token for; only /mcp/ is served here."""
    return all(metadata.is_this_resource(value, request) for value in values)


def _oauth_answer(headers: dict[str, str], body: str | None, status: int) -> HttpResponse:
    response = HttpResponse(body or "", status=status, content_type="application/json")
    for name, value in {**CORS, **headers}.items():
        response[name] = value
    return response


# --- metadata ---------------------------------------------------------------------------------
@csrf_exempt
def protected_resource_metadata(request: HttpRequest) -> HttpResponse:
    """RFC 9728: what the MCP endpoint is and which authorization server signs users in to it."""
    return _preflight_or_refusal(request, ("GET", "HEAD")) or _json(metadata.protected_resource_metadata(request))


@csrf_exempt
def authorization_server_metadata(request: HttpRequest) -> HttpResponse:
    """RFC 8414: the endpoints and what this authorization server supports."""
    refusal = _preflight_or_refusal(request, ("GET", "HEAD"))
    return refusal or _json(metadata.authorization_server_metadata(request, current_switches()))


# --- authorize: sign-in and consent -----------------------------------------------------------
def _error_page(request: HttpRequest, message: str, status: int = 400) -> HttpResponse:
    context = {"title": "Cannot connect this app", "message": message}
    return render(request, "oauth/error.html", context, status=status)


def _back_to_client(request: HttpRequest, redirect_uri: str, params: list[tuple[str, str]]) -> HttpResponse:
    """Send the user back to the client with `params`, and the issuer (RFC 9207) so the client knows who answered."""
    return HttpResponseRedirect(add_params_to_uri(redirect_uri, [*params, ("iss", metadata.issuer(request))]))


@never_cache
def authorize(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "POST"):
        return _error_page(request, "Use GET (or submit the consent form).", 405)
    # The client first, so that a client this server refuses is explained to the user in words.
    try:
        client = clients.client_for(request.GET.get("client_id", ""), current_switches())
    except clients.ClientRefused as exc:
        return _error_page(request, exc.message)
    if client is None:
        return _error_page(request, "This app is not registered with this server (unknown client_id).")

    server = Server(metadata.resource(request))
    uri = _oauth_uri(request)
    try:
        scopes, credentials = server.validate_authorization_request(uri, "GET", None, {})
    except FatalClientError as exc:
        # The redirect URI is missing, unknown or the request repeats a parameter: no safe place to send the user.
        return _error_page(request, f"The app's sign-in request is not valid: {exc.description}")
    except OAuth2Error as exc:
        if not exc.redirect_uri:
            return _error_page(request, f"The app's sign-in request is not valid: {exc.description}")
        return _back_to_client(request, exc.redirect_uri, exc.twotuples)
    redirect_uri, state = credentials["redirect_uri"], credentials.get("state")
    state_param = [("state", state)] if state else []
    if not _resource_ok(request, request.GET.getlist("resource")):
        return _back_to_client(request, redirect_uri, [("error", "invalid_target"), (
            "error_description", f"This server signs in to {metadata.resource(request)} only."), *state_param])

    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())

    form = ConsentForm(request.POST or None, user=request.user, write_requested="cases:write" in scopes)
    if request.method == "POST":
        if "deny" in request.POST:
            return _back_to_client(request, redirect_uri, [
                ("error", "access_denied"), ("error_description", "The user did not allow the connection."),
                *state_param])
        if form.is_valid():
            credentials.pop("request", None)
            credentials.update(user=request.user, grant_scope=form.grant_scope(), tenant_ids=form.tenant_ids())
            headers, _, _ = server.create_authorization_response(
                uri, "GET", None, {}, OAUTH_SCOPES_OF[form.grant_scope()], credentials)
            logger.info("OAuth: %s allowed %s (%s)", request.user.get_username(), client.name, form.grant_scope())
            return HttpResponseRedirect(add_params_to_uri(headers["Location"], [("iss", metadata.issuer(request))]))
    context = {
        "title": "Connect an app",
        "client": client,
        "redirect_host": urlsplit(redirect_uri).netloc or redirect_uri,
        "form": form,
        "resource": metadata.resource(request),
    }
    return render(request, "oauth/consent.html", context)


# --- token, revocation, registration ------------------------------------------------------------
@csrf_exempt
def token(request: HttpRequest) -> HttpResponse:
    refusal = _preflight_or_refusal(request, ("POST",))
    if refusal:
        return refusal
    if not _resource_ok(request, request.POST.getlist("resource")):
        return _error(400, "invalid_target", f"This server issues tokens for {metadata.resource(request)} only.")
    headers, body, status = token_response(_oauth_uri(request), _form_pairs(request), {}, metadata.resource(request))
    return _oauth_answer(headers, body, status)


@csrf_exempt
def revoke(request: HttpRequest) -> HttpResponse:
    refusal = _preflight_or_refusal(request, ("POST",))
    if refusal:
        return refusal
    server = Server(metadata.resource(request))
    headers, body, status = server.create_revocation_response(_oauth_uri(request), "POST", _form_pairs(request), {})
    return _oauth_answer(headers, body, status)


def _registrations_left(request: HttpRequest) -> int | None:
    """Seconds until this address may register again, or None when it may now."""
    hour = int(time.time() // 3600)
    key = f"oauth-dcr:{client_ip(request)}:{hour}"
    cache.add(key, 0, timeout=3600)
    count = cache.incr(key)
    return None if count <= settings.OAUTH_REGISTRATIONS_PER_HOUR else 3600 - int(time.time() % 3600)


@csrf_exempt
def register(request: HttpRequest) -> HttpResponse:
    """RFC 7591: a client registers itself (public: no secret) and gets a client_id."""
    refusal = _preflight_or_refusal(request, ("POST",))
    if refusal:
        return refusal
    if not current_switches().dcr_enabled:
        return _error(403, "access_denied", "Dynamic client registration is switched off on this server.")
    wait = _registrations_left(request)
    if wait is not None:
        return _error(429, "invalid_request", f"Too many registrations from this address; retry in {wait} seconds.",
                      {"Retry-After": str(wait)})
    try:
        document = json.loads(request.body)
    except (ValueError, RecursionError):
        return _error(400, "invalid_client_metadata", "The registration request must be a JSON object.")
    try:
        client = clients.register(document)
    except clients.ClientRefused as exc:
        return _error(400, exc.error, exc.message)
    logger.info("OAuth: client %s registered (%s)", client.client_id, client.name)
    return _json(clients.registration_response(client), 201)
