"""/device: the phone page of a device login, where the user_code is typed (RFC 8628 §3.3).

    GET /device                    the form: type the code the device shows
    GET /device?user_code=...      the same code from the QR of verification_uri_complete
    POST /device                   the typed code
    POST /device/confirm           "Yes, continue": the code matches the screen

A code that leads to a waiting login gets a confirmation step first: the app's name and the
code, and the question whether the device's screen shows that code (§3.3.1, §5.4: a person who
was sent a link by someone else must get the chance to notice). "Yes, continue" scans the login
exactly as the QR's URL does (the compare-and-set from pending, the phone's cookie, the same
checks of app and network) and sends the phone to /phone/{id}: from there on it is the
ordinary QR login (who asks, the provider, the callback).

Guessing (§5.1): every well-formed code looked up counts against `[limits] user_code` for the
address, counted before the lookup (a login takes two: the code, then "Yes, continue"); over
it, every lookup is refused (429) until the window has room. Text that cannot be a code is
refused without a lookup and not counted. A code that leads nowhere (unknown, expired, ended)
always gets the same answer (400, "not valid"), whether or not it ever existed. A code that
another phone has taken gets "already used", and nothing changes.
"""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from relay.abuse.answers import too_many
from relay.abuse.guards import address_of, limits_of
from relay.core import Relay
from relay.device import is_device_login
from relay.device.records import login_of_user_code
from relay.device.user_codes import MAX_TYPED, normalise, shown
from relay.digests import sha256_hex
from relay.errors import InvalidRequest, InvalidTransition
from relay.i18n import Text, _
from relay.observability.context import bind_session
from relay.pages.binding import holds, phone_cookie, same_origin, set_phone_cookie
from relay.pages.phone import client_of, far_away, needs_other_app, not_nearby
from relay.params import form_params
from relay.sessions import LoginSession, Status
from relay.templating import message_page, render

LIMIT = "user_code"  # [limits] user_code

NOT_VALID = _(
    "This code is not valid. Check the code on the device's screen and type it again: codes "
    "work for a few minutes only."
)
MALFORMED = _("A code is eight letters, like BCDF-GHJK.")


async def verification_page(request: Request) -> Response:
    """GET /device, with or without ?user_code=."""
    typed = request.query_params.get("user_code")
    if typed is None:
        return entry_page(request)
    return await look_up(request, typed)


async def submit_code(request: Request) -> Response:
    """POST /device: the code typed into the form."""
    typed = await posted_code(request)
    if isinstance(typed, Response):
        return typed
    return await look_up(request, typed)


async def confirm(request: Request) -> Response:
    """POST /device/confirm: the screen shows this code; the phone takes the login."""
    relay: Relay = request.app.state.relay
    typed = await posted_code(request)
    if isinstance(typed, Response):
        return typed
    found = await waiting_login(request, relay, typed)
    if isinstance(found, Response):
        return found
    refused = refusal(request, relay, found)
    if refused is not None:
        return refused
    secret = secrets.token_urlsafe(32)
    try:
        # The compare-and-set of a scan (relay/sessions/service.py): one phone gets it.
        scanned = await relay.sessions.transition(
            found, Status.SCANNED, phone_hash=sha256_hex(secret)
        )
    except InvalidTransition:  # another phone was quicker, or its time ran out, since the read
        latest = await relay.sessions.find(found.id)
        return taken(request, relay, latest) if latest is not None else not_valid(request, typed)
    response = RedirectResponse(f"/phone/{scanned.id}", status_code=303)
    set_phone_cookie(response, relay, scanned.id, secret)
    return response


# --- the steps ---------------------------------------------------------------------------------


async def look_up(request: Request, typed: str) -> Response:
    """The confirmation step for a code that leads to a waiting login; otherwise why not."""
    relay: Relay = request.app.state.relay
    found = await waiting_login(request, relay, typed)
    if isinstance(found, Response):
        return found
    refused = refusal(request, relay, found)
    if refused is not None:
        return refused
    client = client_of(relay, found)
    code = normalise(typed)
    assert code is not None  # waiting_login found a login by it
    return render(
        request,
        "device.html",
        {
            "step": "confirm",
            "client": client,
            "provider": relay.providers[found.request.provider],
            "code": shown(code),
        },
        login=found,
    )


async def waiting_login(request: Request, relay: Relay, typed: str) -> LoginSession | Response:
    """The device login `typed` leads to, still waiting for a phone; otherwise the page to
    show: not valid, too many guesses, already taken (or, for the phone that took it, its
    page)."""
    code = normalise(typed)
    if code is None:  # not a code at all: no lookup, and nothing to count
        return entry_page(request, typed=typed, error=MALFORMED, status_code=400)
    # Counted before the lookup, in one atomic step: counting only the misses afterwards would
    # let many parallel guesses all pass the check before any of them is counted.
    refused = await limits_of(request).hit(LIMIT, address_of(request))
    if refused is not None:
        return too_many(request, refused, api=False)
    session = await login_of_user_code(relay, code)
    if session is None or not is_device_login(session):
        return not_valid(request, typed)
    bind_session(session.id)
    if session.status is Status.PENDING:
        return session
    if session.phone_hash is None:  # ended before any phone took it: as if unknown
        return not_valid(request, typed)
    return taken(request, relay, session)


def taken(request: Request, relay: Relay, session: LoginSession) -> Response:
    """A login a phone has taken: this phone goes on where it left off; another is told."""
    if holds(request, phone_cookie(relay, session.id), session.phone_hash):
        return RedirectResponse(f"/phone/{session.id}", status_code=303)
    if session.phone_hash is None:
        return not_valid(request, None)
    return message_page(
        request,
        _("This code was used already"),
        _(
            "Another phone has entered this code. Nothing was changed. If you are signing in "
            "on a device, look at its screen: it shows what to do next."
        ),
        status_code=409,
        tone="warning",
        login=session,
    )


def refusal(request: Request, relay: Relay, session: LoginSession) -> Response | None:
    """The checks of a scan (relay/pages/phone.py): a provider that signs in only inside its
    own app, and `same_network = "require"`."""
    wrong_app = needs_other_app(request, relay, session)
    if wrong_app is not None:
        return wrong_app
    if far_away(request, relay, session) and client_of(relay, session).same_network == "require":
        return not_nearby(request, session)
    return None


# --- pages and forms ---------------------------------------------------------------------------


def entry_page(
    request: Request,
    *,
    typed: str | None = None,
    error: Text | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "device.html",
        {"step": "enter", "typed": (typed or "")[:MAX_TYPED], "error": error},
        status_code=status_code,
    )


def not_valid(request: Request, typed: str | None) -> Response:
    return entry_page(request, typed=typed, error=NOT_VALID, status_code=400)


async def posted_code(request: Request) -> str | Response:
    """The user_code of a form posted from the relay's own page; otherwise the page to show."""
    relay: Relay = request.app.state.relay
    if not same_origin(request, relay):
        return message_page(
            request,
            _("Request refused"),
            _("This request came from another site."),
            status_code=403,
            tone="error",
        )
    try:
        typed = (await form_params(request)).get("user_code", max_chars=MAX_TYPED)
    except InvalidRequest:
        typed = None
    if typed is None:
        return entry_page(request, error=MALFORMED, status_code=400)
    return typed
