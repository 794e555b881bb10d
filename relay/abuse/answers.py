"""What a refused request is told: a page for people, JSON for machines, a close code for a
websocket.

    429 Too Many Requests    RFC 6585 §4, with Retry-After (RFC 9110 §10.2.3) in seconds;
                             JSON `temporarily_unavailable` (RFC 6749 §5.2 shape)
    413 Content Too Large    RFC 9110 §15.5.14; JSON `invalid_request`
    414 URI Too Long         RFC 9110 §15.5.15; JSON `invalid_request`
    websocket                accepted, then closed with 1013 (try again later), on which the
                             login page retries with back-off (static/login.js)

Every answer carries Cache-Control: no-store.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket, WebSocketState

from relay.abuse.rates import WAITING, Refused
from relay.i18n import _
from relay.i18n.dates import Duration
from relay.templating import message_page

TRY_AGAIN_LATER = 1013  # RFC 6455 §7.4.1 (IANA registry): retry later
NO_STORE = {"Cache-Control": "no-store"}

# What a person is told, by limit: what happened too often.
TOO_OFTEN = {
    "authorize": _("Too many sign-ins were started from your network."),
    WAITING: _("Too many sign-ins were started from your network."),
    "scan": _("Too many QR codes were opened from your network."),
    "live": _("This page reconnected too often."),
    "token": _("Too many requests from your network."),
    "token_per_client": _("Too many requests from this application."),
    "user_code": _("Too many codes that do not work were typed from your network."),
}


def too_many(request: Request, refused: Refused, *, api: bool) -> Response:
    headers = {**NO_STORE, "Retry-After": str(refused.retry_after)}
    if api:
        return JSONResponse(
            {
                "error": "temporarily_unavailable",
                "error_description": (
                    f"too many requests; try again in {refused.retry_after} seconds"
                ),
            },
            status_code=429,
            headers=headers,
        )
    response = message_page(
        request,
        _("Too many requests"),
        _(
            "%(what)s Wait %(duration)s and try again.",
            what=TOO_OFTEN.get(refused.limit, TOO_OFTEN["token"]),
            duration=Duration(refused.retry_after),
        ),
        status_code=429,
        tone="warning",
    )
    response.headers.update(headers)
    return response


async def socket_refused(websocket: WebSocket) -> None:
    """Accepted first, so that the page sees a close code rather than a failed handshake."""
    if websocket.application_state is WebSocketState.CONNECTING:
        await websocket.accept()
    await websocket.close(TRY_AGAIN_LATER, "too many connections; try again later")


def too_large(request: Request, status_code: int, description: str, *, api: bool) -> Response:
    """413 or 414: the request is bigger than the relay reads."""
    if api:
        return JSONResponse(
            {"error": "invalid_request", "error_description": description},
            status_code=status_code,
            headers=NO_STORE,
        )
    title = _("Address too long") if status_code == 414 else _("Request too large")
    response = message_page(
        request,
        title,
        _(
            "The relay does not accept this request: %(problem)s. Go back to the app you were "
            "signing in to and start again.",
            problem=description,  # for engineers: not translated
        ),
        status_code=status_code,
        tone="warning",
    )
    response.headers.update(NO_STORE)
    return response
