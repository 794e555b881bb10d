"""Binding cookies: only the browser that started a login may finish it, and only the phone that
scanned may continue it.

Each cookie holds a random secret; the session keeps its SHA-256. The cookie's Path is the
session's own prefix, so a browser can run several logins at once and sends each cookie only to
its session's endpoints. HttpOnly and SameSite=Lax: not readable by scripts, not sent on
cross-site POSTs (so a foreign page cannot cancel or refresh a login).
"""

from __future__ import annotations

import hmac

from starlette.requests import HTTPConnection
from starlette.responses import Response

from relay.core import Relay
from relay.digests import sha256_hex
from relay.sessions.service import RECORD_GRACE

DESKTOP_COOKIE = "relay_bind"
PHONE_COOKIE = "relay_phone"


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


def holds(connection: HTTPConnection, cookie: str, expected_hash: str | None) -> bool:
    """True when the request carries the cookie whose hash the session keeps."""
    secret = connection.cookies.get(cookie)
    if not secret or not expected_hash:
        return False
    return hmac.compare_digest(sha256_hex(secret), expected_hash)
