"""WS /device/{device_code}/live over a real server: the device waits without polling, and is
told the moment the phone confirms."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from tests.device.helpers import Device, enter_code, kiosk_clients
from tests.flows import Relay

POLICY_VIOLATION = 1008
KIOSKS = pytest.mark.parametrize("served", [{"clients": kiosk_clients()}], indirect=True)
PROMPTLY = 2.0  # seconds: an event pushed, not found by a timer


async def connect(relay: Relay, device_code: str) -> ClientConnection:
    url = relay.issuer.replace("http://", "ws://") + f"/device/{device_code}/live"
    return await websockets.connect(url, open_timeout=5)


async def next_event(socket: ClientConnection) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), PROMPTLY))
    return event


async def closed_with(socket: ClientConnection) -> int:
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(socket.recv(), PROMPTLY)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


@KIOSKS
async def test_device_live_is_told_the_moment_the_phone_confirms(served: Relay) -> None:
    async with Device(served, over_network=True) as device:
        authorized = await device.authorize()
        socket = await connect(served, authorized.device_code)
        try:
            first = await next_event(socket)
            assert first["status"] == "pending"
            assert "scan_url" not in first  # the device shows its user_code, never a scan URL
            session_id = await enter_code(served, authorized.user_code)
            assert (await next_event(socket))["status"] == "scanned"
            done = await served.approve(session_id)
            assert "Return to the device" in done.text
            assert (await next_event(socket))["status"] == "confirmed"
            assert await closed_with(socket) == 1000  # nothing more to wait for
        finally:
            await socket.close()
        tokens = await device.poll(authorized.device_code)  # once, when told
        assert tokens.status_code == 200, tokens.text


@KIOSKS
async def test_device_live_tells_a_denial_with_its_reason_and_closes(served: Relay) -> None:
    async with Device(served, over_network=True) as device:
        authorized = await device.authorize()
        session_id = await enter_code(served, authorized.user_code)
        socket = await connect(served, authorized.device_code)
        try:
            assert (await next_event(socket))["status"] == "scanned"  # the current status first
            await served.phone.post(f"/phone/{session_id}/decline")
            denied = await next_event(socket)
            assert denied["status"] == "denied" and denied["reason"] == "user_declined"
            assert await closed_with(socket) == 1000
        finally:
            await socket.close()
        assert (await device.poll(authorized.device_code)).json()["error"] == "access_denied"


@KIOSKS
async def test_device_live_unknown_device_code_closed_with_policy_violation(
    served: Relay,
) -> None:
    for device_code in ("A" * 43, "short", "x" * 200):
        socket = await connect(served, device_code)
        assert await closed_with(socket) == POLICY_VIOLATION, device_code
