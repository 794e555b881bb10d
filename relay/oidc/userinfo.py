"""The UserInfo endpoint (OpenID Connect Core §5.3), Bearer tokens per RFC 6750 §2.

Tokens issued without the openid scope are accepted too: /userinfo is also the profile endpoint
of plain OAuth 2.0 clients (an Auth0 custom connection's fetchUserProfile script).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from relay.core import Relay
from relay.errors import InvalidRequest, InvalidToken, OAuthError
from relay.oidc.codes import token_key
from relay.oidc.responses import NO_STORE, description_text
from relay.oidc.token import profile_claims
from relay.params import form_params
from relay.sessions import Identity

MAX_TOKEN_CHARS = 512


async def bearer_token(request: Request) -> str | None:
    """The access token from the header or (POST) the form body; None when there is none,
    including when the header uses another scheme (RFC 6750 §3.1: "unsupported method")."""
    from_header = None
    scheme, _, value = request.headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer":
        if not value.strip():
            raise InvalidRequest("the Authorization header must be: Bearer <access token>")
        from_header = value.strip()
    from_body = None
    if request.method == "POST" and request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        from_body = (await form_params(request)).get("access_token", max_chars=MAX_TOKEN_CHARS)
    if from_header and from_body:  # RFC 6750 §2: one method per request
        raise InvalidRequest("send the access token in the header or the body, not both")
    return from_header or from_body


def refusal(error: OAuthError | None, status_code: int, description: str) -> JSONResponse:
    """RFC 6750 §3: the challenge names the error, except when no credentials came at all."""
    challenge = 'Bearer realm="userinfo"'
    description = description_text(description)
    body = {"error_description": description}
    if error is not None:
        challenge += f', error="{error.error}", error_description="{description}"'
        body = {"error": error.error, **body}
    return JSONResponse(
        body, status_code=status_code, headers={"WWW-Authenticate": challenge, **NO_STORE}
    )


async def userinfo(request: Request) -> Response:
    relay: Relay = request.app.state.relay
    try:
        access_token = await bearer_token(request)
    except InvalidRequest as error:
        return refusal(error, 400, error.description)
    if access_token is None:
        return refusal(None, 401, "a Bearer access token is required")
    record = None
    if len(access_token) <= MAX_TOKEN_CHARS:
        record = await relay.store.get(token_key(access_token))
    if record is None:
        invalid = InvalidToken("the access token is invalid, expired or revoked")
        return refusal(invalid, 401, invalid.description)
    identity = Identity.from_record(record["identity"])
    claims: dict[str, str] = {"sub": identity.sub, "idp": identity.provider}
    if "profile" in record["scope"]:
        claims.update(profile_claims(identity))
    return JSONResponse(claims, headers=NO_STORE)
