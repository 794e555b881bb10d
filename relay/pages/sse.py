"""GET /sessions/{id}/events: the live status as Server-Sent Events, for networks that let no
websocket through. The same events and the same checks as the websocket (live.py).

Unknown session: 404; a foreign origin or no binding cookie: 403 (plain text; EventSource gives up
on any answer that is not an event stream). Otherwise each event of the status stream
(status_stream.py) goes out as `event: status` with the websocket's JSON as its data, and the
response ends after a final status. `retry: 2000` is sent once, so a browser whose stream broke
reconnects after two seconds (and gets the current state first). While nothing happens, a comment
line every KEEPALIVE seconds keeps proxies from closing an idle connection.

When the process is stopping (SIGTERM), an open stream ends at once, like one cut by a proxy: the
server can then exit, and the browser reconnects two seconds later (through the load balancer, to
another process) and gets the current state first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from relay.core import Relay
from relay.events import Event
from relay.pages.binding import desktop_cookie, holds, same_origin, session_in_path
from relay.pages.status_stream import Draining, draining, status_changes

KEEPALIVE = 15.0  # seconds between keep-alive comments while waiting
RETRY = b"retry: 2000\n\n"  # milliseconds a browser waits before reconnecting
KEEPALIVE_LINE = b": keep-alive\n\n"
NO_STORE = {"Cache-Control": "no-store"}


async def events(request: Request) -> Response:
    relay: Relay = request.app.state.relay
    session = await session_in_path(request)
    if session is None:
        return refused(404, "unknown login session")
    if not same_origin(request, relay):
        return refused(403, "foreign origin")
    if not holds(request, desktop_cookie(relay, session.id), session.binding_hash):
        return refused(403, "this browser did not start the login")
    return EventStream(relay, session.id, draining(request))


def refused(status_code: int, text: str) -> Response:
    return PlainTextResponse(text, status_code=status_code, headers=NO_STORE)


def frame(event: Event) -> bytes:
    """One event: compact JSON has no newline, so it fits on one `data:` line."""
    data = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    return f"event: status\ndata: {data}\n\n".encode()


async def disconnected(receive: Receive) -> None:
    """Returns once the client has gone (the request has no body left to read)."""
    while (await receive())["type"] != "http.disconnect":
        pass


class EventStream(Response):
    media_type = "text/event-stream"

    def __init__(self, relay: Relay, session_id: str, stopping: Draining | None = None) -> None:
        self.relay = relay
        self.session_id = session_id
        self.stopping = stopping
        self.status_code = 200
        self.background = None
        self.init_headers({**NO_STORE, "X-Accel-Buffering": "no"})  # nginx: do not buffer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        changes = status_changes(
            self.relay, self.session_id, lambda: disconnected(receive), self.stopping
        )
        with contextlib.suppress(OSError):  # the client went away while we wrote
            async with contextlib.aclosing(changes):
                first = await anext(changes, None)
                if first is None:  # the record went away since the checks, or the client did
                    await refused(404, "unknown login session")(scope, receive, send)
                    return
                with self.relay.metrics.open_stream("sse"):  # relay_open_streams{transport="sse"}
                    await send(
                        {"type": "http.response.start", "status": 200, "headers": self.raw_headers}
                    )
                    write = serialised(send)
                    await write(RETRY + frame(first))
                    keeping_alive = asyncio.create_task(keep_alive(write))
                    try:
                        async for event in changes:
                            await write(frame(event))
                    finally:
                        keeping_alive.cancel()
                        await asyncio.wait({keeping_alive})
            await send({"type": "http.response.body", "body": b"", "more_body": False})


def serialised(send: Send) -> Callable[[bytes], Awaitable[None]]:
    """Writes of one body chunk each, one at a time (events and keep-alives come from two tasks)."""
    lock = asyncio.Lock()

    async def write(chunk: bytes) -> None:
        async with lock:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

    return write


async def keep_alive(write: Callable[[bytes], Awaitable[None]]) -> None:
    with contextlib.suppress(OSError):  # the client went away; the stream notices it too
        while True:
            await asyncio.sleep(KEEPALIVE)
            await write(KEEPALIVE_LINE)
