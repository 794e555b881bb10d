"""No device_code, user_code or token in any log line, with every logger at DEBUG: a whole
device login through a real uvicorn, its websocket (the device_code is in its path) and /token,
and the mistakes a device or a phone makes on the way."""

from __future__ import annotations

import json

import pytest

from relay.device.user_codes import normalise
from tests.device.helpers import Device, enter_code, kiosk_clients
from tests.device.test_live import closed_with, connect, next_event
from tests.flows import Relay
from tests.observability.test_secrets_in_logs import DebugLog, assert_no_secret, witnessed


@pytest.mark.parametrize("served", [{"clients": kiosk_clients()}], indirect=True)
async def test_device_secrets_in_logs_none_in_a_whole_device_login(
    served: Relay, debug_log: DebugLog
) -> None:
    debug_log.everything()  # again: configuring uvicorn set its loggers' levels
    witness = witnessed(served)
    async with Device(served, over_network=True) as device:
        witness.watch(device.http)
        authorized = await device.authorize()
        witness.add("device_code", authorized.device_code)
        witness.add("user_code", authorized.user_code)
        witness.add("user_code, normalised", normalise(authorized.user_code))
        socket = await connect(served, authorized.device_code)
        try:
            assert (await next_event(socket))["status"] == "pending"
            # A guess, the code typed loosely, then the confirmation.
            await served.phone.post("/device", data={"user_code": "ZZZZ-ZZZZ"})
            loose = authorized.user_code.lower().replace("-", " ")
            witness.add("user_code, typed", loose)
            session_id = await enter_code(served, loose)
            assert (await next_event(socket))["status"] == "scanned"
            await served.approve(session_id)
            assert (await next_event(socket))["status"] == "confirmed"
            assert await closed_with(socket) == 1000
        finally:
            await socket.close()
        tokens = await device.poll(authorized.device_code)
        assert tokens.status_code == 200
        again = await device.poll(authorized.device_code)  # a replay: invalid_grant
        assert json.loads(again.text)["error"] == "invalid_grant"

    assert {"relay.access", "uvicorn.access", "uvicorn.error"} <= debug_log.loggers()
    assert_no_secret(
        debug_log,
        witness,
        "device_code",
        "user_code",
        "user_code, normalised",
        "client_secret of the relying party",
        "access_token from 127.0.0.1/token",
        "id_token from 127.0.0.1/token",
        "cookie relay_phone",
        "cookie relay_cb",
    )
