"""The token endpoint (RFC 6749 §4.1.3 and §5, RFC 7636 §4.6, OpenID Connect Core §3.1.3,
RFC 8628 §3.4).

Checks in order: the body, the client's authentication, the grant type; then the grant's own
checks. For `authorization_code`: the code (consumed atomically), its binding to client and
redirect_uri, PKCE. For the device grant (`urn:ietf:params:oauth:grant-type:device_code`): the
device_code's login, polled (relay/device/polling.py). Both end in the same issuing step
(`issue_tokens`): an access token, and an id_token with the openid scope. Every answer carries
Cache-Control: no-store. invalid_client is 401, with WWW-Authenticate when Basic was tried.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from relay.core import Relay
from relay.device import DEVICE_CODE_GRANT
from relay.device.polling import device_code_grant
from relay.digests import CODE_VERIFIER, b64url, s256
from relay.errors import InvalidGrant, InvalidRequest, OAuthError, UnsupportedGrantType
from relay.oidc.clients import authenticate_client
from relay.oidc.codes import code_key, grant_key, revoke_issued, token_key
from relay.oidc.responses import NO_STORE, error_json
from relay.params import Params, form_params
from relay.sessions import Identity
from relay.settings import ClientConfig

# A grant's checks: the store key under which a replay finds what was issued (grant_key of the
# code, or device_grant_key of the device_code: each grant its own key space, so one grant's
# code cannot revoke what the other gave), and what the tokens are issued from (a code's record).
Grant = Callable[[Relay, ClientConfig, Params], Awaitable[tuple[str, dict[str, Any]]]]


def check_grant_type(params: Params) -> Grant:
    grant_type = params.get("grant_type")
    if grant_type is None:
        raise InvalidRequest("grant_type is missing")
    grant = GRANTS.get(grant_type)
    if grant is None:
        raise UnsupportedGrantType(f"grant_type {grant_type[:64]} is not supported")
    return grant


async def authorization_code_grant(
    relay: Relay, client: ClientConfig, params: Params
) -> tuple[str, dict[str, Any]]:
    """RFC 6749 §4.1.3: the code, consumed, bound to this client and redirect_uri, and PKCE."""
    code = params.require("code", max_chars=256)
    record = await redeem_code(relay, code)
    check_binding(record, client, params)
    check_pkce(record, params)
    return grant_key(code), record


async def redeem_code(relay: Relay, code: str) -> dict[str, Any]:
    record = await relay.store.consume(code_key(code))
    if record is not None:
        return record
    # Not redeemable. If it was redeemed before, this is a replay: revoke what it issued.
    if await revoke_issued(relay, grant_key(code)):
        raise InvalidGrant("code was already used; the tokens issued from it are revoked")
    raise InvalidGrant("code is invalid or expired")


def check_binding(record: dict[str, Any], client: ClientConfig, params: Params) -> None:
    if record["client_id"] != client.client_id:
        raise InvalidGrant("code was issued to another client")
    redirect_uri = params.get("redirect_uri")
    # RFC 6749 §4.1.3: required, and identical, when the authorization request had it.
    given = record["redirect_uri_given"] or redirect_uri is not None
    if given and redirect_uri != record["redirect_uri"]:
        raise InvalidGrant("redirect_uri does not match the authorization request")


def check_pkce(record: dict[str, Any], params: Params) -> None:
    verifier = params.get("code_verifier")
    challenge = record["code_challenge"]
    if challenge is None:
        if verifier is not None:  # RFC 9700 §4.8.2
            raise InvalidGrant("code_verifier sent, but the authorization request had no PKCE")
        return
    if verifier is None:
        raise InvalidGrant("code_verifier is required: the authorization request used PKCE")
    if not CODE_VERIFIER.fullmatch(verifier):
        raise InvalidGrant("code_verifier must be 43 to 128 unreserved characters")
    if not hmac.compare_digest(s256(verifier), challenge):
        raise InvalidGrant("code_verifier does not match the code_challenge")


def id_token_claims(
    relay: Relay, record: dict[str, Any], identity: Identity, access_token: str, now: int
) -> dict[str, Any]:
    at_digest = hashlib.sha256(access_token.encode()).digest()
    claims: dict[str, Any] = {
        "iss": relay.settings.issuer,
        "sub": identity.sub,
        "aud": record["client_id"],
        "iat": now,
        "exp": now + relay.settings.access_token_ttl,
        "auth_time": int(record["auth_time"] or now),
        "at_hash": b64url(at_digest[:16]),
        "idp": identity.provider,
    }
    if record["nonce"] is not None:
        claims["nonce"] = record["nonce"]
    if "profile" in record["scope"]:
        claims.update(profile_claims(identity))
    return claims


def profile_claims(identity: Identity) -> dict[str, str]:
    claims = {
        "name": identity.name,
        "picture": identity.picture,
        "preferred_username": identity.preferred_username,
    }
    return {k: v for k, v in claims.items() if v}


async def issue_tokens(relay: Relay, issued_key: str, record: dict[str, Any]) -> dict[str, Any]:
    """The token response (RFC 6749 §5.1, OpenID Connect Core §3.1.3.3) for `record` (client_id,
    scope, identity, auth_time, nonce), remembered under `issued_key` (of the authorization code
    or the device_code) so that a replay of it revokes the access token."""
    identity = Identity.from_record(record["identity"])
    access_token = secrets.token_urlsafe(32)
    ttl = relay.settings.access_token_ttl
    # Remember the grant before the token exists, so a concurrent replay can always find it.
    await relay.store.put(issued_key, {"tokens": [token_key(access_token)]}, ttl)
    await relay.store.put(
        token_key(access_token),
        {
            "client_id": record["client_id"],
            "scope": record["scope"],
            "identity": record["identity"],
        },
        ttl,
    )
    if await relay.store.get(issued_key) is None:  # a replay revoked it meanwhile
        await relay.store.delete(token_key(access_token))
        raise InvalidGrant("used again meanwhile; the tokens issued from it are revoked")
    body: dict[str, Any] = {"access_token": access_token, "token_type": "Bearer", "expires_in": ttl}
    if record["scope"]:
        body["scope"] = " ".join(record["scope"])
    if "openid" in record["scope"]:
        now = int(time.time())
        body["id_token"] = relay.keys.sign(
            id_token_claims(relay, record, identity, access_token, now)
        )
    return body


async def token(request: Request) -> Response:
    relay: Relay = request.app.state.relay
    try:
        params = await form_params(request)
        client = relay.settings.clients[
            authenticate_client(request, params, relay.settings.client_secret)
        ]
        grant = check_grant_type(params)
        issued_key, record = await grant(relay, client, params)
        body = await issue_tokens(relay, issued_key, record)
    except OAuthError as error:
        return error_json(error)
    return JSONResponse(body, headers=NO_STORE)


GRANTS: dict[str, Grant] = {
    "authorization_code": authorization_code_grant,
    DEVICE_CODE_GRANT: device_code_grant,  # RFC 8628 §3.4
}
