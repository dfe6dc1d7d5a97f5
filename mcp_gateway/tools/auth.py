"""get_access_token: exchange the API key for a 10-minute access token."""

from __future__ import annotations

from accounts.tokens import access_token_issue

from ..results import AccessTokenResult
from ..registry import Tool, ToolArgs, ToolContext, ToolError, registry


class NoArgs(ToolArgs):
    pass


def get_access_token(ctx: ToolContext, args: NoArgs) -> AccessTokenResult:
    if ctx.principal.api_key is None:
        raise ToolError("get_access_token needs an API key behind the request.")
    if ctx.principal.via_access_token:
        # A token that could mint its successor would never expire, whoever held it.
        raise ToolError(
            "get_access_token needs the API key itself: an access token cannot be exchanged for another. "
            "Keep using this token until it expires, then call get_access_token with the API key.",
            outcome="denied",
        )
    return access_token_issue(api_key=ctx.principal.api_key)


registry.register(
    Tool(
        name="get_access_token",
        title="Get access token",
        description=(
            "Obtain a short-lived access token (valid 10 minutes) for this API key. Optional: requests made "
            "with the API key itself work too. Returns access_token, token_type, expires_in (seconds) and "
            "expires_at; send it as 'Authorization: Bearer <access_token>' until it expires. Only the API key "
            "can obtain a token: a request made with an access token is refused."
        ),
        args_model=NoArgs,
        handler=get_access_token,
        result=AccessTokenResult,
        endpoint="POST /connect/api/v1/access_token",
        idempotent=False,
    )
)
