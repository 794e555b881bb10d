"""The phone face: the URL inside the QR, the page that says who is asking, and the hop to the
provider.

GET /s/{ticket} consumes the ticket (a QR scans once), marks the session scanned, binds this phone
with a cookie and sends it to /phone/{id}, which reloads safely. Continue goes to the provider's
authorization URL with a fresh upstream state and PKCE verifier, kept in the store (under the
state's hash) until the callback consumes them, and binds this browser to that trip with one more
cookie, so the provider's answer counts only in the browser that asked (RFC 9700 §4.7.1).
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from relay.core import Relay
from relay.digests import new_verifier, sha256_hex
from relay.errors import ProviderError
from relay.observability.context import bind_session
from relay.pages.binding import (
    PHONE_COOKIE,
    URL_TOKEN,
    holds,
    same_origin,
    session_in_path,
    set_callback_cookie,
    set_phone_cookie,
)
from relay.providers import Trip
from relay.sessions import LoginSession, Status
from relay.templating import message_page, render

log = logging.getLogger("relay.phone")


def upstream_key(state: str) -> str:
    return f"upstream:{sha256_hex(state)}"


def callback_url(relay: Relay, provider: str) -> str:
    return relay.settings.url(f"/callback/{provider}")


async def scan(request: Request) -> Response:
    relay: Relay = request.app.state.relay
    ticket = request.path_params["ticket"]
    secret = secrets.token_urlsafe(32)
    session = None
    if URL_TOKEN.fullmatch(ticket):
        wrong_app = await needs_other_app(request, relay, ticket)
        if wrong_app is not None:
            return wrong_app
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
    bind_session(session.id)  # the path holds only the (masked) ticket
    response = RedirectResponse(f"/phone/{session.id}", status_code=303)
    set_phone_cookie(response, relay, session.id, secret)
    return response


async def needs_other_app(request: Request, relay: Relay, ticket: str) -> Response | None:
    """WeChat's sign-in works only inside WeChat. A QR scanned with the camera opens the phone's
    ordinary browser: say so there, before the ticket is used, so that a scan from WeChat
    itself still works."""
    session = await relay.sessions.for_ticket(ticket)
    if session is None:
        return None
    app = relay.providers[session.request.provider].app_only
    if app is None or app.user_agent_marker in request.headers.get("user-agent", ""):
        return None
    return message_page(
        request,
        f"Open this in {app.app_name}",
        f"Signing in with {app.app_name} works only inside the {app.app_name} app. Open "
        f"{app.app_name}, use its Scan feature, and scan the code on your computer again.",
        tone="warning",
    )


async def scanned_on_this_phone(request: Request) -> LoginSession | Response:
    """The session in the path if this phone scanned it and it still waits for the phone;
    otherwise the page to show instead (a refusal, or the outcome)."""
    relay: Relay = request.app.state.relay
    session = await session_in_path(request)
    if session is None or not holds(request, PHONE_COOKIE, session.phone_hash):
        return message_page(
            request,
            "This sign-in is not on this phone",
            "Scan the QR code on the screen you are signing in on.",
            status_code=404,
            tone="warning",
        )
    if request.method == "POST" and not same_origin(request, relay):
        return message_page(
            request, "Request refused", "This request came from another site.", status_code=403
        )
    if session.status is not Status.SCANNED:
        return outcome_page(request, session)
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
    session = await scanned_on_this_phone(request)
    if isinstance(session, Response):
        return session
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
    session = await scanned_on_this_phone(request)
    if isinstance(session, Response):
        return session
    provider = relay.providers[session.request.provider]
    trip = Trip(
        state=secrets.token_hex(20),  # letters and digits only: WeChat's rule for state
        redirect_uri=callback_url(relay, provider.name),
        code_verifier=new_verifier(),
        nonce=secrets.token_hex(16),
    )
    try:
        location = await provider.authorization_url(trip)
    except ProviderError as exc:  # e.g. an OpenID provider's discovery document is unreadable
        log.warning("login %s… at %s: %s", session.id[:8], provider.name, exc)
        session = await relay.sessions.settle(
            session,
            Status.FAILED,
            reason=exc.code,
            message=f"{provider.display_name} could not start the sign-in ({exc}).",
        )
        return outcome_page(request, session)
    browser = secrets.token_urlsafe(32)
    record = {
        **dataclasses.asdict(trip),
        "session_id": session.id,
        "provider": provider.name,
        "browser_hash": sha256_hex(browser),
    }
    ttl = max(session.expires_at - relay.sessions.now(), 1)
    await relay.store.create(upstream_key(trip.state), record, ttl)
    response = RedirectResponse(location, status_code=303)
    set_callback_cookie(response, relay, provider.name, trip.state, browser)
    return response


def trip_of(record: dict[str, Any]) -> Trip:
    return Trip(
        state=record["state"],
        redirect_uri=record["redirect_uri"],
        code_verifier=record["code_verifier"],
        nonce=record["nonce"],
    )


async def decline(request: Request) -> Response:
    """ "This wasn't me" / "Cancel" on the phone: denied, and the desktop is told."""
    relay: Relay = request.app.state.relay
    session = await scanned_on_this_phone(request)
    if isinstance(session, Response):
        return session
    session = await relay.sessions.settle(
        session,
        Status.DENIED,
        reason="user_declined",
        message="The sign-in was declined on the phone.",
    )
    return outcome_page(request, session)
