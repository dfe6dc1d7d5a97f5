"""The OAuth 2.1 protocol, by oauthlib (the engine of django-oauth-toolkit) over this app's records.

Only what MCP clients need, and nothing that weakens it: the authorization code grant with PKCE S256
(plain and no PKCE are refused), rotating refresh tokens, RFC 7009 revocation, public clients. oauthlib
checks each request's shape and answers its errors; the validator below says what is true of our
clients, codes and grants. A grant is created when its code is exchanged, as an API key of kind oauth,
so its access tokens name a key like an API key's own tokens do (accounts/tokens.py).
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from oauthlib.oauth2 import AuthorizationEndpoint, RequestValidator, RevocationEndpoint, TokenEndpoint
from oauthlib.oauth2.rfc6749.grant_types import AuthorizationCodeGrant, RefreshTokenGrant
from oauthlib.oauth2.rfc6749.grant_types.authorization_code import code_challenge_method_s256
from oauthlib.oauth2.rfc6749.tokens import BearerToken

from accounts.keys import generate_public_id
from accounts.models import ApiKeyKind
from accounts.selectors import api_key_for_verification, key_is_usable
from accounts.tokens import access_token_verify, oauth_token_encode
from features.switches import current as current_switches

from . import clients, grants
from .metadata import SCOPES
from .models import AuthorizationCode, Grant, RefreshToken


class Validator(RequestValidator):
    """`resource_uri` is this server's protected resource (the MCP endpoint): every code and token is for it."""

    def __init__(self, resource_uri: str) -> None:
        self.resource_uri = resource_uri

    # --- clients: public, known by id --------------------------------------------------------
    def validate_client_id(self, client_id, request, *args, **kwargs) -> bool:
        try:
            request.client = clients.client_for(client_id or "", current_switches())
        except clients.ClientRefused:
            request.client = None
        return request.client is not None

    authenticate_client_id = validate_client_id

    def client_authentication_required(self, request, *args, **kwargs) -> bool:
        return False  # public clients: PKCE proves the code, a refresh token proves itself

    def authenticate_client(self, request, *args, **kwargs) -> bool:
        return False

    def validate_redirect_uri(self, client_id, redirect_uri, request, *args, **kwargs) -> bool:
        return redirect_uri in request.client.redirect_uris  # exactly one of those registered

    def get_default_redirect_uri(self, client_id, request, *args, **kwargs) -> str | None:
        uris = request.client.redirect_uris
        return uris[0] if len(uris) == 1 else None

    def validate_response_type(self, client_id, response_type, client, request, *args, **kwargs) -> bool:
        return response_type == "code"

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs) -> bool:
        return grant_type in ("authorization_code", "refresh_token")

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs) -> bool:
        return bool(scopes) and set(scopes) <= set(SCOPES)

    def get_default_scopes(self, client_id, request, *args, **kwargs) -> list[str]:
        return list(SCOPES)

    # --- the authorization code --------------------------------------------------------------
    def is_pkce_required(self, client_id, request) -> bool:
        return True

    def save_authorization_code(self, client_id, code, request, *args, **kwargs) -> None:
        grants.save_code(code=code["code"], client=request.client, user=request.user, redirect_uri=request.redirect_uri,
                         code_challenge=request.code_challenge, scope=request.grant_scope,
                         tenant_ids=request.tenant_ids, resource=self.resource_uri)

    def validate_code(self, client_id, code, client, request, *args, **kwargs) -> bool:
        # The code's own row is locked (two exchanges of one code take turns); PostgreSQL cannot lock the
        # nullable side of the outer join to its grant, hence of=("self",).
        row = (AuthorizationCode.objects.select_for_update(of=("self",)).select_related("client", "user", "grant__key")
               .filter(digest=grants.digest(code or "")).first())
        if row is None or row.client_id != client.pk or row.resource != self.resource_uri:
            return False
        if row.used_at is not None:
            # A code presented twice was stolen: whatever it was exchanged for is disconnected.
            grants.disconnect(row.grant, reason="Authorization code used twice.")
            return False
        if row.expires_at <= timezone.now() or not row.user.is_active:
            return False
        request.code_row, request.user = row, row.user
        request.scopes = grants.OAUTH_SCOPES_OF[row.scope]
        request.grant_public_id = generate_public_id()
        return True

    def get_code_challenge(self, code, request) -> str | None:
        return request.code_row.code_challenge

    def get_code_challenge_method(self, code, request) -> str:
        return "S256"

    def confirm_redirect_uri(self, client_id, code, redirect_uri, client, request, *args, **kwargs) -> bool:
        return redirect_uri == request.code_row.redirect_uri

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs) -> None:
        pass  # spent in save_bearer_token, with the grant it became

    # --- refresh tokens -----------------------------------------------------------------------
    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs) -> bool:
        row = (RefreshToken.objects.select_for_update(of=("self",)).select_related("grant__key__user", "grant__client")
               .filter(digest=grants.digest(refresh_token or "")).first())
        if row is None or row.grant.client_id != client.pk:
            return False
        if row.used_at is not None:
            # A refresh token presented twice was stolen (or its client lost track): disconnect the grant.
            grants.disconnect(row.grant, reason="Refresh token used twice.")
            return False
        key = row.grant.key
        if row.expires_at <= timezone.now() or not key_is_usable(key, timezone.now()):
            return False
        request.refresh_row, request.user = row, key.user
        request.grant_public_id = key.public_id
        return True

    def get_original_scopes(self, refresh_token, request, *args, **kwargs) -> list[str]:
        return grants.OAUTH_SCOPES_OF[request.refresh_row.grant.key.scope]

    def rotate_refresh_token(self, request) -> bool:
        return True

    # --- tokens -------------------------------------------------------------------------------
    def save_bearer_token(self, token, request, *args, **kwargs) -> None:
        if request.grant_type == "authorization_code":
            grants.grant_from_code(request.code_row, public_id=request.grant_public_id,
                                   refresh_token=token["refresh_token"])
        else:
            grants.rotate(request.refresh_row, refresh_token=token["refresh_token"])

    def revoke_token(self, token, token_type_hint, request, *args, **kwargs) -> None:
        """Revoking either token of a grant disconnects the grant: every token made for it stops."""
        grant = Grant.objects.filter(refresh_tokens__digest=grants.digest(token or "")).first()
        if grant is None:
            verified = access_token_verify(token or "", now=time.time(), audience=self.resource_uri)
            key = api_key_for_verification(verified.public_id) if verified and verified.oauth else None
            grant = Grant.objects.filter(key=key).first() if key is not None and key.kind == ApiKeyKind.OAUTH else None
        if grant is not None and grant.client_id == request.client.pk:
            grants.disconnect(grant, reason="Revoked by its client.")


class Server(AuthorizationEndpoint, TokenEndpoint, RevocationEndpoint):
    """The three endpoints, over one validator, for the protected resource `resource_uri`."""

    def __init__(self, resource_uri: str) -> None:
        validator = Validator(resource_uri)

        def access_token(request) -> str:
            exp = int(time.time()) + settings.OAUTH_ACCESS_TOKEN_SECONDS
            return oauth_token_encode(request.grant_public_id, exp, resource_uri)

        code_grant = AuthorizationCodeGrant(validator)
        code_grant._code_challenge_methods = {"S256": code_challenge_method_s256}  # no "plain"
        bearer = BearerToken(validator, token_generator=access_token,
                             expires_in=settings.OAUTH_ACCESS_TOKEN_SECONDS,
                             refresh_token_generator=lambda request: grants.new_refresh_token())
        AuthorizationEndpoint.__init__(self, default_response_type="code", response_types={"code": code_grant},
                                       default_token_type=bearer)
        TokenEndpoint.__init__(self, default_grant_type="authorization_code", default_token_type=bearer,
                               grant_types={"authorization_code": code_grant, "refresh_token": RefreshTokenGrant(validator)})
        RevocationEndpoint.__init__(self, validator, supported_token_types=("access_token", "refresh_token"))


def token_response(uri: str, body: dict[str, Any], headers: dict[str, str], resource_uri: str) -> tuple[dict, str, int]:
    """The token endpoint's answer; one transaction, so a grant and its first refresh token, or a
    rotation, are made whole or not at all (and a theft's disconnection sticks)."""
    with transaction.atomic():
        return Server(resource_uri).create_token_response(uri, "POST", body, headers)
