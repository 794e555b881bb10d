"""docs/openapi.yaml describes the device flow's JSON answers as the relay gives them: the
device authorization and its errors, and every answer of the device_code grant at /token."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from dataclasses import replace

from schemathesis.python.asgi import shutdown_lifespans
from starlette.applications import Starlette

from relay.device import DEVICE_CODE_GRANT
from relay.settings import Settings
from tests.device.helpers import Device, enter_code, kiosk_clients
from tests.flows import Relay
from tests.test_openapi import call_and_validate, load_spec


def basic(client_id: str) -> dict[str, str]:
    credentials = base64.b64encode(f"{client_id}:{client_id}-secret".encode()).decode()
    return {"Authorization": f"Basic {credentials}"}


async def approved(relay: Relay) -> tuple[str, str]:
    """A device_code approved on the phone, and one still pending."""
    async with Device(relay) as device:
        first = await device.authorize()
        session_id = await enter_code(relay, first.user_code)
        done = await relay.approve(session_id)
        assert "Return to the device" in done.text
        second = await device.authorize()
    await relay.phone.aclose()
    await relay.desktop.aclose()
    return first.device_code, second.device_code


def test_device_openapi_answers_as_documented(
    settings: Settings, app_factory: Callable[[Settings], Starlette]
) -> None:
    settings = replace(settings, clients=kiosk_clients())
    app = app_factory(settings)
    confirmed, pending = asyncio.run(approved(Relay(app, settings)))
    schema = load_spec(app)
    try:
        body = {"scope": "openid profile"}
        for client_id, status in (("rp", 200), ("web", 400)):
            answer = call_and_validate(
                schema, "/device_authorization", "POST", headers=basic(client_id), body=body
            )
            assert answer.status_code == status, answer.text
        wrong = {"Authorization": "Basic " + base64.b64encode(b"rp:wrong").decode()}
        refused = call_and_validate(
            schema, "/device_authorization", "POST", headers=wrong, body=body
        )
        assert refused.status_code == 401

        def poll(device_code: str) -> str:
            form = {"grant_type": DEVICE_CODE_GRANT, "device_code": device_code}
            answer = call_and_validate(schema, "/token", "POST", headers=basic("rp"), body=form)
            return str(answer.json().get("error", answer.status_code))

        assert [poll(pending), poll(pending)] == ["authorization_pending", "slow_down"]
        assert poll(confirmed) == "200"
        assert poll(confirmed) == "invalid_grant"
    finally:
        shutdown_lifespans()
