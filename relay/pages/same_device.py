"""The login on the phone already: nothing to scan.

When /authorize is opened on a phone (the login page sees a phone's User-Agent), or when the person
presses "Open on this device", the page posts to POST /sessions/{id}/here. The browser that holds
the login's own cookie is the one that started it, so it becomes the phone too: the session is
scanned (with the QR's current ticket, through the same compare-and-set as a scan, so a phone that
scanned first wins and this changes nothing) and marked `same_device`, this browser gets the
phone's cookie, and it goes straight to the provider's authorization page, whose universal link
(TikTok's, Mixin's) opens the provider's app where one is installed. The provider sends it back to
/callback/{provider}, the callback checks its state, PKCE and trip cookie as for any phone, and the
outcome page, seeing the mark and the login's own cookie, sends this browser back to the app
through /sessions/{id}/resume.

The mark, not the cookie alone, decides: a QR scanned in a browser that shares the cookie (the
sandbox's phone simulator, a window of the same browser; a phone sharing the browser profile)
is an ordinary scan, and the login page that shows the QR finishes that login through its live
stream, as it would for any phone.

What is not asked here: the context page, the number to match and the network check. They guard
against a QR carried to someone else's phone; a browser holding the cookie of the login it started
is not a victim of that (RFC 10027 §4: the flow is not cross-device).
"""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from relay.core import Relay
from relay.digests import sha256_hex
from relay.pages.binding import holds, phone_cookie, set_phone_cookie
from relay.pages.login import bound_session
from relay.pages.phone import needs_other_app, to_provider
from relay.sessions import Status


async def continue_here(request: Request) -> Response:
    """POST /sessions/{id}/here: go on at the provider in this browser."""
    relay: Relay = request.app.state.relay
    session = await bound_session(request)  # this browser started it; same-origin POST
    if isinstance(session, Response):
        return session
    back_to_page = RedirectResponse(f"/sessions/{session.id}", status_code=303)
    if (
        session.status is Status.SCANNED
        and session.same_device
        and holds(request, phone_cookie(relay, session.id), session.phone_hash)
    ):
        return await to_provider(request, relay, session)  # pressed again, or came back
    if session.status is not Status.PENDING:
        return back_to_page  # a phone scanned it, or it ended: the page says which
    wrong_app = needs_other_app(request, relay, session)
    if wrong_app is not None:
        return wrong_app
    secret = secrets.token_urlsafe(32)
    scanned = await relay.sessions.scan(
        relay.sessions.ticket(session), sha256_hex(secret), same_device=True
    )
    if scanned is None:  # a phone was quicker, or its time ran out, since the read above
        return back_to_page
    response = await to_provider(request, relay, scanned)
    set_phone_cookie(response, relay, scanned.id, secret)
    return response
