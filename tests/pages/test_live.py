"""WS /sessions/{id}/live over a real server: the current state first, then each change; refused
with a policy-violation close when the session is unknown or the binding cookie is missing."""

from __future__ import annotations

import json

import pytest
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from tests.flows import Relay

POLICY_VIOLATION = 1008


async def closed_with(socket: ClientConnection) -> int:
    with pytest.raises(ConnectionClosed) as closed:
        await socket.recv()
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


async def test_live_unknown_session_closed_with_policy_violation(served: Relay) -> None:
    socket = await served.live("A" * 22, cookie="relay_bind=whatever")
    assert await closed_with(socket) == POLICY_VIOLATION


async def test_live_malformed_session_id_closed_with_policy_violation(served: Relay) -> None:
    socket = await served.live("x" * 200)
    assert await closed_with(socket) == POLICY_VIOLATION


async def test_live_without_binding_cookie_closed_with_policy_violation(served: Relay) -> None:
    started = await served.start()
    for cookie in (None, "relay_bind=not-the-secret"):
        socket = await served.live(started.session_id, cookie)
        assert await closed_with(socket) == POLICY_VIOLATION
    assert (await served.core.sessions.get(started.session_id)).status == "pending"


async def test_live_pushes_denial_with_reason_and_message(served: Relay) -> None:
    started = await served.start()
    socket = await served.live(started.session_id, served.desktop_cookie(started.session_id))
    try:
        assert json.loads(await socket.recv())["status"] == "pending"
        await served.scan(started.scan_url)
        assert json.loads(await socket.recv())["status"] == "scanned"
        await served.phone.post(f"/phone/{started.session_id}/decline")
        denied = json.loads(await socket.recv())
        assert denied["status"] == "denied"
        assert denied["reason"] == "user_declined"
        assert denied["message"] == "The sign-in was declined on the phone."
        assert await closed_with(socket) == 1000  # final: the stream ends normally
    finally:
        await socket.close()


async def test_live_pushes_cancel(served: Relay) -> None:
    started = await served.start()
    socket = await served.live(started.session_id, served.desktop_cookie(started.session_id))
    try:
        assert json.loads(await socket.recv())["status"] == "pending"
        await served.desktop.post(f"/sessions/{started.session_id}/cancel")
        assert json.loads(await socket.recv())["status"] == "cancelled"
    finally:
        await socket.close()


async def test_live_reconnect_gets_the_current_state_first(served: Relay) -> None:
    """A page that lost its socket reconnects and learns what happened meanwhile."""
    started = await served.start()
    cookie = served.desktop_cookie(started.session_id)
    first = await served.live(started.session_id, cookie)
    assert json.loads(await first.recv())["status"] == "pending"
    await first.close()

    await served.scan(started.scan_url)
    await served.approve(started.session_id)

    second = await served.live(started.session_id, cookie)
    try:
        assert json.loads(await second.recv())["status"] == "confirmed"
    finally:
        await second.close()


async def test_live_on_a_finished_session_sends_it_and_closes(served: Relay) -> None:
    started = await served.start()
    await served.desktop.post(f"/sessions/{started.session_id}/cancel")
    socket = await served.live(started.session_id, served.desktop_cookie(started.session_id))
    assert json.loads(await socket.recv())["status"] == "cancelled"
    assert await closed_with(socket) == 1000


async def test_live_ignores_messages_from_the_page(served: Relay) -> None:
    started = await served.start()
    socket = await served.live(started.session_id, served.desktop_cookie(started.session_id))
    try:
        assert json.loads(await socket.recv())["status"] == "pending"
        await socket.send("ping")
        await socket.send(b"\x00\x01")
        await served.scan(started.scan_url)
        assert json.loads(await socket.recv())["status"] == "scanned"
    finally:
        await socket.close()


async def test_live_from_a_foreign_origin_closed_with_policy_violation(served: Relay) -> None:
    started = await served.start()
    url = served.issuer.replace("http://", "ws://") + f"/sessions/{started.session_id}/live"
    socket = await websockets.connect(
        url,
        additional_headers={"Cookie": served.desktop_cookie(started.session_id)},
        origin=Origin("https://evil.example"),
    )
    assert await closed_with(socket) == POLICY_VIOLATION


async def test_live_closed_with_service_restart_when_the_relay_stops(served: Relay) -> None:
    """SIGTERM (relay/app.py sets the app's Draining): the page is told to reconnect elsewhere,
    unless its login has ended anyway."""
    started = await served.start()
    cookie = served.desktop_cookie(started.session_id)
    socket = await served.live(started.session_id, cookie)
    assert json.loads(await socket.recv())["status"] == "pending"
    served.app.state.draining.set()
    assert await closed_with(socket) == 1012

    # One that arrives while the process stops: the current state, then the same close.
    late = await served.live(started.session_id, cookie)
    assert json.loads(await late.recv())["status"] == "pending"
    assert await closed_with(late) == 1012

    await served.desktop.post(f"/sessions/{started.session_id}/cancel")
    final = await served.live(started.session_id, cookie)
    assert json.loads(await final.recv())["status"] == "cancelled"
    assert await closed_with(final) == 1000
