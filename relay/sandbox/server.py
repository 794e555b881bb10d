"""The sandbox provider's endpoints under /sandbox (RFC 6749 with PKCE, RFC 7636).

- GET  /sandbox/authorize  a sign-in page: type a display name, press Approve or Deny
- POST /sandbox/authorize  the decision: 302 to redirect_uri with code and state (or error)
- POST /sandbox/token      code for access token (client_secret_basic or _post, PKCE S256)
- GET  /sandbox/userinfo   the user behind a Bearer token: sub, name, preferred_username

Its clients are the `kind = "sandbox"` providers of the configuration: client_id and
client_secret from there, and the only redirect_uri each may use is the relay's own
/callback/{name}. Codes are single use and live 5 minutes, tokens 10. The same display name
always gives the same `sub`, so a tester can sign in as the same user twice.
"""

from __future__ import annotations

import hmac
import re
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from relay.core import Relay
from relay.digests import CODE_VERIFIER, s256, sha256_hex
from relay.errors import InvalidGrant, InvalidRequest, OAuthError, UnsupportedGrantType
from relay.i18n import _
from relay.oidc.clients import authenticate_client
from relay.oidc.responses import error_json, with_query
from relay.params import Params, form_params, query_params
from relay.settings import ProviderConfig
from relay.templating import message_page, render

CODE_TTL = 300
TOKEN_TTL = 600


def sandbox_clients(relay: Relay) -> dict[str, ProviderConfig]:
    return {p.client_id: p for p in relay.settings.providers.values() if p.kind == "sandbox"}


def user_id(display_name: str) -> str:
    return "u" + sha256_hex(display_name.strip().casefold())[:20]


def read_request(relay: Relay, params: Params) -> tuple[ProviderConfig, dict[str, str]]:
    """The authorization request's parameters, checked (RFC 6749 §4.1.1)."""
    client = sandbox_clients(relay).get(params.require("client_id"))
    if client is None:
        raise InvalidRequest("unknown client_id")
    redirect_uri = params.require("redirect_uri")
    if redirect_uri != relay.settings.url(f"/callback/{client.name}"):
        raise InvalidRequest("redirect_uri is not registered for this client")
    fields = {
        "client_id": client.client_id,
        "redirect_uri": redirect_uri,
        "state": params.get("state") or "",
        "code_challenge": params.get("code_challenge") or "",
        "scope": params.get("scope") or "",
    }
    if params.get("response_type") != "code":
        raise InvalidRequest("response_type must be code")
    if fields["code_challenge"] and params.get("code_challenge_method") != "S256":
        raise InvalidRequest("code_challenge_method must be S256")
    return client, fields


def bad_request(request: Request, exc: InvalidRequest) -> Response:
    """The request's problem, in the OAuth words of its description (for the tester)."""
    return message_page(
        request,
        _("Sandbox: bad request"),
        _("The sign-in request is not valid: %(problem)s.", problem=exc.description),
        status_code=400,
    )


async def authorize_page(request: Request) -> Response:
    relay: Relay = request.app.state.relay
    try:
        client, fields = read_request(relay, query_params(request))
    except InvalidRequest as exc:
        return bad_request(request, exc)
    return render(request, "sandbox_authorize.html", {"client": client, "fields": fields})


async def authorize_decision(request: Request) -> Response:
    relay: Relay = request.app.state.relay
    try:
        params = await form_params(request)
        client, fields = read_request(relay, params)
        decision = params.require("decision")
        name = (params.get("name", max_chars=64) or "").strip()
    except InvalidRequest as exc:
        return bad_request(request, exc)
    state = fields["state"] or None
    if decision != "approve":
        location = with_query(fields["redirect_uri"], {"error": "access_denied", "state": state})
        return RedirectResponse(location, status_code=303)
    if not name:
        return render(
            request,
            "sandbox_authorize.html",
            {"client": client, "fields": fields, "problem": _("Type a name to sign in as.")},
            status_code=400,
        )
    code = secrets.token_urlsafe(32)
    record = {**fields, "name": name, "sub": user_id(name)}
    await relay.store.create(f"sandbox-code:{sha256_hex(code)}", record, CODE_TTL)
    location = with_query(fields["redirect_uri"], {"code": code, "state": state})
    return RedirectResponse(location, status_code=303)


async def token(request: Request) -> Response:
    relay: Relay = request.app.state.relay
    clients = sandbox_clients(relay)
    try:
        params = await form_params(request)
        client_id = authenticate_client(
            request, params, lambda cid: clients[cid].client_secret if cid in clients else None
        )
        if params.get("grant_type") != "authorization_code":
            raise UnsupportedGrantType("only authorization_code")
        code = params.require("code", max_chars=256)
        record = await relay.store.consume(f"sandbox-code:{sha256_hex(code)}")
        if record is None or record["client_id"] != client_id:
            raise InvalidGrant("code is invalid, expired or used")
        if params.get("redirect_uri") != record["redirect_uri"]:
            raise InvalidGrant("redirect_uri does not match")
        verifier = params.get("code_verifier")
        if record["code_challenge"]:
            if verifier is None or not CODE_VERIFIER.fullmatch(verifier):
                raise InvalidGrant("code_verifier is missing or malformed")
            if not hmac.compare_digest(s256(verifier), record["code_challenge"]):
                raise InvalidGrant("code_verifier does not match")
    except OAuthError as error:
        return error_json(error)
    access_token = secrets.token_urlsafe(32)
    user: dict[str, Any] = {"sub": record["sub"], "name": record["name"]}
    await relay.store.create(f"sandbox-token:{sha256_hex(access_token)}", user, TOKEN_TTL)
    return JSONResponse(
        {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": TOKEN_TTL,
            "scope": record["scope"],
        },
        headers={"Cache-Control": "no-store"},
    )


async def userinfo(request: Request) -> Response:
    relay: Relay = request.app.state.relay
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    user = None
    if scheme.lower() == "bearer" and 0 < len(value) <= 256:
        user = await relay.store.get(f"sandbox-token:{sha256_hex(value.strip())}")
    if user is None:
        return JSONResponse(
            {"error": "invalid_token", "error_description": "unknown or expired token"},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return JSONResponse(
        {
            "sub": user["sub"],
            "name": user["name"],
            "preferred_username": re.sub(r"\s+", ".", user["name"].casefold()),
        }
    )


routes = [
    Route("/sandbox/authorize", authorize_page, methods=["GET"]),
    Route("/sandbox/authorize", authorize_decision, methods=["POST"]),
    Route("/sandbox/token", token, methods=["POST"]),
    Route("/sandbox/userinfo", userinfo, methods=["GET"]),
]
