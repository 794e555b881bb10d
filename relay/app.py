"""create_app(settings): the routes of the four faces and the operator's endpoints, and a lifespan
that closes what the relay opened (store, events, upstream HTTP client).

Stopping (SIGTERM, or Ctrl+C): the server closes its listening socket, lets the requests in flight
finish, waits for every open connection to end, and only then runs the lifespan's shutdown. Live
status streams would hold it for as long as their logins wait, so the lifespan hears the same
signal first (`stop_streams_on_signals`, ahead of the server's own handler, which still runs) and
ends them: a websocket is closed with 1012 (service restart) and an event stream ends, and the
page reconnects, through the load balancer, to another process.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from types import FrameType
from typing import Any, cast

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ExceptionHandler
from starlette.websockets import WebSocket, WebSocketState

from relay.abuse.answers import TRY_AGAIN_LATER
from relay.abuse.guards import limited, limited_socket
from relay.abuse.sizes import RequestSizes
from relay.core import Relay, build_relay
from relay.demo import app as demo_app
from relay.device import authorization as device_authorization
from relay.device import live as device_live
from relay.device import verification as device_verification
from relay.errors import StoreUnavailable
from relay.headers import SecurityHeaders
from relay.i18n import _
from relay.kiosk import page as kiosk
from relay.observability import endpoints as operations
from relay.observability.access import RequestLog
from relay.oidc import authorize, discovery, token, userinfo
from relay.oidc.keys import SigningKey
from relay.pages import callback, live, login, logos, phone, same_device, sse
from relay.pages.status_stream import Draining
from relay.sandbox import server as sandbox_server
from relay.settings import Settings
from relay.templating import message_page, render, static_dir

RETRY_AFTER = "5"  # seconds
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


async def home(request: Request) -> Response:
    relay: Relay = request.app.state.relay
    if relay.settings.demo:
        return RedirectResponse("/demo", status_code=302)
    return render(request, "home.html", {"issuer": relay.settings.issuer})


# Machine-facing endpoints answer errors in JSON (RFC 6749 §5.2 shape), pages in HTML.
API_PATHS = (
    "/token",
    "/device_authorization",
    "/userinfo",
    "/jwks.json",
    "/.well-known/",
    "/sandbox/token",
    "/healthz",
    "/readyz",
)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith(API_PATHS):
        return JSONResponse(
            {"error": "invalid_request", "error_description": str(exc.detail)},
            status_code=exc.status_code,
            headers={**(exc.headers or {}), "Cache-Control": "no-store"},
        )
    if exc.status_code == 404:
        return message_page(
            request,
            _("Page not found"),
            _("There is nothing here."),
            status_code=404,
            tone="warning",
        )
    if exc.status_code == 405:
        return message_page(
            request,
            _("Method not allowed"),
            _("This address does not accept that kind of request."),
            status_code=405,
            tone="warning",
        )
    return message_page(
        request,
        _("Request refused"),
        _("The relay does not accept this request (%(problem)s).", problem=str(exc.detail)),
        status_code=exc.status_code,
    )


async def store_unavailable(connection: Request | WebSocket, exc: Exception) -> Response | None:
    """The store (Redis) does not answer: 503, try again shortly; a websocket is told to
    reconnect later. Nothing was changed, so a retry is safe."""
    relay: Relay = connection.app.state.relay
    relay.metrics.store_errors.inc()
    if isinstance(connection, WebSocket):
        # Accepted first when need be: a page sees a close code, never a failed handshake's status.
        if connection.application_state is WebSocketState.CONNECTING:
            await connection.accept()
        if connection.application_state is WebSocketState.CONNECTED:
            await connection.close(TRY_AGAIN_LATER, "temporarily unavailable")
        return None
    headers = {"Retry-After": RETRY_AFTER, "Cache-Control": "no-store"}
    if connection.url.path.startswith(API_PATHS):
        return JSONResponse(
            {
                "error": "temporarily_unavailable",
                "error_description": "the relay cannot reach its store; try again shortly",
            },
            status_code=503,
            headers=headers,
        )
    response = message_page(
        connection,
        _("Temporarily unavailable"),
        _("The relay cannot serve this right now. Wait a few seconds and try again."),
        status_code=503,
        tone="warning",
    )
    response.headers.update(headers)
    return response


async def unexpected_error(request: Request, exc: Exception) -> Response:
    # Logged where the request's ids are still known: relay/observability/access.py.
    return message_page(
        request,
        _("Something went wrong"),
        _(
            "The relay hit an unexpected error. Go back to the app you were signing in to and "
            "try again."
        ),
        status_code=500,
        tone="error",
    )


def routes(settings: Settings) -> list[BaseRoute]:
    table: list[BaseRoute] = [
        Route("/", home, methods=["GET"]),
        *operations.routes,  # /healthz, /readyz, /metrics
        # client face
        Route("/.well-known/openid-configuration", discovery.openid_configuration),
        Route("/jwks.json", discovery.jwks, methods=["GET"]),
        # Rate limits ([limits], relay/abuse/guards.py) wrap the endpoints they guard.
        Route(
            "/authorize",
            limited(authorize.authorize, "authorize", starts_logins=True),
            methods=["GET", "POST"],
        ),
        Route("/token", limited(token.token, "token", per_client=True, api=True), methods=["POST"]),
        Route("/userinfo", userinfo.userinfo, methods=["GET", "POST"]),
        # desktop face
        Route("/sessions/{session_id}", login.login_page, methods=["GET"]),
        WebSocketRoute("/sessions/{session_id}/live", limited_socket(live.live, "live")),
        Route("/sessions/{session_id}/events", limited(sse.events, "live"), methods=["GET"]),
        Route("/sessions/{session_id}/resume", login.resume, methods=["GET"]),
        Route("/sessions/{session_id}/cancel", login.cancel, methods=["POST"]),
        # On the phone already (or "Open on this device"): the login goes on in this browser.
        Route(
            "/sessions/{session_id}/here",
            limited(same_device.continue_here, "scan"),
            methods=["POST"],
        ),
        Route("/clients/{client_id}/logo", logos.logo, methods=["GET"]),
        Route(
            "/sessions/{session_id}/refresh",
            limited(login.refresh, starts_logins=True),
            methods=["POST"],
        ),
        # phone face
        Route("/s/{ticket}", limited(phone.scan, "scan"), methods=["GET"]),
        Route("/phone/{session_id}", phone.phone_page, methods=["GET"]),
        # Each Continue makes a trip to the provider (a record and a cookie): counted as scans.
        Route(
            "/phone/{session_id}/continue",
            limited(phone.continue_to_provider, "scan"),
            methods=["POST"],
        ),
        Route("/phone/{session_id}/decline", phone.decline, methods=["POST"]),
        Route("/callback/{provider}", callback.callback, methods=["GET"]),
        # the device authorization grant (RFC 8628): the device asks, the phone types its code
        Route(
            "/device_authorization",
            limited(device_authorization.device_authorization, "token", per_client=True, api=True),
            methods=["POST"],
        ),
        Route("/device", device_verification.verification_page, methods=["GET"]),
        Route("/device", device_verification.submit_code, methods=["POST"]),
        Route("/device/confirm", device_verification.confirm, methods=["POST"]),
        WebSocketRoute("/device/{device_code}/live", limited_socket(device_live.live, "live")),
        # the kiosk page: a QR screen that signs in one person after another
        Route("/kiosk/{client_id}", kiosk.kiosk_page, methods=["GET"]),
        Route(
            "/kiosk/{client_id}/logins",
            # Not `waiting_per_ip`: that bounds the logins an address keeps waiting, and a kiosk
            # (behind its key) keeps one, yet starts a new one after every person, some 15 a
            # minute when busy; several kiosks often share an address. Counted as /authorize.
            limited(kiosk.start_login, "authorize"),
            methods=["POST"],
        ),
        Route(
            "/kiosk/{client_id}/logins/{session_id}/code", kiosk.hand_over_code, methods=["POST"]
        ),
        Mount("/static", StaticFiles(directory=static_dir()), name="static"),
    ]
    if any(p.kind == "sandbox" for p in settings.providers.values()):
        table += sandbox_server.routes
    if settings.demo:
        table += demo_app.routes
    return table


@contextmanager
def stop_streams_on_signals(draining: Draining) -> Iterator[None]:
    """While the app runs, SIGTERM and SIGINT first set `draining` (every live stream ends), then go
    to the handler that was there before: the server's, which stops it.

    Only where the server handles the signal in Python (uvicorn does, from the main thread); a
    signal left to its default action or ignored is left alone, and so is a server that runs the
    app off the main thread (signal handlers can only be set from there)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    installed: dict[signal.Signals, tuple[Any, Any]] = {}
    for signum in STOP_SIGNALS:
        previous = signal.getsignal(signum)
        if not callable(previous):
            continue

        def handler(number: int, frame: FrameType | None, previous: Any = previous) -> None:
            # A signal handler runs between two bytecodes of whatever the loop was doing: hand
            # the work to the loop rather than touch its futures from here.
            with contextlib.suppress(RuntimeError):  # the loop has closed
                loop.call_soon_threadsafe(draining.set)
            previous(number, frame)

        signal.signal(signum, handler)
        installed[signum] = (handler, previous)
    try:
        yield
    finally:
        for signum, (handler, previous) in installed.items():
            if signal.getsignal(signum) is handler:  # nobody has replaced it since
                signal.signal(signum, previous)


def create_app(
    settings: Settings,
    *,
    keys: SigningKey | None = None,
    http_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """The relay as an ASGI app. `http_transport` replaces the network for upstream calls
    (tests hand in fakes of the providers)."""
    relay = build_relay(settings, keys=keys, http_transport=http_transport)
    draining = Draining()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            relay.on_startup()  # the clients' logos, fetched in the background
            with stop_streams_on_signals(draining):
                yield
                draining.set()  # the server is done with its connections; none should be left
        finally:
            await relay.aclose()

    app = Starlette(
        routes=routes(settings),
        lifespan=lifespan,
        exception_handlers={
            HTTPException: http_error,
            # One handler for both kinds of connection; Starlette's types have one per kind.
            StoreUnavailable: cast(ExceptionHandler, store_unavailable),
            Exception: unexpected_error,
        },
        middleware=[
            Middleware(RequestLog),
            Middleware(SecurityHeaders, hsts=settings.secure_cookies),
            Middleware(
                RequestSizes,
                max_query=settings.limits.max_query,
                max_body=settings.limits.max_body,
                api_paths=API_PATHS,
            ),
        ],
    )
    app.state.relay = relay
    app.state.draining = draining  # relay/pages/status_stream.py: live streams watch it
    return app
