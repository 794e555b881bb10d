"""POST /device_authorization: a device asks to sign someone in (RFC 8628 §3.1, §3.2).

Checks in order: the body, the client's authentication (exactly as /token:
client_secret_basic or client_secret_post), that the client may use the device grant
(`kiosk = true`, else unauthorized_client), the scope (as /authorize reads it: openid for an
id_token, profile for its claims, unknown scopes ignored; a malformed one is invalid_scope),
the provider (a relay extension: one the client may use, by default its first) and ui_locales
(the language of the phone's pages, kept as /authorize keeps it).

Then a LoginSession starts, open `device_code_ttl` seconds, with the device's address and
User-Agent as the context the phone shows; its device_code and user_code are stored
(records.py). The answer (§3.2) adds `verification_uri_complete_qr`, an SVG data URI of the QR
of verification_uri_complete, for devices that cannot draw a QR themselves: drawn here, not
served from a URL such as /qr.svg?data=..., which would let anyone draw QR codes branded with
the relay's address. Every answer carries Cache-Control: no-store.
"""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from relay.core import Relay
from relay.crossdevice import DesktopContext
from relay.device import DEVICE_REDIRECT
from relay.device.records import create_records
from relay.device.user_codes import shown
from relay.errors import InvalidRequest, InvalidScope, OAuthError, UnauthorizedClient
from relay.i18n.negotiation import clean_ui_locales
from relay.oidc.clients import authenticate_client
from relay.oidc.discovery import SCOPES_SUPPORTED
from relay.oidc.responses import NO_STORE, error_json
from relay.pages.qr import qr_svg
from relay.params import Params, form_params
from relay.sessions import AuthorizationRequest
from relay.settings import ClientConfig

SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]+")  # RFC 6749 §3.3
# Nobody holds the desktop cookie of a device login: no hash of any cookie is empty, so
# /sessions/{id}, its live streams and its resume refuse every browser (relay/pages/binding.py).
NO_BROWSER = ""


def check_kiosk(client: ClientConfig) -> None:
    if not client.kiosk:
        raise UnauthorizedClient("this client may not use the device authorization grant")


def check_scope(params: Params) -> tuple[str, ...]:
    """As /authorize: known scopes kept in order, unknown ones ignored; but a scope that is not
    a list of RFC 6749 §3.3 scope-tokens is refused."""
    requested = (params.get("scope") or "").split()
    if not all(SCOPE_TOKEN.fullmatch(scope) for scope in requested):
        raise InvalidScope("scope must be scope-tokens separated by spaces (RFC 6749 section 3.3)")
    return tuple(dict.fromkeys(s for s in requested if s in SCOPES_SUPPORTED))


def check_provider(client: ClientConfig, params: Params) -> str:
    provider = params.get("provider")
    if provider is None:
        return client.providers[0]
    if provider not in client.providers:
        raise InvalidRequest(f"provider {provider[:64]} is not enabled for this client")
    return provider


def qr_data_uri(url: str) -> str:
    """The QR of `url` as an SVG data URI. Drawn without qr_svg's cache, which keeps the
    login pages' codes: every device authorization's URL is new."""
    svg: str = qr_svg.__wrapped__(url)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


async def device_authorization(request: Request) -> Response:
    relay: Relay = request.app.state.relay
    try:
        params = await form_params(request)
        client = relay.settings.clients[
            authenticate_client(request, params, relay.settings.client_secret)
        ]
        check_kiosk(client)
        auth_request = AuthorizationRequest(
            client_id=client.client_id,
            redirect_uri=DEVICE_REDIRECT,
            redirect_uri_given=False,
            scope=check_scope(params),
            provider=check_provider(client, params),
            ui_locales=clean_ui_locales(params.get("ui_locales")),
        )
    except OAuthError as error:
        return error_json(error)
    return JSONResponse(await start(request, relay, auth_request), headers=NO_STORE)


async def start(
    request: Request, relay: Relay, auth_request: AuthorizationRequest
) -> dict[str, Any]:
    """The device login, started and stored; the answer of RFC 8628 §3.2."""
    ttl = relay.settings.device_code_ttl
    session = await relay.sessions.start(
        auth_request, NO_BROWSER, desktop=DesktopContext.of(request), ttl=ttl
    )
    device_code, user_code = await create_records(relay, session, ttl)
    verification_uri = relay.settings.url("/device")
    complete = f"{verification_uri}?{urlencode({'user_code': shown(user_code)})}"
    return {
        "device_code": device_code,
        "user_code": shown(user_code),
        "verification_uri": verification_uri,
        "verification_uri_complete": complete,
        "verification_uri_complete_qr": qr_data_uri(complete),
        "expires_in": ttl,
        "interval": relay.settings.device_poll_interval,
    }
