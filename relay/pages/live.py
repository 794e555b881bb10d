"""WS /sessions/{id}/live: the desktop learns each status change the moment it happens.

It subscribes first and reads the state second (nothing is lost in between), sends the current
status, then each change as `{"status": ..., "at": ...}` (plus `reason` and `message` on failed
and denied), and closes normally once the status is final. The only timer is this socket's own
wait for the session's expiry; no loop polls the store.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from relay.core import Relay
from relay.pages.binding import DESKTOP_COOKIE, holds, same_origin, session_in_path
from relay.sessions import LoginSession
from relay.sessions.service import event_of

POLICY_VIOLATION = 1008  # RFC 6455 §7.4.1


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
    if not holds(websocket, DESKTOP_COOKIE, session.binding_hash):
        await websocket.close(POLICY_VIOLATION, "this browser did not start the login")
        return
    with contextlib.suppress(WebSocketDisconnect):
        await stream(websocket, relay, session.id)


async def stream(websocket: WebSocket, relay: Relay, session_id: str) -> None:
    receiving: asyncio.Future[Any] = asyncio.ensure_future(websocket.receive())
    waiting: asyncio.Future[Any] | None = None
    try:
        async with relay.sessions.subscribe(session_id) as subscription:
            session: LoginSession | None = await relay.sessions.find(session_id)
            if session is None:
                await websocket.close(POLICY_VIOLATION, "unknown login session")
                return
            await websocket.send_json(event_of(session))
            sent = session.status
            while not session.final:
                if waiting is None:
                    waiting = asyncio.ensure_future(subscription.get())
                timeout = max(session.expires_at - relay.sessions.now(), 0) + 0.05
                done, _ = await asyncio.wait(
                    {waiting, receiving}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                if receiving in done:
                    if receiving.result()["type"] == "websocket.disconnect":
                        return
                    receiving = asyncio.ensure_future(websocket.receive())  # pings are ignored
                    if waiting not in done:
                        continue
                if waiting in done:
                    waiting = None  # consumed; the next turn waits for the next event
                # An event, or the expiry is due. Events only wake us: the stored session is
                # the truth (find() also moves it to expired when due), sent when it changed.
                latest = await relay.sessions.find(session_id)
                if latest is None:
                    break
                session = latest
                if session.status != sent:
                    await websocket.send_json(event_of(session))
                    sent = session.status
        await websocket.close(1000)
    finally:
        receiving.cancel()
        if waiting is not None:
            waiting.cancel()
