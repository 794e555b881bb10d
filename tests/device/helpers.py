"""A device for the device-flow tests: it asks at /device_authorization and polls /token, with
the client's own credentials; and the phone's steps at /device."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, replace
from typing import Any

import httpx
import numpy as np
import zxingcpp

from relay.device import DEVICE_CODE_GRANT
from relay.sessions import LoginSessions
from relay.settings import ClientConfig
from tests.conftest import RP_REDIRECT
from tests.flows import Relay
from tests.pages.test_qr import raster

KIOSK_AGENT = "KioskOS/2.1 (lobby screen)"
KIOSK_IP = "192.0.2.10"


def kiosk_clients() -> dict[str, ClientConfig]:
    """ "rp" and "tv" are kiosks (the device grant is theirs); "web" is an ordinary client."""
    rp = ClientConfig(
        client_id="rp",
        secret="rp-secret",
        redirect_uris=(RP_REDIRECT,),
        providers=("sandbox",),
        display_name="Example RP",
        kiosk=True,
    )
    return {
        "rp": rp,
        "tv": replace(rp, client_id="tv", secret="tv-secret", display_name="Lobby TV"),
        "web": replace(rp, client_id="web", secret="web-secret", kiosk=False),
    }


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def on_clock(relay: Relay, clock: Clock) -> None:
    """The relay's login sessions read `clock` (LoginSessions' clock injection): expiry and the
    time of each poll follow it. The store's own TTLs keep real time."""
    sessions = relay.core.sessions
    relay.core.sessions = LoginSessions(
        sessions.store, sessions.events, ttl=sessions.ttl, qr_rotate=sessions.qr_rotate, clock=clock
    )


@dataclass
class Authorized:
    """What /device_authorization answered."""

    body: dict[str, Any]

    @property
    def device_code(self) -> str:
        code: str = self.body["device_code"]
        return code

    @property
    def user_code(self) -> str:
        code: str = self.body["user_code"]
        return code


class Device:
    """A device (a kiosk) of client `client_id`, with `KIOSK_AGENT`: in-process at `KIOSK_IP`,
    or over the network to a real server (`over_network`, for the `served` fixture)."""

    def __init__(self, relay: Relay, client_id: str = "rp", *, over_network: bool = False) -> None:
        self.relay = relay
        self.auth = httpx.BasicAuth(client_id, f"{client_id}-secret")
        transport: httpx.AsyncBaseTransport = httpx.ASGITransport(
            app=relay.app, client=(KIOSK_IP, 40000)
        )
        if over_network:
            transport = httpx.AsyncHTTPTransport()
        self.http = httpx.AsyncClient(
            transport=transport, base_url=relay.issuer, headers={"User-Agent": KIOSK_AGENT}
        )

    async def __aenter__(self) -> Device:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def ask(self, **form: str) -> httpx.Response:
        """POST /device_authorization (scope "openid profile" unless given)."""
        body = {"scope": "openid profile", **form}
        return await self.http.post("/device_authorization", data=body, auth=self.auth)

    async def authorize(self, **form: str) -> Authorized:
        answer = await self.ask(**form)
        assert answer.status_code == 200, answer.text
        return Authorized(answer.json())

    async def poll(self, device_code: str, **form: str) -> httpx.Response:
        body = {"grant_type": DEVICE_CODE_GRANT, "device_code": device_code, **form}
        return await self.http.post("/token", data=body, auth=self.auth)


def error_of(response: httpx.Response) -> str:
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"] == "application/json"
    error: str = response.json()["error"]
    return error


async def enter_code(relay: Relay, typed: str, phone: httpx.AsyncClient | None = None) -> str:
    """The phone types `typed` at /device and confirms; the login's id (from /phone/{id})."""
    phone = phone or relay.phone
    page = await phone.post("/device", data={"user_code": typed})
    assert page.status_code == 200, page.text
    shown = re.search(r'name="user_code" value="([A-Z-]+)"', page.text)
    assert shown, "the confirmation step carries the code"
    confirmed = await phone.post("/device/confirm", data={"user_code": shown.group(1)})
    assert confirmed.status_code == 303, confirmed.text
    location = confirmed.headers["location"]
    assert location.startswith("/phone/")
    return location.removeprefix("/phone/")


async def signed_in(relay: Relay, device: Device, **form: str) -> tuple[Authorized, str]:
    """A device authorization approved on the phone at the sandbox: confirmed, not redeemed."""
    authorized = await device.authorize(**form)
    session_id = await enter_code(relay, authorized.user_code)
    done = await relay.approve(session_id)
    assert "Return to the device" in done.text, done.text
    return authorized, session_id


async def statuses(relay: Relay) -> list[str]:
    """The status of every login the store holds."""
    records = [await relay.core.store.get(key) for key in relay.stored_keys("session:")]
    return [record["status"] for record in records if record is not None]


def decoded_qr(data_uri: str) -> list[str]:
    """What a QR reader finds in an SVG data URI drawn by relay/pages/qr.py."""
    prefix = "data:image/svg+xml;base64,"
    assert data_uri.startswith(prefix)
    svg = base64.b64decode(data_uri.removeprefix(prefix), validate=True).decode()
    image: np.ndarray = raster(svg)
    return [result.text for result in zxingcpp.read_barcodes(image)]
