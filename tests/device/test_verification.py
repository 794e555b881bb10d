"""/device: the phone types the code (or arrives with it from the QR), checks it against the
screen, and takes the login as a scan would (RFC 8628 §3.3, §5.1)."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Callable
from dataclasses import replace

from relay.sessions import Status
from tests.conftest import NO_RATE_LIMITS
from tests.device.helpers import (
    KIOSK_IP,
    Clock,
    Device,
    enter_code,
    kiosk_clients,
    on_clock,
    signed_in,
    statuses,
)
from tests.flows import Relay, browser_at

WRONG = "ZZZZ-ZZZZ"  # well-formed; no test draws it (one chance in 2.6 * 10^10)


def user_code_in(page: str) -> str | None:
    found = re.search(r'id="device-user-code">([A-Z-]+)<', page)
    return found.group(1) if found else None


async def test_device_page_asks_for_the_code(kiosk: Relay) -> None:
    page = await kiosk.phone.get("/device")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert 'id="user-code"' in page.text and 'action="/device"' in page.text


async def test_device_right_code_typed_loosely_shows_the_app_and_the_code(
    kiosk: Relay, device: Device
) -> None:
    authorized = await device.authorize()
    typed = authorized.user_code.lower().replace("-", " -")  # "bcdf -ghjk"
    page = await kiosk.phone.post("/device", data={"user_code": typed})
    assert page.status_code == 200
    assert user_code_in(page.text) == authorized.user_code  # to compare with the screen
    assert 'id="device-client">Example RP<' in page.text
    assert 'action="/device/confirm"' in page.text
    assert 'id="device-cancel"' in page.text
    assert await statuses(kiosk) == ["pending"]  # nothing changed: the user has not confirmed


async def test_device_code_from_the_qr_goes_straight_to_the_check(
    kiosk: Relay, device: Device
) -> None:
    authorized = await device.authorize()
    complete = authorized.body["verification_uri_complete"]
    page = await kiosk.phone.get(complete.removeprefix(kiosk.issuer))
    assert page.status_code == 200
    assert user_code_in(page.text) == authorized.user_code


async def test_device_confirm_scans_the_login_and_continues_as_a_qr_login(
    kiosk: Relay, device: Device
) -> None:
    authorized = await device.authorize()
    confirmed = await kiosk.phone.post("/device/confirm", data={"user_code": authorized.user_code})
    assert confirmed.status_code == 303
    session_id = confirmed.headers["location"].removeprefix("/phone/")
    assert confirmed.headers["set-cookie"].startswith("relay_phone_")
    session = await kiosk.core.sessions.get(session_id)
    assert session.status == Status.SCANNED and session.phone_hash
    context = await kiosk.phone.get(f"/phone/{session_id}")  # who asks: the device
    assert context.status_code == 200
    assert KIOSK_IP in context.text
    assert "A device is asking" in context.text and "A computer is asking" not in context.text
    assert 'id="continue"' in context.text and 'id="decline"' in context.text


async def test_device_wrong_code_is_refused_and_changes_nothing(
    kiosk: Relay, device: Device
) -> None:
    await device.authorize()
    page = await kiosk.phone.post("/device", data={"user_code": WRONG})
    assert page.status_code == 400
    assert 'id="device-error"' in page.text and "not valid" in page.text
    confirm = await kiosk.phone.post("/device/confirm", data={"user_code": WRONG})
    assert confirm.status_code == 400
    malformed = await kiosk.phone.post("/device", data={"user_code": "hello"})
    assert malformed.status_code == 400 and "eight letters" in malformed.text
    assert await statuses(kiosk) == ["pending"]


async def test_device_expired_code_reads_as_one_that_never_existed(
    kiosk: Relay, device: Device
) -> None:
    """Never tell whether a code existed: an expired one gets the answer an unknown one gets."""
    clock = Clock()
    on_clock(kiosk, clock)
    authorized = await device.authorize()
    clock.advance(kiosk.settings.device_code_ttl)
    expired = await kiosk.phone.post("/device", data={"user_code": authorized.user_code})
    unknown = await kiosk.phone.post("/device", data={"user_code": WRONG})
    assert expired.status_code == unknown.status_code == 400
    assert without_code(expired.text, authorized.user_code) == without_code(unknown.text, WRONG)
    confirm = await kiosk.phone.post("/device/confirm", data={"user_code": authorized.user_code})
    assert confirm.status_code == 400
    assert await statuses(kiosk) == ["expired"]


def without_code(page: str, typed: str) -> str:
    return page.replace(typed, "CODE")


async def test_device_code_taken_by_another_phone_is_already_used(
    kiosk: Relay, device: Device
) -> None:
    authorized = await device.authorize()
    session_id = await enter_code(kiosk, authorized.user_code)
    async with kiosk.browser() as other:
        looked_up = await other.post("/device", data={"user_code": authorized.user_code})
        confirmed = await other.post("/device/confirm", data={"user_code": authorized.user_code})
        context = await other.get(f"/phone/{session_id}")
    for answer in (looked_up, confirmed):
        assert answer.status_code == 409
        assert "used already" in answer.text and "Nothing was changed" in answer.text
    assert context.status_code == 404  # not this phone's login
    session = await kiosk.core.sessions.get(session_id)
    assert session.status == Status.SCANNED
    # The phone that took it goes back where it left off.
    again = await kiosk.phone.post("/device", data={"user_code": authorized.user_code})
    assert again.status_code == 303 and again.headers["location"] == f"/phone/{session_id}"


async def test_device_forms_refuse_another_site(kiosk: Relay, device: Device) -> None:
    authorized = await device.authorize()
    foreign = {"Origin": "https://evil.example"}
    for path in ("/device", "/device/confirm"):
        answer = await kiosk.phone.post(
            path, data={"user_code": authorized.user_code}, headers=foreign
        )
        assert answer.status_code == 403, path
    assert await statuses(kiosk) == ["pending"]


async def test_device_code_guessing_is_rate_limited(relay_from: Callable[..., Relay]) -> None:
    """RFC 8628 §5.1: every well-formed code looked up counts against `[limits] user_code` per
    address; over it, every lookup is refused for a while, even a right one. Text that cannot
    be a code is refused without a lookup and not counted."""
    limits = replace(NO_RATE_LIMITS, user_code="3/minute")
    relay = relay_from(clients=kiosk_clients(), limits=limits)
    async with Device(relay) as device:
        authorized = await device.authorize()
    guesser = browser_at(relay, "198.51.100.7")
    async with guesser:
        for _ in range(5):
            assert (await guesser.post("/device", data={"user_code": "nope"})).status_code == 400
        right = await guesser.get(f"/device?user_code={authorized.user_code}")
        assert right.status_code == 200
        answers = [await guesser.post("/device", data={"user_code": f"ZZZZ-ZZZ{c}"}) for c in "BCD"]
        refused_right = await guesser.get(f"/device?user_code={authorized.user_code}")
        refused_confirm = await guesser.post(
            "/device/confirm", data={"user_code": authorized.user_code}
        )
    assert [a.status_code for a in answers] == [400, 400, 429]
    for refused in (answers[2], refused_right, refused_confirm):
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
    # Another address is not held back; the login itself is untouched.
    right_elsewhere = await relay.phone.get(f"/device?user_code={authorized.user_code}")
    assert right_elsewhere.status_code == 200
    assert await statuses(relay) == [Status.PENDING]


async def test_device_code_guesses_sent_at_once_are_all_counted_on_redis(
    relay_from: Callable[..., Relay], redis_store: str
) -> None:
    """Guesses fired in parallel (the way a guessing script sends them) on the Redis store that
    many processes share: no more of them reach a lookup than the limit allows."""
    limits = replace(NO_RATE_LIMITS, user_code="5/minute")
    relay = relay_from(clients=kiosk_clients(), limits=limits, store=redis_store)
    guesser = browser_at(relay, "198.51.100.8")
    async with guesser:
        answers = await asyncio.gather(
            *(
                guesser.post("/device", data={"user_code": f"ZZZZ-Z{a}{b}{c}"})
                for a, b, c in itertools.islice(itertools.product("BCDF", repeat=3), 40)
            )
        )
    codes = sorted(answer.status_code for answer in answers)
    assert codes == [400] * 5 + [429] * 35


async def test_device_login_on_another_network_refused_when_required(
    relay_from: Callable[..., Relay],
) -> None:
    clients = kiosk_clients()
    clients["rp"] = replace(clients["rp"], same_network="require")
    relay = relay_from(clients=clients)
    async with Device(relay) as device:
        authorized = await device.authorize()
    far = browser_at(relay, "203.0.113.50")
    near = browser_at(relay, "192.0.2.77")  # the kiosk's /24
    async with far, near:
        refused = await far.post("/device/confirm", data={"user_code": authorized.user_code})
        assert refused.status_code == 403
        taken = await near.post("/device/confirm", data={"user_code": authorized.user_code})
        assert taken.status_code == 303


async def test_device_login_cannot_be_resumed_or_watched_by_any_browser(
    kiosk: Relay, device: Device
) -> None:
    """Nobody holds a device login's desktop cookie: the login page, its live stream, its
    resume and "continue here" refuse every browser, before and after the phone approved;
    no code is ever issued for it."""
    _, session_id = await signed_in(kiosk, device)
    assert (await kiosk.core.sessions.get(session_id)).status == Status.CONFIRMED
    for browser in (kiosk.phone, kiosk.desktop):
        for method, path in (
            ("GET", f"/sessions/{session_id}"),
            ("GET", f"/sessions/{session_id}/resume"),
            ("GET", f"/sessions/{session_id}/events"),
            ("POST", f"/sessions/{session_id}/here"),
            ("POST", f"/sessions/{session_id}/cancel"),
            ("POST", f"/sessions/{session_id}/refresh"),
        ):
            answer = await browser.request(method, path)
            assert answer.status_code == 403, (method, path, answer.status_code)
            assert "location" not in answer.headers
    assert (await kiosk.core.sessions.get(session_id)).status == Status.CONFIRMED
    assert kiosk.stored_keys("code:") == []
