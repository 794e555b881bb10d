"""`/kiosk/{client}`: a screen that always shows a live QR and signs in one person after another.

::

    kiosk browser                               relay
    GET /kiosk/lobby?key=KEY  ───────────────▶  key checked: kiosk cookie (Path=/kiosk/lobby),
                              ◀── 303 ───────   303 to /kiosk/lobby (the key leaves the address bar)
    GET /kiosk/lobby          ───────────────▶  the full-screen page (static/kiosk.js)
    POST /kiosk/lobby/logins  ───────────────▶  a login for the client's first redirect_uri, its
                              ◀── JSON ──────   cookie; {session_id, scan_url, expires_in, ...}
    WS /sessions/{id}/live    ◀─────────────▶   pending, scanned, confirmed (relay/pages/live.py)
    redirect mode:  GET /sessions/{id}/resume   302 to the redirect_uri with code and state
    message mode:   POST /kiosk/lobby/logins/{id}/code → {code, state, iss}, posted to the
                    embedding window (its origin: the first redirect_uri's); then the next login

Only a browser that was given the kiosk key holds the kiosk cookie: an HMAC of the client id under
the key, compared in constant time, never the key itself. The key travels once, in the query of the
first request, which no log line holds (relay/observability/access.py logs no query string). Every
key tried counts against `[limits] user_code` for the address, as the codes typed at /device do;
the key itself is at least 128 bits (relay/settings.py), so that counting only slows guessing down.

The cookie is SameSite=Lax: in redirect mode the kiosk's application, on its own site, sends the
browser back to /kiosk/lobby, and a Strict cookie would stay home on that navigation (the page
would say it is locked). A GET only shows the page; the POSTs check the request's origin
(same_origin) besides the cookie. Every page load and every login sets the cookie again for
KIOSK_COOKIE_DAYS, so a kiosk that runs locks only after that long switched off.

Each login's binding cookie lives no longer than the login (session_ttl) and is removed when the
page moves on to the next one; the page keeps no state of a login once it has ended.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from relay.abuse.answers import too_many
from relay.abuse.guards import address_of, limits_of
from relay.core import Relay
from relay.headers import SOURCES
from relay.i18n import _
from relay.pages.binding import (
    URL_TOKEN,
    desktop_cookie,
    forget,
    holds,
    same_origin,
    session_in_path,
    set_desktop_cookie,
)
from relay.pages.login import STATUS_TEXT, complete, leaving, scan_url, start_bound
from relay.pages.outcomes import ScriptTexts
from relay.sessions import AuthorizationRequest, LoginSession, Status
from relay.settings import ClientConfig
from relay.templating import message_page, render

KIOSK_SCOPE = ("openid", "profile")
KIOSK_COOKIE_DAYS = 30  # from its last page load or login: a kiosk off longer needs its key again
KEY_LIMIT = "user_code"  # [limits] user_code: the keys tried, as the codes typed at /device
NO_STORE = {"Cache-Control": "no-store"}
# The page's policy (relay/headers.py) with the kiosk application's origin as the only framer.
FRAMED_CSP = f"{SOURCES}; frame-ancestors "


def kiosk_client(relay: Relay, client_id: str) -> ClientConfig | None:
    """The client, when it has a kiosk page (kiosk = true and a kiosk_key)."""
    client = relay.settings.clients.get(client_id)
    if client is None or not client.kiosk or not client.kiosk_key:
        return None
    return client


def kiosk_path(client: ClientConfig) -> str:
    """The page's address, as the 303 after the key, the cookie's Path and the script (its
    data-base) all write it: the cookie is sent only where the path is spelled the same."""
    return f"/kiosk/{quote(client.client_id, safe='')}"


def cookie_name(relay: Relay) -> str:
    # __Host- needs Path=/; __Secure- allows the kiosk's own path and still demands https.
    return ("__Secure-" if relay.settings.secure_cookies else "") + "relay_kiosk"


def cookie_value(client: ClientConfig) -> str:
    """What the kiosk cookie holds: derived from the key, useless without it elsewhere."""
    assert client.kiosk_key
    message = f"qr-relay kiosk cookie:{client.client_id}".encode()
    return hmac.new(client.kiosk_key.encode(), message, hashlib.sha256).hexdigest()


def unlocked(request: Request, client: ClientConfig) -> bool:
    held = request.cookies.get(cookie_name(request.app.state.relay), "")
    return hmac.compare_digest(held.encode(), cookie_value(client).encode())


def keep_unlocked(response: Response, relay: Relay, client: ClientConfig) -> None:
    """The kiosk cookie, good for KIOSK_COOKIE_DAYS from now (Lax: see the module's docstring)."""
    response.set_cookie(
        cookie_name(relay),
        cookie_value(client),
        max_age=KIOSK_COOKIE_DAYS * 86400,
        path=kiosk_path(client),
        secure=relay.settings.secure_cookies,
        httponly=True,
        samesite="lax",
    )


def target_origin(client: ClientConfig) -> str:
    """Where the code is posted in message mode, and who may frame the page: the first
    redirect_uri's scheme, host and port. A user name in it (`https://u@rp.example/cb`) is no
    part of an origin: kept, postMessage would refuse the origin and CSP would not match it."""
    parts = urlsplit(client.redirect_uris[0])
    host_and_port = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme.lower()}://{host_and_port.lower()}"


def framed(response: Response, client: ClientConfig | None) -> Response:
    """A message-mode kiosk lives in its application's frame: the page, and the pages that refuse
    it (locked, not found, too many keys), may be shown there, so that whoever looks at the screen
    reads why rather than the browser's own "refused to connect". relay/headers.py keeps a
    response's own policy and then leaves X-Frame-Options off."""
    if client is not None and client.kiosk_mode == "message":
        response.headers["Content-Security-Policy"] = FRAMED_CSP + target_origin(client)
    return response


def not_found(request: Request, client: ClientConfig | None) -> Response:
    page = message_page(
        request, _("Page not found"), _("There is nothing here."), status_code=404, tone="warning"
    )
    return framed(page, client)


def locked(request: Request, client: ClientConfig) -> Response:
    page = message_page(
        request,
        _("This kiosk is locked"),
        _("Open this screen with its kiosk address, key included, to unlock it."),
        status_code=403,
        tone="error",
    )
    return framed(page, client)


def chosen_provider(request: Request, client: ClientConfig) -> str | None:
    """`?provider=` when it names one of the client's providers; else its first. None: unknown."""
    name = request.query_params.get("provider")
    if name is None:
        return client.providers[0]
    return name if name in client.providers else None


async def kiosk_page(request: Request) -> Response:
    relay: Relay = request.app.state.relay
    client_id = request.path_params["client_id"]
    client = kiosk_client(relay, client_id)
    if client is None:
        return not_found(request, relay.settings.clients.get(client_id))
    provider = chosen_provider(request, client)
    if provider is None:
        refused = message_page(
            request,
            _("Request refused"),
            _("This kiosk does not offer that provider."),
            status_code=400,
            tone="error",
        )
        return framed(refused, client)
    key = request.query_params.get("key")
    if key is not None:
        return await unlock(request, client, key, provider)
    if not unlocked(request, client):
        return locked(request, client)
    shown = relay.providers[provider]
    response = render(
        request,
        "kiosk.html",
        {
            "client": client,
            "base": kiosk_path(client),
            "provider": shown,
            "mode": client.kiosk_mode,
            "target_origin": target_origin(client),
            "script_texts": ScriptTexts(STATUS_TEXT, shown.display_name),
        },
    )
    keep_unlocked(response, relay, client)
    return framed(response, client)


async def unlock(request: Request, client: ClientConfig, key: str, provider: str) -> Response:
    """`?key=`: counted for the address before it is compared, in one atomic step (counting only
    the wrong ones afterwards would let parallel guesses all pass a check made before any of them
    is counted). The right key: the cookie, and the same page without the key, so that it leaves
    the address bar and the history."""
    relay: Relay = request.app.state.relay
    refused = await limits_of(request).hit(KEY_LIMIT, address_of(request))
    if refused is not None:
        return framed(too_many(request, refused, api=False), client)
    assert client.kiosk_key
    if not hmac.compare_digest(key.encode(), client.kiosk_key.encode()):
        return locked(request, client)
    here = kiosk_path(client)
    if "provider" in request.query_params:
        here += f"?provider={quote(provider, safe='')}"
    unlocking = RedirectResponse(here, status_code=303, headers=NO_STORE)
    keep_unlocked(unlocking, relay, client)
    return unlocking


def refusal(status_code: int, error: str, description: str) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status_code,
        headers=NO_STORE,
    )


def checked(request: Request) -> ClientConfig | JSONResponse:
    """The kiosk client of an action: known, unlocked, asked from the kiosk page itself."""
    relay: Relay = request.app.state.relay
    client = kiosk_client(relay, request.path_params["client_id"])
    if client is None:
        return refusal(404, "not_found", "no kiosk here")
    if not same_origin(request, relay):
        return refusal(403, "access_denied", "this request came from another site")
    if not unlocked(request, client):
        return refusal(403, "access_denied", "this kiosk is locked")
    return client


async def start_login(request: Request) -> Response:
    """A new login for the kiosk: bound to this browser by its own cookie, which lives no longer
    than the login. `previous` (the login the page showed before): its cookie is removed."""
    relay: Relay = request.app.state.relay
    client = checked(request)
    if isinstance(client, JSONResponse):
        return client
    provider = chosen_provider(request, client)
    if provider is None:
        return refusal(400, "invalid_request", "this kiosk does not offer that provider")
    auth_request = AuthorizationRequest(
        client_id=client.client_id,
        redirect_uri=client.redirect_uris[0],
        redirect_uri_given=False,
        scope=KIOSK_SCOPE,
        provider=provider,
        state=secrets.token_urlsafe(16),
    )
    session, secret = await start_bound(request, relay, auth_request)
    answer: dict[str, Any] = {
        "session_id": session.id,
        "scan_url": scan_url(relay, session),
        # Seconds from now: the page counts them on its own clock, which may be far from ours.
        "expires_in": max(0, math.ceil(session.expires_at - relay.sessions.now())),
        "expires_at": int(session.expires_at * 1000),  # the relay's clock, in milliseconds
        "match_code": session.match_code,
    }
    response = JSONResponse(answer, headers=NO_STORE)
    keep_unlocked(response, relay, client)
    previous = request.query_params.get("previous")
    if previous and URL_TOKEN.fullmatch(previous):
        forget(response, relay, desktop_cookie(relay, previous))
    set_desktop_cookie(response, relay, session.id, secret, max_age=relay.settings.session_ttl)
    return response


async def kiosk_session(request: Request, client: ClientConfig) -> LoginSession | JSONResponse:
    relay: Relay = request.app.state.relay
    session = await session_in_path(request)
    if session is None or session.request.client_id != client.client_id:
        return refusal(404, "not_found", "this sign-in has ended")
    if not holds(request, desktop_cookie(relay, session.id), session.binding_hash):
        return refusal(403, "access_denied", "this browser did not start the sign-in")
    return session


async def hand_over_code(request: Request) -> Response:
    """Message mode: the approved login's code, once, for the page to post to its embedder."""
    relay: Relay = request.app.state.relay
    client = checked(request)
    if isinstance(client, JSONResponse):
        return client
    if client.kiosk_mode != "message":
        return refusal(404, "not_found", "this kiosk hands codes over by redirect")
    session = await kiosk_session(request, client)
    if isinstance(session, JSONResponse):
        return session
    if session.status is not Status.CONFIRMED:
        return refusal(409, "invalid_request", f"the sign-in is {session.status.value}")
    code = await complete(relay, session)
    if code is None:  # another request finished it, or its time ran out
        return refusal(409, "invalid_request", "the sign-in has ended")
    answer = {"code": code, "state": session.request.state, "iss": relay.settings.issuer}
    return leaving(relay, session, JSONResponse(answer, headers=NO_STORE))
