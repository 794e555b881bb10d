"""The phone face: the URL inside the QR, the page that says who is asking, and the hop to the
provider.

GET /s/{ticket} checks the ticket (the QR's current one: relay/sessions/tickets.py), marks the
session scanned (once: a second scan changes nothing), binds this phone with a cookie and sends it
to /phone/{id}, which reloads safely. That page tells who is asking (the app, the computer's
browser, address, rough location and time) before anything happens, and, with `match_code`, offers
three numbers of which only the screen's continues (relay/crossdevice/). Continue goes to the
provider's authorization URL with a fresh upstream state and PKCE verifier, kept in the store
(under the state's hash) until the callback consumes them, and binds this browser to that trip with
one more cookie, so the provider's answer counts only in the browser that asked (RFC 9700 §4.7.1).
"""

from __future__ import annotations

import dataclasses
import hmac
import logging
import secrets
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from relay.core import Relay
from relay.crossdevice import agent_text, same_network
from relay.device import is_device_login
from relay.digests import new_verifier, sha256_hex
from relay.errors import InvalidRequest, ProviderError
from relay.i18n import _
from relay.i18n.dates import time_ago, utc_time
from relay.observability.context import bind_session
from relay.pages.binding import (
    URL_TOKEN,
    desktop_cookie,
    holds,
    phone_cookie,
    same_origin,
    session_in_path,
    set_callback_cookie,
    set_phone_cookie,
)
from relay.pages.outcomes import DECLINED_ON_PHONE, WRONG_NUMBER, could_not_start, told
from relay.params import form_params
from relay.providers import Trip
from relay.sessions import LoginSession, Status
from relay.settings import ClientConfig
from relay.templating import message_page, render

log = logging.getLogger("relay.phone")


def upstream_key(state: str) -> str:
    return f"upstream:{sha256_hex(state)}"


def callback_url(relay: Relay, provider: str) -> str:
    return relay.settings.url(f"/callback/{provider}")


async def scan(request: Request) -> Response:
    relay: Relay = request.app.state.relay
    ticket = request.path_params["ticket"]
    holder = await relay.sessions.ticket_holder(ticket) if URL_TOKEN.fullmatch(ticket) else None
    if holder is None:
        return stale_code(request, None)
    bind_session(holder.id)  # the path holds only the (masked) ticket
    if holder.status is not Status.PENDING:
        if holds(request, phone_cookie(relay, holder.id), holder.phone_hash):
            # This phone scanned it: it came back (the Back button); where it left off.
            return RedirectResponse(f"/phone/{holder.id}", status_code=303)
        if holder.phone_hash is None:  # ended unscanned: expired or cancelled
            return stale_code(request, holder)
        return message_page(
            request,
            _("This QR code was scanned already"),
            _(
                "Each code can be scanned once, and another phone scanned this one. Nothing was "
                "changed. If you are signing in, look at the screen: it shows what to do next."
            ),
            status_code=409,
            tone="warning",
            login=holder,
        )
    wrong_app = needs_other_app(request, relay, holder)
    if wrong_app is not None:
        return wrong_app
    if far_away(request, relay, holder) and client_of(relay, holder).same_network == "require":
        return not_nearby(request, holder)
    secret = secrets.token_urlsafe(32)
    session = await relay.sessions.scan(ticket, sha256_hex(secret))
    if session is None:  # the code changed, or another phone was quicker, since the check
        return stale_code(request, holder)
    response = RedirectResponse(f"/phone/{session.id}", status_code=303)
    set_phone_cookie(response, relay, session.id, secret)
    return response


def stale_code(request: Request, session: LoginSession | None) -> Response:
    return message_page(
        request,
        _("This QR code is no longer valid"),
        _(
            "The code on the screen changes while it waits, or the sign-in has ended. Scan the "
            "code that is on the screen now, or start again there."
        ),
        status_code=404,
        tone="warning",
        login=session,
    )


def client_of(relay: Relay, session: LoginSession) -> ClientConfig:
    return relay.settings.clients[session.request.client_id]


def far_away(request: Request, relay: Relay, session: LoginSession) -> bool:
    """Whether this phone is not known to be on the network of the screen that asked
    (relay/crossdevice/network.py): another network, or an address unknown on either side
    (which "require" must not wave through). Only asked for clients with `same_network` on."""
    if client_of(relay, session).same_network == "off":
        return False
    phone_ip = request.client.host if request.client else None
    return same_network(session.desktop_ip, phone_ip) is not True


def not_nearby(request: Request, session: LoginSession) -> Response:
    return message_page(
        request,
        _("Scan from the same network as the screen"),
        _(
            "This sign-in works only from a phone on the same network as the screen that shows "
            "the code (the same Wi-Fi, for example). If the screen is not in front of you, "
            "someone may be trying to sign in as you: do not continue."
        ),
        status_code=403,
        tone="error",
        login=session,
    )


def needs_other_app(request: Request, relay: Relay, session: LoginSession) -> Response | None:
    """WeChat's sign-in works only inside WeChat. A QR scanned with the camera opens the phone's
    ordinary browser: say so there, before the scan counts, so that a scan from WeChat itself
    still works."""
    app = relay.providers[session.request.provider].app_only
    if app is None or app.user_agent_marker in request.headers.get("user-agent", ""):
        return None
    return message_page(
        request,
        _("Open this in %(app)s", app=app.app_name),
        _(
            "Signing in with %(app)s works only inside the %(app)s app. Open %(app)s, use its "
            "Scan feature, and scan the code on the device again.",
            app=app.app_name,
        )
        if is_device_login(session)
        else _(
            "Signing in with %(app)s works only inside the %(app)s app. Open %(app)s, use its "
            "Scan feature, and scan the code on your computer again.",
            app=app.app_name,
        ),
        tone="warning",
        login=session,
    )


async def scanned_on_this_phone(request: Request) -> LoginSession | Response:
    """The session in the path if this phone scanned it and it still waits for the phone;
    otherwise the page to show instead (a refusal, or the outcome)."""
    relay: Relay = request.app.state.relay
    session = await session_in_path(request)
    if session is None or not holds(request, phone_cookie(relay, session.id), session.phone_hash):
        return message_page(
            request,
            _("This sign-in is not on this phone"),
            _("Scan the QR code on the screen you are signing in on."),
            status_code=404,
            tone="warning",
            login=session,
        )
    if request.method == "POST" and not same_origin(request, relay):
        return message_page(
            request,
            _("Request refused"),
            _("This request came from another site."),
            status_code=403,
            login=session,
        )
    if session.status is not Status.SCANNED:
        return outcome_page(request, session)
    return session


def outcome_page(request: Request, session: LoginSession) -> Response:
    """What the phone shows once its part is over. When the login went on in the browser that
    started it (relay/pages/same_device.py), that browser goes back to the app with the outcome,
    as its login page would. A QR scanned in a window that merely shares the login's cookie (the
    sandbox's phone simulator, a phone sharing the browser profile) gets the phone's page: the
    login page that shows the QR is still open and finishes the login through its live stream."""
    relay: Relay = request.app.state.relay
    if session.same_device and holds(
        request, desktop_cookie(relay, session.id), session.binding_hash
    ):
        return RedirectResponse(f"/sessions/{session.id}/resume", status_code=303)
    if session.status in (Status.CONFIRMED, Status.COMPLETED):
        return message_page(
            request,
            # A device login (RFC 8628, relay/device/): the device, not a computer, waits.
            _("Done. Return to the device")
            if is_device_login(session)
            else _("Done. Return to your computer"),
            _("You are signed in there. You can close this page."),
            tone="success",
            login=session,
        )
    if session.status is Status.DENIED:
        return message_page(
            request,
            _("Sign-in declined"),
            told(session.message) or _("Nothing was shared. You can close this page."),
            tone="warning",
            login=session,
        )
    if session.status is Status.CANCELLED:
        return message_page(
            request,
            _("Sign-in cancelled"),
            _("It was cancelled on the computer. You can close this page."),
            tone="warning",
            login=session,
        )
    if session.status is Status.EXPIRED:
        return message_page(
            request,
            _("This sign-in has expired"),
            _("Start again on the device and scan its new code.")
            if is_device_login(session)
            else _("Refresh the QR code on your computer and scan it again."),
            tone="warning",
            login=session,
        )
    return message_page(
        request,
        _("The sign-in failed"),
        told(session.message)
        or (
            _("Something went wrong at the provider. Try again on the device.")
            if is_device_login(session)
            else _("Something went wrong at the provider. Try again on your computer.")
        ),
        tone="error",
        login=session,
    )


async def phone_page(request: Request) -> Response:
    relay: Relay = request.app.state.relay
    session = await scanned_on_this_phone(request)
    if isinstance(session, Response):
        return session
    return decision_page(request, relay, session)


def decision_page(
    request: Request, relay: Relay, session: LoginSession, *, status_code: int = 200
) -> Response:
    """Who is asking, and Continue or "This wasn't me" (or the three numbers to pick from)."""
    client = client_of(relay, session)
    started = datetime.fromtimestamp(session.created_at, UTC)
    return render(
        request,
        "phone.html",
        {
            "session": session,
            "client": client,
            "provider": relay.providers[session.request.provider],
            "browser": agent_text(session.desktop_agent),
            "ip": session.desktop_ip,
            "place": relay.locator.place(session.desktop_ip),
            "started_iso": started.isoformat().replace("+00:00", "Z"),
            "started": utc_time(session.created_at),
            "ago": time_ago(max(0.0, relay.sessions.now() - session.created_at)),
            "far_away": far_away(request, relay, session),
            "device": is_device_login(session),  # RFC 8628: a screen without a browser asks
        },
        status_code=status_code,
        login=session,
    )


async def continue_to_provider(request: Request) -> Response:
    relay: Relay = request.app.state.relay
    session = await scanned_on_this_phone(request)
    if isinstance(session, Response):
        return session
    if far_away(request, relay, session) and client_of(relay, session).same_network == "require":
        return not_nearby(request, session)
    if session.match_code is not None:
        try:
            pick = (await form_params(request)).get("pick", max_chars=8)
        except InvalidRequest:
            pick = None
        if pick is None or not pick.isdigit():
            return decision_page(request, relay, session, status_code=400)
        if not hmac.compare_digest(pick.encode(), str(session.match_code).encode()):
            session = await relay.sessions.settle(
                session,
                Status.DENIED,
                reason="wrong_code",
                message=WRONG_NUMBER.english(),
            )
            return outcome_page(request, session)
    return await to_provider(request, relay, session)


async def to_provider(request: Request, relay: Relay, session: LoginSession) -> Response:
    """The hop to the provider's authorization page, from a scanned session: a fresh upstream
    state and PKCE verifier, kept until the callback, and this browser bound to the trip."""
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
            message=could_not_start(provider.display_name, str(exc)).english(),
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
    set_callback_cookie(response, relay, trip.state, browser)
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
        message=DECLINED_ON_PHONE.english(),
    )
    return outcome_page(request, session)
