"""The UserInfo endpoint (OpenID Connect Core §5.3), Bearer tokens per RFC 6750 §2."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from relay.core import Relay
from relay.errors import InvalidRequest, InvalidToken, OAuthError
from relay.oidc.codes import token_key
from relay.oidc.responses import NO_STORE
from relay.oidc.token import profile_claims
from relay.params import form_params
from relay.sessions import Identity

MAX_TOKEN_CHARS = 512


async def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    from_header = None
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
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


def challenge(error: OAuthError | None) -> dict[str, str]:
    value = 'Bearer realm="userinfo"'
    if error is not None:
        value += f', error="{error.error}", error_description="{error.description}"'
    return {"WWW-Authenticate": value, **NO_STORE}


async def userinfo(request: Request) -> Response:
    relay: Relay = request.app.state.relay
    try:
        access_token = await bearer_token(request)
    except InvalidRequest as error:
        return JSONResponse(
            {"error": error.error, "error_description": error.description},
            status_code=400,
            headers=challenge(error),
        )
    if access_token is None:  # RFC 6750 §3.1: no credentials, no error code
        return JSONResponse(
            {"error": "invalid_token", "error_description": "an access token is required"},
            status_code=401,
            headers=challenge(None),
        )
    record = None
    if len(access_token) <= MAX_TOKEN_CHARS:
        record = await relay.store.get(token_key(access_token))
    if record is None:
        invalid = InvalidToken("the access token is invalid, expired or revoked")
        return JSONResponse(
            {"error": invalid.error, "error_description": invalid.description},
            status_code=401,
            headers=challenge(invalid),
        )
    identity = Identity.from_record(record["identity"])
    claims: dict[str, str] = {"sub": identity.sub, "idp": identity.provider}
    if "profile" in record["scope"]:
        claims.update(profile_claims(identity))
    return JSONResponse(claims, headers=NO_STORE)
