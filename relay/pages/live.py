"""WS /sessions/{id}/live: the desktop learns each status change the moment it happens.

It sends the session's status stream (status_stream.py): the current status, then each change as
`{"status": ..., "at": ...}` (plus `reason` and `message` on failed and denied), and closes
normally once the status is final. Messages from the page (pings) are read and ignored.

Closes with another code, which the page script acts on (static/login.js):
- 1008 (policy violation): unknown session, foreign origin, not the browser that started the
  login; the page stops and says so.
- 1012 (service restart): this process is stopping (SIGTERM); the page reconnects shortly, and
  the load balancer sends it to another process, where it gets the current status first.
- 1013 (try again later, relay/app.py): the store does not answer; the page retries with back-off.
"""

from __future__ import annotations

import contextlib

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from relay.core import Relay
from relay.observability.metrics import counted_stream
from relay.pages.binding import desktop_cookie, holds, same_origin, session_in_path
from relay.pages.status_stream import Draining, draining, status_changes
from relay.sessions import FINAL, Status

POLICY_VIOLATION = 1008  # RFC 6455 §7.4.1
SERVICE_RESTART = 1012  # IANA WebSocket close code registry: reconnect, the service restarts


@counted_stream("websocket")  # relay_open_streams{transport="websocket"}
async def live(websocket: WebSocket) -> None:
    relay: Relay = websocket.app.state.relay
    session = await session_in_path(websocket)
    await websocket.accept()
    if session is None:
        await websocket.close(POLICY_VIOLATION, "unknown login session")
        return
    if not same_origin(websocket, relay):
        await websocket.close(POLICY_VIOLATION, "foreign origin")
        return
    if not holds(websocket, desktop_cookie(relay, session.id), session.binding_hash):
        await websocket.close(POLICY_VIOLATION, "this browser did not start the login")
        return
    with contextlib.suppress(WebSocketDisconnect):
        await stream(websocket, relay, session.id, draining(websocket))


async def disconnected(websocket: WebSocket) -> None:
    """Returns once the page has gone; whatever it sends meanwhile is ignored."""
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass


async def stream(
    websocket: WebSocket, relay: Relay, session_id: str, stopping: Draining | None = None
) -> None:
    last: str | None = None
    changes = status_changes(relay, session_id, lambda: disconnected(websocket), stopping)
    async with contextlib.aclosing(changes):
        async for event in changes:
            await websocket.send_json(event)
            last = event["status"]
    if websocket.client_state is WebSocketState.DISCONNECTED:
        return  # the page left: nobody to close for
    if last is None:  # the record went away between the checks and the subscription
        await websocket.close(POLICY_VIOLATION, "unknown login session")
        return
    if stopping is not None and stopping.is_set() and Status(last) not in FINAL:
        await websocket.close(SERVICE_RESTART, "the relay is restarting; reconnect")
        return
    await websocket.close(1000)
