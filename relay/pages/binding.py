"""Binding: only the browser that started a login may finish it, only the phone that scanned
may continue it, and only the browser that went to the provider may bring its answer back.

Each cookie holds a random secret; the store keeps its SHA-256. Each login (and each trip to a
provider) has a cookie of its own, named after it, so one browser can run several logins at once.
HttpOnly and SameSite=Lax: not readable by scripts, not sent on cross-site POSTs. When the issuer
is https, cookies are Secure and `__Host-` prefixed: the browser then accepts them only from this
exact host over https with Path=/ and no Domain, so a sibling subdomain or a network attacker on
plain http cannot plant or overwrite one (RFC 6265bis §4.1.3.2). Page actions (POST) and the live
streams also refuse a foreign Origin, which SameSite=Lax alone would let through from a sibling
subdomain.
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

URL_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")  # session ids and scan tickets in paths


def _name(secure: bool, role: str, of: str) -> str:
    prefix = "__Host-" if secure else ""
    return f"{prefix}relay_{role}_{sha256_hex(of)[:16]}"


def desktop_cookie(relay: Relay, session_id: str) -> str:
    return _name(relay.settings.secure_cookies, "bind", session_id)


def phone_cookie(relay: Relay, session_id: str) -> str:
    return _name(relay.settings.secure_cookies, "phone", session_id)


def callback_cookie(relay: Relay, state: str) -> str:
    """One cookie per trip to the provider, so two logins on one phone do not clash."""
    return _name(relay.settings.secure_cookies, "cb", state)


def _set(
    response: Response, relay: Relay, name: str, secret: str, max_age: int | None = None
) -> None:
    """The cookie, for `max_age` seconds; by default as long as the login's record may last."""
    response.set_cookie(
        name,
        secret,
        max_age=relay.settings.session_ttl + RECORD_GRACE if max_age is None else max_age,
        path="/",
        secure=relay.settings.secure_cookies,
        httponly=True,
        samesite="lax",
    )


def forget(response: Response, relay: Relay, name: str) -> None:
    """Remove a cookie whose login is over (a browser holds one per login until then)."""
    response.delete_cookie(
        name, path="/", secure=relay.settings.secure_cookies, httponly=True, samesite="lax"
    )


def set_desktop_cookie(
    response: Response, relay: Relay, session_id: str, secret: str, *, max_age: int | None = None
) -> None:
    _set(response, relay, desktop_cookie(relay, session_id), secret, max_age)


def set_phone_cookie(response: Response, relay: Relay, session_id: str, secret: str) -> None:
    _set(response, relay, phone_cookie(relay, session_id), secret)


def set_callback_cookie(response: Response, relay: Relay, state: str, secret: str) -> None:
    _set(response, relay, callback_cookie(relay, state), secret)


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
