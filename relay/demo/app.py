"""A small relying party that signs in through the relay with code + PKCE + nonce.

It talks to the relay only over HTTP (discovery, JWKS, /token, /userinfo), verifies the
id_token's signature against the JWKS and its iss, aud, exp and nonce, checks the `iss`
authorization response parameter (RFC 9207), and shows the claims and the userinfo answer.
"""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from relay.core import Relay
from relay.digests import new_verifier, s256, sha256_hex
from relay.errors import InvalidRequest
from relay.i18n import Text, _
from relay.i18n.negotiation import clean_ui_locales
from relay.params import Params, form_params, query_params
from relay.templating import render

CLIENT_ID = "demo"
STATE_COOKIE = "demo_state"


def demo_key(state: str) -> str:
    """The demo's login record, under the state's hash: the state is also its cookie's value."""
    return f"demo:{sha256_hex(state)}"


LOGIN_TTL = 15 * 60


class DemoError(Exception):
    """Why the demo's sign-in did not finish, for the person at the demo page."""

    def __init__(self, problem: Text) -> None:
        super().__init__(problem.english())
        self.problem = problem


def asked_locales(params: Params) -> str | None:
    """The demo's own `ui_locales` (its language links), passed on to /authorize as an RP
    would; a malformed value is dropped."""
    try:
        return clean_ui_locales(params.get("ui_locales", max_chars=64))
    except InvalidRequest:
        return None


def redirect_uri(relay: Relay) -> str:
    return relay.settings.url("/demo/callback")


async def index(request: Request) -> Response:
    ui_locales = asked_locales(query_params(request))
    return render(request, "demo_index.html", {"ui_locales": ui_locales}, ui_locales=ui_locales)


async def login(request: Request) -> Response:
    relay: Relay = request.app.state.relay
    try:
        params = query_params(request) if request.method == "GET" else await form_params(request)
    except InvalidRequest:
        params = Params([])
    ui_locales = asked_locales(params)
    state = secrets.token_urlsafe(24)
    verifier = new_verifier()
    nonce = secrets.token_urlsafe(24)
    await relay.store.create(
        demo_key(state),
        {"verifier": verifier, "nonce": nonce, "started": time.time(), "ui_locales": ui_locales},
        LOGIN_TTL,
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": redirect_uri(relay),
            "scope": "openid profile",
            "state": state,
            "nonce": nonce,
            "code_challenge": s256(verifier),
            "code_challenge_method": "S256",
            **({"ui_locales": ui_locales} if ui_locales else {}),
        }
    )
    response = RedirectResponse(relay.settings.url(f"/authorize?{query}"), status_code=303)
    response.set_cookie(
        STATE_COOKIE,
        state,
        max_age=LOGIN_TTL,
        path="/demo",
        httponly=True,
        samesite="lax",
        secure=relay.settings.secure_cookies,
    )
    return response


async def callback(request: Request) -> Response:
    relay: Relay = request.app.state.relay
    try:
        result = await finish(request, relay)
    except InvalidRequest as exc:
        problem = _("The answer is not valid: %(problem)s.", problem=exc.description)
        return render(request, "demo_result.html", {"problem": problem}, status_code=400)
    except httpx.HTTPError as exc:
        problem = _("The relay could not be reached (%(error)s).", error=type(exc).__name__)
        return render(request, "demo_result.html", {"problem": problem}, status_code=502)
    except DemoError as exc:
        return render(request, "demo_result.html", {"problem": exc.problem}, status_code=400)
    response = render(request, "demo_result.html", result, ui_locales=result["ui_locales"])
    response.delete_cookie(STATE_COOKIE, path="/demo")
    return response


async def finish(request: Request, relay: Relay) -> dict[str, Any]:
    params = query_params(request)
    issuer = relay.settings.issuer
    state = params.get("state")
    cookie = request.cookies.get(STATE_COOKIE, "")
    if not state or not hmac.compare_digest(state.encode(), cookie.encode()):
        raise DemoError(_("The state does not match this browser's login (a CSRF check)."))
    pending = await relay.store.consume(demo_key(state))
    if pending is None:
        raise DemoError(_("This login was already finished or is too old. Start again."))
    if params.get("iss") != issuer:
        raise DemoError(
            _(
                "The response's iss is %(got)s, expected %(expected)s.",
                got=repr(params.get("iss")),
                expected=repr(issuer),
            )
        )
    if params.get("error"):
        raise DemoError(
            _(
                "The relay answered %(error)s: %(description)s",
                error=str(params.get("error")),
                description=str(params.get("error_description")),
            )
        )
    code = params.get("code")
    if code is None:
        raise DemoError(_("The relay's answer has no code."))

    client = relay.settings.clients[CLIENT_ID]
    http = relay.http
    discovery = (await http.get(f"{issuer}/.well-known/openid-configuration")).json()
    response = await http.post(
        discovery["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri(relay),
            "code_verifier": pending["verifier"],
        },
        auth=httpx.BasicAuth(CLIENT_ID, client.secret),
    )
    tokens = response.json()
    if response.status_code != 200:
        raise DemoError(_("The token endpoint answered %(error)s.", error=str(tokens.get("error"))))
    keys = KeySet.import_key_set((await http.get(discovery["jwks_uri"])).json())
    try:
        id_token = jwt.decode(tokens["id_token"], keys, algorithms=["RS256"])
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": CLIENT_ID},
            nonce={"essential": True, "value": pending["nonce"]},
            exp={"essential": True},
        ).validate(id_token.claims)
    except (JoseError, ValueError) as exc:
        raise DemoError(_("The id_token did not verify: %(error)s", error=str(exc))) from None
    userinfo = await http.get(
        discovery["userinfo_endpoint"],
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    return {
        "claims": id_token.claims,
        "header": id_token.header,
        "userinfo": userinfo.json(),
        "token_response": {
            k: v for k, v in tokens.items() if k not in ("access_token", "id_token")
        },
        "ui_locales": pending.get("ui_locales"),
    }


routes = [
    Route("/demo", index, methods=["GET"]),
    Route("/demo/login", login, methods=["GET", "POST"]),
    Route("/demo/callback", callback, methods=["GET"]),
]
