"""Binding: only the browser that started a login may finish it, only the phone that scanned
may continue it, and only the browser that went to the provider may bring its answer back.

Each cookie holds a random secret; the store keeps its SHA-256. A cookie's Path is its own
prefix (`/sessions/{id}`, `/phone/{id}`, `/callback/{provider}`), so one browser can run several
logins at once and sends each cookie only where it belongs. HttpOnly and SameSite=Lax: not
readable by scripts, not sent on cross-site POSTs. Page actions (POST) and the live socket also
refuse a foreign Origin, which SameSite=Lax alone would let through from a sibling subdomain.
"""

from __future__ import annotations

import hmac
import re

from starlette.requests import HTTPConnection
from starlette.responses import Response

from relay.core import Relay
from relay.digests import sha256_hex
from relay.sessions import LoginSession
from relay.sessions.service import RECORD_GRACE

DESKTOP_COOKIE = "relay_bind"
PHONE_COOKIE = "relay_phone"
URL_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")  # session ids and scan tickets in paths


def _set(response: Response, relay: Relay, name: str, path: str, secret: str) -> None:
    response.set_cookie(
        name,
        secret,
        max_age=relay.settings.session_ttl + RECORD_GRACE,
        path=path,
        secure=relay.settings.secure_cookies,
        httponly=True,
        samesite="lax",
    )


def set_desktop_cookie(response: Response, relay: Relay, session_id: str, secret: str) -> None:
    _set(response, relay, DESKTOP_COOKIE, f"/sessions/{session_id}", secret)


def set_phone_cookie(response: Response, relay: Relay, session_id: str, secret: str) -> None:
    _set(response, relay, PHONE_COOKIE, f"/phone/{session_id}", secret)


def callback_cookie(state: str) -> str:
    """One cookie per trip to the provider, so two logins on one phone do not clash."""
    return f"relay_cb_{sha256_hex(state)[:16]}"


def set_callback_cookie(
    response: Response, relay: Relay, provider: str, state: str, secret: str
) -> None:
    _set(response, relay, callback_cookie(state), f"/callback/{provider}", secret)


def holds(connection: HTTPConnection, cookie: str, expected_hash: str | None) -> bool:
    """True when the request carries the cookie whose hash the store keeps."""
    secret = connection.cookies.get(cookie)
    if not secret or not expected_hash:
        return False
    return hmac.compare_digest(sha256_hex(secret), expected_hash)


def same_origin(connection: HTTPConnection, relay: Relay) -> bool:
    """Whether the request comes from the relay's own pages (or straight from the user).

    Browsers say so in Sec-Fetch-Site (Fetch Metadata); it is the only reliable signal for
    form posts here, because under the pages' `Referrer-Policy: no-referrer` a browser sends
    `Origin: null` even for a same-origin POST. Without it, a real Origin must be ours."""
    site = connection.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = connection.headers.get("origin")
    return origin in (None, "null") or origin == relay.settings.issuer


async def session_in_path(connection: HTTPConnection) -> LoginSession | None:
    relay: Relay = connection.app.state.relay
    session_id = connection.path_params["session_id"]
    if not URL_TOKEN.fullmatch(session_id):
        return None
    return await relay.sessions.find(session_id)
