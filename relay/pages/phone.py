"""The phone face: the URL inside the QR, the page that says who is asking, and the hop to the
provider.

GET /s/{ticket} consumes the ticket (a QR scans once), marks the session scanned, binds this phone
with a cookie and sends it to /phone/{id}, which reloads safely. Continue goes to the provider's
authorization URL with a fresh upstream state and PKCE verifier, kept in the store until the
callback consumes them.
"""

from __future__ import annotations

import re
import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from relay.core import Relay
from relay.digests import new_verifier, s256, sha256_hex
from relay.errors import InvalidTransition
from relay.pages.binding import PHONE_COOKIE, holds, set_phone_cookie
from relay.pages.login import SESSION_ID
from relay.sessions import LoginSession, Status
from relay.templating import message_page, render

TICKET = re.compile(r"[A-Za-z0-9_-]{16,64}")


def upstream_key(state: str) -> str:
    return f"upstream:{state}"


def callback_url(relay: Relay, provider: str) -> str:
    return relay.settings.url(f"/callback/{provider}")


async def scan(request: Request) -> Response:
    relay: Relay = request.app.state.relay
    ticket = request.path_params["ticket"]
    secret = secrets.token_urlsafe(32)
    session = None
    if TICKET.fullmatch(ticket):
        session = await relay.sessions.scan(ticket, sha256_hex(secret))
    if session is None:
        return message_page(
            request,
            "This QR code cannot be used",
            "It has expired or was scanned already. Scan the code on the screen again, or "
            "refresh it there if it says it has expired.",
            status_code=404,
            tone="warning",
        )
    response = RedirectResponse(f"/phone/{session.id}", status_code=303)
    set_phone_cookie(response, relay, session.id, secret)
    return response


async def bound_phone_session(request: Request) -> LoginSession | Response:
    relay: Relay = request.app.state.relay
    session_id = request.path_params["session_id"]
    session = await relay.sessions.find(session_id) if SESSION_ID.fullmatch(session_id) else None
    if session is None or not holds(request, PHONE_COOKIE, session.phone_hash):
        return message_page(
            request,
            "This sign-in is not on this phone",
            "Scan the QR code on the screen you are signing in on.",
            status_code=404,
            tone="warning",
        )
    return session


def outcome_page(request: Request, session: LoginSession) -> Response:
    """What the phone shows once its part is over."""
    if session.status in (Status.CONFIRMED, Status.COMPLETED):
        return message_page(
            request,
            "Done. Return to your computer",
            "You are signed in there. You can close this page.",
            tone="success",
        )
    if session.status is Status.DENIED:
        return message_page(
            request,
            "Sign-in declined",
            session.message or "Nothing was shared. You can close this page.",
            tone="warning",
        )
    if session.status is Status.CANCELLED:
        return message_page(
            request,
            "Sign-in cancelled",
            "It was cancelled on the computer. You can close this page.",
            tone="warning",
        )
    if session.status is Status.EXPIRED:
        return message_page(
            request,
            "This sign-in has expired",
            "Refresh the QR code on your computer and scan it again.",
            tone="warning",
        )
    return message_page(
        request,
        "The sign-in failed",
        session.message or "Something went wrong at the provider. Try again on your computer.",
        tone="error",
    )


async def phone_page(request: Request) -> Response:
    relay: Relay = request.app.state.relay
    session = await bound_phone_session(request)
    if isinstance(session, Response):
        return session
    if session.status is not Status.SCANNED:
        return outcome_page(request, session)
    return render(
        request,
        "phone.html",
        {
            "session": session,
            "client": relay.settings.clients[session.request.client_id],
            "provider": relay.providers[session.request.provider],
        },
    )


async def continue_to_provider(request: Request) -> Response:
    relay: Relay = request.app.state.relay
    session = await bound_phone_session(request)
    if isinstance(session, Response):
        return session
    if session.status is not Status.SCANNED:
        return outcome_page(request, session)
    provider = relay.providers[session.request.provider]
    state = secrets.token_hex(20)  # letters and digits only: WeChat's rule for state
    verifier = new_verifier()
    ttl = max(session.expires_at - relay.sessions.now(), 1)
    await relay.store.create(
        upstream_key(state),
        {"session_id": session.id, "provider": provider.name, "code_verifier": verifier},
        ttl,
    )
    location = provider.authorization_url(
        state=state,
        redirect_uri=callback_url(relay, provider.name),
        code_challenge=s256(verifier),
    )
    return RedirectResponse(location, status_code=303)


async def decline(request: Request) -> Response:
    """ "This wasn't me" / "Cancel" on the phone: denied, and the desktop is told."""
    relay: Relay = request.app.state.relay
    session = await bound_phone_session(request)
    if isinstance(session, Response):
        return session
    if session.status is Status.SCANNED:
        try:
            session = await relay.sessions.transition(
                session,
                Status.DENIED,
                reason="user_declined",
                message="The sign-in was declined on the phone.",
            )
        except InvalidTransition:
            session = await relay.sessions.get(session.id)
    return outcome_page(request, session)
