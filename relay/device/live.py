"""WS /device/{device_code}/live: the device waits here instead of polling /token (beyond
RFC 8628), and is told the moment the phone confirms.

The device_code in the path is the credential: no cookie, no Origin check (nothing ambient
authenticates the socket, so another site gains nothing by opening it). It is looked up by its
hash; an unknown one is closed with 1008. Then the socket sends the login's status stream
(relay/pages/status_stream.py, as the login page's socket): the current status, then each change
as `{"status": ..., "at": ...}` (with `reason` and `message` on failed and denied), and closes
normally (1000) after `confirmed` or a final status. The device then calls /token once:
`confirmed` means the tokens are waiting there (for at least a minute), and the only change
left, `completed`, is the device's own doing.

What the login page's socket adds for a waiting QR (the scan URL of each new QR code) is left
out: a device shows verification_uri_complete, whose code the phone confirms against the screen
(RFC 8628 §3.3.1), never a scan URL that would skip that step. So a pending login sends one
event, not one per QR period.

The device_code never reaches a log line: the access line and uvicorn's masks the path
(relay/observability/access.py).
"""

from __future__ import annotations

import contextlib

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from relay.core import Relay
from relay.device.records import grant_of
from relay.observability.context import bind_session
from relay.observability.metrics import counted_stream
from relay.pages.binding import URL_TOKEN
from relay.pages.live import POLICY_VIOLATION, SERVICE_RESTART, disconnected
from relay.pages.status_stream import Draining, draining, status_changes
from relay.sessions import FINAL, Status

# After these the device has nothing more to wait for: it calls /token.
LAST = frozenset({Status.CONFIRMED, *FINAL})


@counted_stream("websocket")  # relay_open_streams{transport="websocket"}
async def live(websocket: WebSocket) -> None:
    relay: Relay = websocket.app.state.relay
    device_code = websocket.path_params["device_code"]
    grant = await grant_of(relay, device_code) if URL_TOKEN.fullmatch(device_code) else None
    await websocket.accept()
    if grant is None:
        await websocket.close(POLICY_VIOLATION, "unknown device_code")
        return
    bind_session(grant.session_id)
    with contextlib.suppress(WebSocketDisconnect):
        await stream(websocket, relay, grant.session_id, draining(websocket))


async def stream(
    websocket: WebSocket, relay: Relay, session_id: str, stopping: Draining | None = None
) -> None:
    last: str | None = None
    changes = status_changes(relay, session_id, lambda: disconnected(websocket), stopping)
    async with contextlib.aclosing(changes):
        async for event in changes:
            if event["status"] == last:
                continue  # the next QR of a waiting login: nothing for the device
            await websocket.send_json({k: v for k, v in event.items() if k != "scan_url"})
            last = event["status"]
            if Status(last) in LAST:
                break
    if websocket.client_state is WebSocketState.DISCONNECTED:
        return  # the device left: nobody to close for
    if last is None:  # the login's record went away between the lookup and the subscription
        await websocket.close(POLICY_VIOLATION, "unknown device_code")
        return
    if stopping is not None and stopping.is_set() and Status(last) not in LAST:
        await websocket.close(SERVICE_RESTART, "the relay is restarting; reconnect")
        return
    await websocket.close(1000)
