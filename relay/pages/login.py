"""The desktop face: the login page, its resume, cancel and refresh actions.

Only the browser holding the session's binding cookie may see the page or act on it.
"""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from relay.core import Relay
from relay.crossdevice import DesktopContext, is_handheld
from relay.digests import sha256_hex
from relay.errors import AccessDenied, InvalidTransition
from relay.i18n import _
from relay.i18n.dates import countdown
from relay.oidc.codes import issue_code
from relay.oidc.responses import error_redirect, redirect_to_client
from relay.pages.binding import (
    desktop_cookie,
    forget,
    holds,
    same_origin,
    session_in_path,
    set_desktop_cookie,
)
from relay.pages.outcomes import CANCELLED_ON_COMPUTER, ScriptTexts
from relay.pages.qr import qr_svg
from relay.sessions import AuthorizationRequest, LoginSession, Status
from relay.sessions.service import RECORD_GRACE
from relay.templating import message_page, render

STATUS_TEXT = {  # in English, also the error_description back to the client
    Status.PENDING: _("Scan the code with your phone"),
    Status.SCANNED: _("Scanned. Continue on your phone"),
    Status.CONFIRMED: _("Approved. Signing you in…"),
    Status.COMPLETED: _("Signed in"),
    Status.EXPIRED: _("This code has expired"),
    Status.CANCELLED: _("Cancelled"),
    Status.DENIED: _("The sign-in was declined"),
    Status.FAILED: _("The sign-in failed"),
}


async def bound_session(request: Request) -> LoginSession | Response:
    """The session named in the path, if this browser started it; otherwise a refusal page."""
    relay: Relay = request.app.state.relay
    session = await session_in_path(request)
    if session is None:
        return message_page(
            request,
            _("This sign-in has ended"),
            _(
                "It is unknown or too old. Go back to the app you were signing in to and start "
                "again."
            ),
            status_code=404,
            tone="warning",
        )
    if request.method == "POST" and not same_origin(request, relay):
        return message_page(
            request,
            _("Request refused"),
            _("This request came from another site."),
            status_code=403,
            tone="error",
            login=session,
        )
    cookie = desktop_cookie(relay, session.id)
    if not holds(request, cookie, session.binding_hash):
        if session.final and cookie not in request.cookies:
            # Its cookie went when the browser went back to the app (resume): over, not foreign.
            return (
                already_finished(request, session)
                if session.status is Status.COMPLETED
                else ended(request, session)
            )
        return message_page(
            request,
            _("This sign-in belongs to another browser"),
            _(
                "Only the browser that started this sign-in can finish it. Start again from the "
                "app you were signing in to."
            ),
            status_code=403,
            tone="error",
            login=session,
        )
    return session


def scan_url(relay: Relay, session: LoginSession) -> str:
    return relay.settings.url(f"/s/{relay.sessions.ticket(session)}")


async def login_page(request: Request) -> Response:
    relay: Relay = request.app.state.relay
    session = await bound_session(request)
    if isinstance(session, Response):
        return session
    client = relay.settings.clients[session.request.client_id]
    provider = relay.providers[session.request.provider]
    url = scan_url(relay, session)
    remaining = max(0, int(session.expires_at - relay.sessions.now()))
    return render(
        request,
        "login.html",
        {
            "session": session,
            "client": client,
            "provider": provider,
            "qr": qr_svg(url),
            "scan_url": url,
            "status_text": STATUS_TEXT[session.status],
            "script_texts": ScriptTexts(STATUS_TEXT, provider.display_name),
            "expires_at_ms": int(session.expires_at * 1000),
            "remaining": countdown(remaining),
            "sandbox": provider.kind == "sandbox",
            "match_code": session.match_code,
            # On a phone there is nothing to scan: go on at the provider here (same_device.py).
            "handheld": is_handheld(request.headers.get("user-agent")),
            # The <img> only when a logo is held: waits at most a second, and only while the
            # client's logo was never fetched yet (relay/pages/logos.py).
            "logo": await relay.logos.get(client) is not None,
        },
        login=session,
    )


async def resume(request: Request) -> Response:
    """Where the page goes once the phone approved: completed, and back to the client."""
    relay: Relay = request.app.state.relay
    session = await bound_session(request)
    if isinstance(session, Response):
        return session
    issuer = relay.settings.issuer
    back = session.request
    if session.status is Status.CONFIRMED:
        code = await complete(relay, session)
        if code is not None:
            return leaving(
                relay,
                session,
                redirect_to_client(back.redirect_uri, issuer, {"code": code, "state": back.state}),
            )
        session = await relay.sessions.get(session.id)
    if session.status is Status.EXPIRED and not await relay.store.create(
        successor_key(session.id), {"returned": True}, RECORD_GRACE
    ):
        decided = await relay.store.get(successor_key(session.id)) or {}
        if "session_id" in decided:  # refreshed meanwhile: the login goes on there
            return RedirectResponse(f"/sessions/{decided['session_id']}", status_code=303)
    if session.status in (Status.DENIED, Status.FAILED, Status.CANCELLED, Status.EXPIRED):
        description = session.message or STATUS_TEXT[session.status].english()
        return leaving(
            relay,
            session,
            error_redirect(back.redirect_uri, issuer, AccessDenied(description), back.state),
        )
    if session.status is Status.COMPLETED:
        return already_finished(request, session)
    return RedirectResponse(f"/sessions/{session.id}", status_code=303)  # still waiting


async def complete(relay: Relay, session: LoginSession) -> str | None:
    """Confirmed -> completed, and the client's code: once (a compare-and-set), however many
    requests ask at the same moment. None when another request finished it, or its time ran out."""
    try:
        completed = await relay.sessions.transition(session, Status.COMPLETED)
    except InvalidTransition:
        return None
    return await issue_code(relay, completed)


def leaving(relay: Relay, session: LoginSession, response: Response) -> Response:
    """The browser goes back to the app with the outcome: the login's cookie is no longer
    needed (a browser would otherwise carry one per login until each expires)."""
    forget(response, relay, desktop_cookie(relay, session.id))
    return response


def ended(request: Request, session: LoginSession) -> Response:
    return message_page(
        request,
        _("This sign-in has ended"),
        _("Go back to the app you were signing in to and start again."),
        status_code=409,
        tone="warning",
        login=session,
    )


def already_finished(request: Request, session: LoginSession) -> Response:
    return message_page(
        request,
        _("This sign-in is already complete"),
        _("It finished in this browser already. Go back to the app you were signing in to."),
        status_code=409,
        tone="warning",
        login=session,
    )


async def cancel(request: Request) -> Response:
    """The person at the desktop gave up: cancelled, and back to the client (access_denied)."""
    relay: Relay = request.app.state.relay
    session = await bound_session(request)
    if isinstance(session, Response):
        return session
    if session.status in (Status.PENDING, Status.SCANNED):
        session = await relay.sessions.settle(
            session,
            Status.CANCELLED,
            reason="cancelled",
            message=CANCELLED_ON_COMPUTER.english(),
        )
    if session.status is Status.CANCELLED:
        back = session.request
        return error_redirect(
            back.redirect_uri,
            relay.settings.issuer,
            AccessDenied(session.message or STATUS_TEXT[Status.CANCELLED].english()),
            back.state,
            after_post=True,
        )
    return RedirectResponse(f"/sessions/{session.id}", status_code=303)


async def start_bound(
    request: Request, relay: Relay, auth_request: AuthorizationRequest
) -> tuple[LoginSession, str]:
    """Start a LoginSession bound to this browser: the secret its binding cookie is to hold
    (set_desktop_cookie, on the caller's answer) goes back with it. The browser's address and
    User-Agent go with the login, for the phone to show (relay/crossdevice/)."""
    secret = secrets.token_urlsafe(32)
    client = relay.settings.clients[auth_request.client_id]
    session = await relay.sessions.start(
        auth_request,
        sha256_hex(secret),
        desktop=DesktopContext.of(request),
        match_code=client.match_code,
    )
    return session, secret


async def start_login(
    request: Request, relay: Relay, auth_request: AuthorizationRequest
) -> tuple[LoginSession, Response]:
    """Start a LoginSession, bind it to this browser, and send it to its login page."""
    session, secret = await start_bound(request, relay, auth_request)
    response = RedirectResponse(f"/sessions/{session.id}", status_code=303)
    set_desktop_cookie(response, relay, session.id, secret)
    return session, response


def successor_key(session_id: str) -> str:
    """What became of an expired session, decided once: refreshed into a new session
    ({"session_id": ...}) or returned to the client ({"returned": true})."""
    return f"successor:{session_id}"


async def refresh(request: Request) -> Response:
    """The QR expired: a fresh session for the same authorization request, once (two clicks or
    two tabs must not make two live logins for one request)."""
    relay: Relay = request.app.state.relay
    session = await bound_session(request)
    if isinstance(session, Response):
        return session
    if session.status is not Status.EXPIRED:
        return RedirectResponse(f"/sessions/{session.id}", status_code=303)
    key = successor_key(session.id)
    if not await relay.store.create(key, {}, RECORD_GRACE):
        decided = await relay.store.get(key) or {}
        if decided.get("returned"):
            return ended(request, session)
        return RedirectResponse(f"/sessions/{decided.get('session_id', session.id)}", 303)
    fresh, response = await start_login(request, relay, session.request)
    await relay.store.put(key, {"session_id": fresh.id}, RECORD_GRACE)
    return response
