"""The rate limits on the routes: app.py wraps each limited endpoint, so that the route table
shows which limit guards which address.

    limited(endpoint, "authorize", starts_logins=True)    an HTTP endpoint
    limited_socket(endpoint, "live")                       a websocket endpoint

In order, each before the handler runs:
1. per IP (`request.client.host`: the peer, or the address a trusted proxy forwarded, see
   README "Running in production"), counted on every request;
2. `per_client` (/token): per client, counted only for a request that authenticates as that
   client, so that nobody without its secret can use up its allowance;
3. `starts_logins` (/authorize, /sessions/{id}/refresh): whether one more login fits the
   address's `waiting_per_ip`; the logins the handler then starts are counted (waiting.py), and
   one that does not fit after all (requests racing past the check together) is cancelled and
   refused.

Over a limit: 429 with Retry-After, a page or (`api`) JSON; a websocket is accepted and closed
with 1013. The limiter fails open (rates.py).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from relay.abuse.answers import socket_refused, too_many
from relay.abuse.rates import WAITING, RateLimits, Refused, address_key
from relay.errors import OAuthError
from relay.oidc.clients import authenticate_client
from relay.params import MAX_FORM_BYTES, parse_urlencoded
from relay.sessions import Status

Endpoint = Callable[[Request], Awaitable[Response]]
SocketEndpoint = Callable[[WebSocket], Awaitable[None]]


def limits_of(connection: HTTPConnection) -> RateLimits:
    limits: RateLimits = connection.app.state.relay.rate_limits
    return limits


def address_of(connection: HTTPConnection) -> str:
    return address_key(connection.client.host if connection.client else None)


def limited(
    endpoint: Endpoint,
    per_ip: str | None = None,
    *,
    per_client: bool = False,
    starts_logins: bool = False,
    api: bool = False,
) -> Endpoint:
    @functools.wraps(endpoint)
    async def guarded(request: Request) -> Response:
        limits = limits_of(request)
        address = address_of(request)
        refused: Refused | None = None
        if per_ip is not None:
            refused = await limits.hit(per_ip, address)
        if refused is None and per_client and limits.enabled("token_per_client"):
            client_id = await authenticated_client(request)
            if client_id is not None:
                refused = await limits.hit("token_per_client", client_id)
        if refused is None and starts_logins and limits.enabled(WAITING):
            refused = await limits.test(WAITING, address)
            if refused is None:
                with limits.starts.counting() as started:
                    response = await endpoint(request)
                if not started:
                    return response
                # Requests racing past the test above all start their login; the count decides
                # which fit. One that does not is ended at once and refused: the limit holds
                # however many arrive together.
                refused = await limits.hit(WAITING, address, cost=len(started))
                if refused is None:
                    return response
                await end_logins(request, started)
        if refused is not None:
            return too_many(request, refused, api=api)
        return await endpoint(request)

    return guarded


async def end_logins(request: Request, session_ids: list[str]) -> None:
    """Cancel logins started over the limit (nobody has seen their page yet)."""
    sessions = request.app.state.relay.sessions
    for session_id in session_ids:
        session = await sessions.find(session_id)
        if session is not None:
            await sessions.settle(
                session,
                Status.CANCELLED,
                reason="rate_limited",
                message="Too many sign-ins were started from this address.",
            )


def limited_socket(endpoint: SocketEndpoint, per_ip: str) -> SocketEndpoint:
    @functools.wraps(endpoint)
    async def guarded(websocket: WebSocket) -> None:
        if await limits_of(websocket).hit(per_ip, address_of(websocket)) is not None:
            await socket_refused(websocket)
            return
        await endpoint(websocket)

    return guarded


async def authenticated_client(request: Request) -> str | None:
    """The client a token request authenticates as (client_secret_basic or _post, checked as
    the endpoint checks it), or None. The body is read once here and kept for the endpoint;
    RequestSizes bounds it."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return None
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return None  # the endpoint refuses it
    relay = request.app.state.relay
    try:
        return authenticate_client(request, parse_urlencoded(body), relay.settings.client_secret)
    except OAuthError:
        return None
