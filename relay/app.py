"""create_app(settings): the routes of the four faces, and a lifespan that closes what the relay
opened (store, events, upstream HTTP client)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from relay.accesslog import AccessLog
from relay.core import Relay, build_relay
from relay.demo import app as demo_app
from relay.headers import SecurityHeaders
from relay.oidc import authorize, discovery, token, userinfo
from relay.oidc.keys import SigningKey
from relay.pages import callback, live, login, phone
from relay.sandbox import server as sandbox_server
from relay.settings import Settings
from relay.templating import message_page, render, static_dir

log = logging.getLogger("relay.app")


async def home(request: Request) -> Response:
    relay: Relay = request.app.state.relay
    if relay.settings.demo:
        return RedirectResponse("/demo", status_code=302)
    return render(request, "home.html", {"issuer": relay.settings.issuer})


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


# Machine-facing endpoints answer errors in JSON (RFC 6749 §5.2 shape), pages in HTML.
API_PATHS = ("/token", "/userinfo", "/jwks.json", "/.well-known/", "/sandbox/token")


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
            request, "Page not found", "There is nothing here.", status_code=404, tone="warning"
        )
    if exc.status_code == 405:
        return message_page(
            request,
            "Method not allowed",
            "This address does not accept that kind of request.",
            status_code=405,
            tone="warning",
        )
    return message_page(request, "Request refused", str(exc.detail), status_code=exc.status_code)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return message_page(
        request,
        "Something went wrong",
        "The relay hit an unexpected error. Go back to the app you were signing in to and try "
        "again.",
        status_code=500,
        tone="error",
    )


def routes(settings: Settings) -> list[BaseRoute]:
    table: list[BaseRoute] = [
        Route("/", home, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        # client face
        Route("/.well-known/openid-configuration", discovery.openid_configuration),
        Route("/jwks.json", discovery.jwks, methods=["GET"]),
        Route("/authorize", authorize.authorize, methods=["GET", "POST"]),
        Route("/token", token.token, methods=["POST"]),
        Route("/userinfo", userinfo.userinfo, methods=["GET", "POST"]),
        # desktop face
        Route("/sessions/{session_id}", login.login_page, methods=["GET"]),
        WebSocketRoute("/sessions/{session_id}/live", live.live),
        Route("/sessions/{session_id}/resume", login.resume, methods=["GET"]),
        Route("/sessions/{session_id}/cancel", login.cancel, methods=["POST"]),
        Route("/sessions/{session_id}/refresh", login.refresh, methods=["POST"]),
        # phone face
        Route("/s/{ticket}", phone.scan, methods=["GET"]),
        Route("/phone/{session_id}", phone.phone_page, methods=["GET"]),
        Route("/phone/{session_id}/continue", phone.continue_to_provider, methods=["POST"]),
        Route("/phone/{session_id}/decline", phone.decline, methods=["POST"]),
        Route("/callback/{provider}", callback.callback, methods=["GET"]),
        Mount("/static", StaticFiles(directory=static_dir()), name="static"),
    ]
    if any(p.kind == "sandbox" for p in settings.providers.values()):
        table += sandbox_server.routes
    if settings.demo:
        table += demo_app.routes
    return table


def create_app(
    settings: Settings,
    *,
    keys: SigningKey | None = None,
    http_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """The relay as an ASGI app. `http_transport` replaces the network for upstream calls
    (tests hand in fakes of the providers)."""
    relay = build_relay(settings, keys=keys, http_transport=http_transport)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await relay.aclose()

    app = Starlette(
        routes=routes(settings),
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error, Exception: unexpected_error},
        middleware=[
            Middleware(AccessLog),
            Middleware(SecurityHeaders, hsts=settings.secure_cookies),
        ],
    )
    app.state.relay = relay
    return app
