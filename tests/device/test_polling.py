"""The device_code grant at /token (RFC 8628 §3.4, §3.5): every answer a polling device meets."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from joserfc import jwt
from joserfc.jwk import KeySet

from relay.device.records import grant_of
from relay.sessions import Status
from tests.device.helpers import (
    Clock,
    Device,
    enter_code,
    error_of,
    kiosk_clients,
    on_clock,
    signed_in,
)
from tests.flows import Relay


async def test_polling_pending_then_scanned_is_authorization_pending(
    kiosk: Relay, device: Device
) -> None:
    clock = Clock()
    on_clock(kiosk, clock)
    authorized = await device.authorize()
    pending = await device.poll(authorized.device_code)
    assert pending.status_code == 400 and error_of(pending) == "authorization_pending"
    await enter_code(kiosk, authorized.user_code)
    clock.advance(5)
    scanned = await device.poll(authorized.device_code)
    assert scanned.status_code == 400 and error_of(scanned) == "authorization_pending"


async def test_polling_after_approval_gets_the_tokens_of_the_code_grant(
    kiosk: Relay, device: Device
) -> None:
    authorized, session_id = await signed_in(kiosk, device)
    answer = await device.poll(authorized.device_code)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope", "id_token"}
    assert body["token_type"] == "Bearer" and body["scope"] == "openid profile"
    keys = KeySet.import_key_set((await kiosk.desktop.get("/jwks.json")).json())
    claims = jwt.decode(body["id_token"], keys, algorithms=["RS256"]).claims
    assert claims["aud"] == "rp" and claims["iss"] == kiosk.issuer
    assert claims["sub"].startswith("sandbox:") and claims["name"] == "Ada Lovelace"
    assert "nonce" not in claims
    assert (await kiosk.core.sessions.get(session_id)).status == Status.COMPLETED
    userinfo = await kiosk.desktop.get(
        "/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert userinfo.status_code == 200 and userinfo.json()["sub"] == claims["sub"]


async def test_polling_without_openid_gets_no_id_token(kiosk: Relay, device: Device) -> None:
    authorized, _ = await signed_in(kiosk, device, scope="profile")
    body = (await device.poll(authorized.device_code)).json()
    assert "id_token" not in body and body["scope"] == "profile"


async def test_polling_too_soon_slows_down_and_the_interval_grows_by_five_seconds(
    kiosk: Relay, device: Device
) -> None:
    """RFC 8628 §3.5: each slow_down adds 5 seconds to the interval, for that poll and every
    later one; a poll that waits the grown interval is pending again, and the interval stays
    grown."""
    clock = Clock()
    on_clock(kiosk, clock)
    authorized = await device.authorize()
    code = authorized.device_code

    async def poll_after(seconds: float) -> str:
        clock.advance(seconds)
        return error_of(await device.poll(code))

    async def interval() -> int:
        grant = await grant_of(kiosk.core, code)
        assert grant is not None
        return grant.interval

    assert await poll_after(0) == "authorization_pending"
    assert await interval() == 5
    assert await poll_after(4.9) == "slow_down"
    assert await interval() == 10
    assert await poll_after(9) == "slow_down"  # 9 s < 10 s
    assert await interval() == 15
    assert await poll_after(15) == "authorization_pending"
    assert await interval() == 15  # stays grown
    assert await poll_after(14) == "slow_down"
    assert await interval() == 20
    assert await poll_after(20) == "authorization_pending"
    assert await poll_after(20) == "authorization_pending"
    assert await interval() == 20


async def test_polling_after_expiry_is_expired_token(kiosk: Relay, device: Device) -> None:
    clock = Clock()
    on_clock(kiosk, clock)
    authorized = await device.authorize()
    await enter_code(kiosk, authorized.user_code)  # scanned, then nobody finishes
    clock.advance(kiosk.settings.device_code_ttl)
    answer = await device.poll(authorized.device_code)
    assert answer.status_code == 400 and error_of(answer) == "expired_token"
    clock.advance(60)
    assert error_of(await device.poll(authorized.device_code)) == "expired_token"


async def test_polling_after_an_approval_nobody_collected_is_expired_token(
    kiosk: Relay, device: Device
) -> None:
    """Once approved, the device has at least a minute to collect the tokens; after the
    deadline they are gone."""
    clock = Clock()
    on_clock(kiosk, clock)
    authorized, _ = await signed_in(kiosk, device)
    clock.advance(kiosk.settings.device_code_ttl + 61)
    assert error_of(await device.poll(authorized.device_code)) == "expired_token"


async def test_polling_after_denial_at_the_provider_is_access_denied(
    kiosk: Relay, device: Device
) -> None:
    authorized = await device.authorize()
    session_id = await enter_code(kiosk, authorized.user_code)
    back = await kiosk.at_sandbox(session_id, "deny")
    await kiosk.phone.get(back.headers["location"])
    assert (await kiosk.core.sessions.get(session_id)).status == Status.DENIED
    answer = await device.poll(authorized.device_code)
    assert answer.status_code == 400 and error_of(answer) == "access_denied"
    assert answer.json()["error_description"] == "The sign-in was declined at Sandbox."


async def test_polling_after_this_wasnt_me_is_access_denied(kiosk: Relay, device: Device) -> None:
    authorized = await device.authorize()
    session_id = await enter_code(kiosk, authorized.user_code)
    declined = await kiosk.phone.post(f"/phone/{session_id}/decline")
    assert declined.status_code == 200
    answer = await device.poll(authorized.device_code)
    assert error_of(answer) == "access_denied"
    assert answer.json()["error_description"] == "The sign-in was declined on the phone."


async def test_polling_a_device_code_of_another_client_is_invalid_grant(
    kiosk: Relay, device: Device
) -> None:
    authorized, session_id = await signed_in(kiosk, device)
    async with Device(kiosk, "tv") as tv:
        stolen = await tv.poll(authorized.device_code)
    assert stolen.status_code == 400 and error_of(stolen) == "invalid_grant"
    assert "another client" in stolen.json()["error_description"]
    assert (await kiosk.core.sessions.get(session_id)).status == Status.CONFIRMED
    assert (await device.poll(authorized.device_code)).status_code == 200  # still the owner's


async def test_polling_by_a_client_that_is_not_a_kiosk_is_unauthorized_client(
    kiosk: Relay, device: Device
) -> None:
    authorized = await device.authorize()
    async with Device(kiosk, "web") as web:
        answer = await web.poll(authorized.device_code)
    assert answer.status_code == 400 and error_of(answer) == "unauthorized_client"


async def test_polling_bad_requests(kiosk: Relay, device: Device) -> None:
    unknown = await device.poll("x" * 43)
    assert unknown.status_code == 400 and error_of(unknown) == "invalid_grant"
    missing = await device.http.post(
        "/token",
        data={"grant_type": "urn:ietf:params:oauth:grant-type:device_code"},
        auth=device.auth,
    )
    assert missing.status_code == 400 and error_of(missing) == "invalid_request"
    too_long = await device.poll("x" * 300)
    assert too_long.status_code == 400 and error_of(too_long) == "invalid_request"
    no_client = await kiosk.desktop.post(
        "/token",
        data={"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": "x"},
    )
    assert no_client.status_code == 401 and error_of(no_client) == "invalid_client"


async def test_polling_after_success_is_invalid_grant_and_later_revokes_the_tokens(
    kiosk: Relay, device: Device
) -> None:
    """At the same moment the same device asks twice (tests/device/test_repeat_polls.py);
    later, a replay revokes."""
    clock = Clock()
    on_clock(kiosk, clock)
    authorized, _ = await signed_in(kiosk, device)
    first = await device.poll(authorized.device_code)
    assert first.status_code == 200
    bearer = {"Authorization": f"Bearer {first.json()['access_token']}"}
    again = await device.poll(authorized.device_code)  # the clock stands still: same moment
    assert again.status_code == 400 and error_of(again) == "invalid_grant"
    assert (await kiosk.desktop.get("/userinfo", headers=bearer)).status_code == 200
    clock.advance(kiosk.settings.device_poll_interval + 5)
    replay = await device.poll(authorized.device_code)
    assert replay.status_code == 400 and error_of(replay) == "invalid_grant"
    assert (await kiosk.desktop.get("/userinfo", headers=bearer)).status_code == 401


async def test_polling_twice_at_once_issues_the_tokens_once(kiosk: Relay, device: Device) -> None:
    authorized, _ = await signed_in(kiosk, device)
    answers = await asyncio.gather(*(device.poll(authorized.device_code) for _ in range(4)))
    assert sorted(a.status_code for a in answers) == [200, 400, 400, 400]
    assert {error_of(a) for a in answers if a.status_code == 400} == {"invalid_grant"}


async def test_device_login_id_and_codes_are_no_authorization_codes(
    kiosk: Relay, device: Device
) -> None:
    """Neither the login's id nor its device_code redeems as an authorization code, and an
    authorization code is no device_code."""
    authorized, session_id = await signed_in(kiosk, device)
    for code in (session_id, authorized.device_code):
        answer = await kiosk.token(code=code)
        assert answer.status_code == 400 and error_of(answer) == "invalid_grant"
    web_code = (await kiosk.login())["code"]
    assert error_of(await device.poll(web_code)) == "invalid_grant"
    assert (await device.poll(authorized.device_code)).status_code == 200  # spent nothing


async def test_polling_after_the_records_are_gone_is_invalid_grant(
    relay_from: Callable[..., Relay],
) -> None:
    relay = relay_from(clients=kiosk_clients())
    async with Device(relay) as device:
        authorized = await device.authorize()
        for key in relay.stored_keys("device:"):
            await relay.core.store.delete(key)
        assert error_of(await device.poll(authorized.device_code)) == "invalid_grant"


async def test_device_login_whole_on_redis(
    relay_from: Callable[..., Relay], redis_store: str
) -> None:
    """The same records and compare-and-sets on the Redis store, as many processes use it."""
    relay = relay_from(clients=kiosk_clients(), store=redis_store)
    async with Device(relay) as device:
        authorized = await device.authorize()
        assert error_of(await device.poll(authorized.device_code)) == "authorization_pending"
        assert error_of(await device.poll(authorized.device_code)) == "slow_down"
        session_id = await enter_code(relay, authorized.user_code.lower())
        done = await relay.approve(session_id)
        assert "Return to the device" in done.text
        tokens = await device.poll(authorized.device_code)
        assert tokens.status_code == 200, tokens.text
        assert error_of(await device.poll(authorized.device_code)) == "invalid_grant"
