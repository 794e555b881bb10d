"""A login session's status as a stream: the current event first, then each change, ending after
a final status. The websocket (live.py) and Server-Sent Events (sse.py) both send it.

It subscribes first and reads the state second (nothing is lost in between). Events only wake it
up: the stored session is the truth, read again on each wake-up and passed on when its status
changed (an event seen twice, or one for a change already read, sends nothing). The only timers
are the wait for the session's expiry (find() moves it to expired when due) and, while the login
waits for a scan, the next QR: every `qr_rotate` seconds the stream sends the new code's URL
(`{"status": "pending", "scan_url": ...}`; relay/sessions/tickets.py), which the page draws
itself (static/qr.js): some 80 bytes a message rather than a 5 KB SVG, and no encoding on the
server, which matters with thousands of logins waiting in one process. The first event of a
pending login carries the current URL too, so a page that reconnects after a while shows the
right code. No loop polls the store.

When the process is told to stop (SIGTERM: relay/app.py sets the app's `Draining`), every stream
ends at once, so that the server can exit and the page reconnects to another process; the caller
tells the page so (a websocket closes with 1012, an event stream ends and EventSource reconnects
by itself).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

from starlette.requests import HTTPConnection

from relay.core import Relay
from relay.events import Event
from relay.sessions import LoginSession, Status
from relay.sessions.service import event_of

# How long past the expiry to wake up, so that find() surely sees the session as due.
EXPIRY_SLACK = 0.05  # seconds


class Draining:
    """Set once, when the process starts to stop; every live stream watches it.

    A stream watches with a bare future (no task of its own), so a waiting login costs little."""

    def __init__(self) -> None:
        self._set = False
        self._watchers: set[asyncio.Future[None]] = set()

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        for watcher in tuple(self._watchers):
            if not watcher.done():
                watcher.set_result(None)

    def watch(self) -> asyncio.Future[None]:
        """A future that completes once the process is stopping (at once if it already is).
        Cancel it when done watching."""
        watcher: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._set:
            watcher.set_result(None)
        else:
            self._watchers.add(watcher)
            watcher.add_done_callback(self._watchers.discard)
        return watcher


def with_code(relay: Relay, session: LoginSession, event: Event, ticket: str) -> Event:
    """`event` plus the scan URL of `ticket` (the QR to draw), while the login waits."""
    if session.status is not Status.PENDING:
        return event
    return {**event, "scan_url": relay.settings.url(f"/s/{ticket}")}


def draining(connection: HTTPConnection) -> Draining:
    """The app's Draining (relay/app.py)."""
    found: Draining = connection.app.state.draining
    return found


async def status_changes(
    relay: Relay,
    session_id: str,
    disconnected: Callable[[], Awaitable[object]],
    stopping: Draining | None = None,
) -> AsyncGenerator[Event, None]:
    """The session's events, `{"status": ..., "at": ...}` (plus `reason` and `message` on failed
    and denied), as the page receives them.

    `disconnected()` returns an awaitable that completes when the client has gone; the stream then
    ends at once, as it does once `stopping` is set (the process is shutting down). It also ends
    after a final status, or when the record is gone; it yields nothing when the session is
    unknown. Close it (`contextlib.aclosing`) to release the subscription when the consumer stops
    early."""
    gone: asyncio.Future[Any] = asyncio.ensure_future(disconnected())
    stopped = (stopping or Draining()).watch()
    waiting: asyncio.Future[Event] | None = None
    try:
        async with relay.sessions.subscribe(session_id) as subscription:
            session: LoginSession | None = await relay.sessions.find(session_id)
            if session is None:
                return
            shown = relay.sessions.ticket(session)  # the QR this event shows
            yield with_code(relay, session, event_of(session), shown)
            sent = session.status
            while not session.final and not stopped.done():
                if waiting is None:
                    waiting = asyncio.ensure_future(subscription.get())
                due = session.expires_at
                next_code = relay.sessions.next_ticket_at(session)
                if session.status is Status.PENDING and next_code is not None:
                    due = min(due, next_code)
                timeout = max(due - relay.sessions.now(), 0) + EXPIRY_SLACK
                done, _ = await asyncio.wait(
                    {waiting, gone, stopped}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                if gone in done:
                    gone.result()  # a failure to watch the client is an error, not a departure
                    return
                if stopped in done:
                    return  # the process is stopping: the caller tells the page to reconnect
                if waiting in done:
                    waiting = None  # consumed; the next turn waits for the next event
                elif relay.sessions.now() < session.expires_at:
                    # Only the next QR is due: it follows from what we hold; nothing to read.
                    code = relay.sessions.ticket(session)
                    if code != shown:
                        shown = code
                        yield with_code(relay, session, event_of(session), code)
                    continue
                # An event, or the expiry is due: read the truth, pass it on when it changed.
                latest = await relay.sessions.find(session_id)
                if latest is None:
                    return
                session = latest
                if session.status != sent:
                    yield event_of(session)
                    sent = session.status
                elif session.status is Status.PENDING:
                    code = relay.sessions.ticket(session)
                    if code != shown:
                        shown = code
                        yield with_code(relay, session, event_of(session), code)
    finally:
        gone.cancel()
        stopped.cancel()
        if waiting is not None:
            waiting.cancel()
