"""POST /device_authorization (RFC 8628 §3.1, §3.2): who may ask, and what the device gets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from relay.device import DEVICE_CODE_GRANT
from relay.device.records import grant_of
from relay.device.user_codes import ALPHABET
from tests.conftest import NO_RATE_LIMITS
from tests.device.helpers import (
    KIOSK_AGENT,
    KIOSK_IP,
    Device,
    decoded_qr,
    error_of,
    kiosk_clients,
)
from tests.flows import Relay


async def test_device_authorization_answers_the_codes_and_where_to_enter_them(
    kiosk: Relay, device: Device
) -> None:
    answer = await device.ask()
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert set(body) == {
        "device_code",
        "user_code",
        "verification_uri",
        "verification_uri_complete",
        "verification_uri_complete_qr",
        "expires_in",
        "interval",
    }
    assert len(body["device_code"]) >= 43  # token_urlsafe(32): 256 bits
    first, dash, second = body["user_code"].partition("-")
    assert dash and len(first) == len(second) == 4
    assert set(first + second) <= set(ALPHABET)
    assert body["verification_uri"] == "http://relay.test/device"
    assert body["verification_uri_complete"] == (
        f"http://relay.test/device?user_code={body['user_code']}"
    )
    assert body["expires_in"] == 600 and body["interval"] == 5


async def test_device_authorization_qr_decodes_to_verification_uri_complete(
    device: Device,
) -> None:
    body = (await device.authorize()).body
    assert decoded_qr(body["verification_uri_complete_qr"]) == [body["verification_uri_complete"]]


async def test_device_authorization_starts_a_login_with_the_device_as_its_context(
    kiosk: Relay, device: Device
) -> None:
    authorized = await device.authorize(scope="openid profile unknown", ui_locales="zh-CN")
    grant = await grant_of(kiosk.core, authorized.device_code)
    assert grant is not None and grant.client_id == "rp" and grant.interval == 5
    session = await kiosk.core.sessions.get(grant.session_id)
    assert session.status == "pending"
    assert session.desktop_ip == KIOSK_IP and session.desktop_agent == KIOSK_AGENT
    assert session.request.scope == ("openid", "profile")  # as /authorize: unknown ones ignored
    assert session.request.provider == "sandbox"
    assert session.request.ui_locales == "zh-CN"
    assert session.expires_at - session.created_at == 600
    assert session.match_code is None


async def test_device_authorization_codes_differ_every_time(device: Device) -> None:
    answers = [(await device.authorize()).body for _ in range(5)]
    assert len({a["device_code"] for a in answers}) == 5
    assert len({a["user_code"] for a in answers}) == 5


async def test_device_authorization_store_holds_no_code(kiosk: Relay, device: Device) -> None:
    """Only hashes of the device_code and the user_code are keys; neither is a value."""
    authorized = await device.authorize()
    normalised = authorized.user_code.replace("-", "")
    keys = kiosk.stored_keys("")
    dumped = repr(keys) + repr([await kiosk.core.store.get(key) for key in keys])
    for secret in (authorized.device_code, authorized.user_code, normalised):
        assert secret not in dumped
    assert len(kiosk.stored_keys("device:")) == len(kiosk.stored_keys("user_code:")) == 1


async def test_device_authorization_refuses_a_client_that_is_not_a_kiosk(kiosk: Relay) -> None:
    async with Device(kiosk, "web") as web:
        answer = await web.ask()
    assert answer.status_code == 400
    assert error_of(answer) == "unauthorized_client"
    assert kiosk.stored_keys("session:") == []


async def test_device_authorization_client_authentication_as_at_token(kiosk: Relay) -> None:
    async with kiosk.browser() as anyone:
        wrong = await anyone.post(
            "/device_authorization", data={"scope": "openid"}, auth=("rp", "not-the-secret")
        )
        none = await anyone.post("/device_authorization", data={"client_id": "rp"})
        posted = await anyone.post(
            "/device_authorization", data={"client_id": "rp", "client_secret": "rp-secret"}
        )
    assert wrong.status_code == 401 and error_of(wrong) == "invalid_client"
    assert wrong.headers["www-authenticate"].startswith("Basic")
    assert none.status_code == 401 and error_of(none) == "invalid_client"
    assert posted.status_code == 200  # client_secret_post


async def test_device_authorization_bad_requests_get_oauth_errors(device: Device) -> None:
    malformed_scope = await device.ask(scope='openid "profile"')
    assert malformed_scope.status_code == 400 and error_of(malformed_scope) == "invalid_scope"
    other_provider = await device.ask(provider="sandbox2")
    assert other_provider.status_code == 400 and error_of(other_provider) == "invalid_request"
    assert "sandbox2" in other_provider.json()["error_description"]
    not_a_form = await device.http.post(
        "/device_authorization", json={"scope": "openid"}, auth=device.auth
    )
    assert not_a_form.status_code == 400 and error_of(not_a_form) == "invalid_request"
    repeated = await device.http.post(
        "/device_authorization",
        content="scope=openid&scope=profile",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=device.auth,
    )
    assert repeated.status_code == 400 and error_of(repeated) == "invalid_request"
    get = await device.http.get("/device_authorization")
    assert get.status_code == 405 and error_of(get) == "invalid_request"


@pytest.mark.parametrize("limit", ["token", "token_per_client"])
async def test_device_authorization_is_rate_limited_like_token(
    relay_from: Callable[..., Relay], limit: str
) -> None:
    limits = replace(NO_RATE_LIMITS, **{limit: "2/minute"})
    relay = relay_from(clients=kiosk_clients(), limits=limits)
    async with Device(relay) as device:
        answers = [await device.ask() for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert error_of(answers[2]) == "temporarily_unavailable"
    assert int(answers[2].headers["retry-after"]) >= 1


async def test_device_authorization_advertised_in_discovery(kiosk: Relay) -> None:
    config = (await kiosk.desktop.get("/.well-known/openid-configuration")).json()
    assert config["device_authorization_endpoint"] == "http://relay.test/device_authorization"
    assert DEVICE_CODE_GRANT in config["grant_types_supported"]
    assert "authorization_code" in config["grant_types_supported"]
