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
from relay.templating import message_page

TRY_AGAIN_LATER = 1013  # RFC 6455 §7.4.1 (IANA registry): retry later
NO_STORE = {"Cache-Control": "no-store"}

# What a person is told, by limit: what happened too often.
TOO_OFTEN = {
    "authorize": "Too many sign-ins were started from your network.",
    WAITING: "Too many sign-ins were started from your network.",
    "scan": "Too many QR codes were opened from your network.",
    "live": "This page reconnected too often.",
    "token": "Too many requests from your network.",
    "token_per_client": "Too many requests from this application.",
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
    seconds = "a second" if refused.retry_after == 1 else f"{refused.retry_after} seconds"
    response = message_page(
        request,
        "Too many requests",
        f"{TOO_OFTEN.get(refused.limit, TOO_OFTEN['token'])} Wait {seconds} and try again.",
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
    title = "Address too long" if status_code == 414 else "Request too large"
    response = message_page(
        request,
        title,
        f"The relay does not accept this request: {description}. Go back to the app you were "
        "signing in to and start again.",
        status_code=status_code,
        tone="warning",
    )
    response.headers.update(NO_STORE)
    return response
