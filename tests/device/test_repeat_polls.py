"""A device_code polled again after its tokens (RFC 8628 §3.4 with RFC 6749 §4.1.2): the device
that asked twice at once keeps its tokens; any later poll (a replay, a thief's poll answered
first, a retry of a lost answer) revokes them. And polls at the same moment while pending: each
slow_down told is an interval grown. On the memory store and on Redis, where the polls really
interleave."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from relay.device.records import grant_of
from tests.device.helpers import Clock, Device, error_of, kiosk_clients, on_clock, signed_in
from tests.flows import Relay


@pytest.fixture(params=["memory", "redis"])
async def stored(
    request: pytest.FixtureRequest, relay_from: Callable[..., Relay]
) -> AsyncIterator[Relay]:
    """The kiosk relay on the memory store, or on Redis under a prefix of its own."""
    if request.param == "memory":
        yield relay_from(clients=kiosk_clients())
        return
    store: str = request.getfixturevalue("redis_store")
    yield relay_from(clients=kiosk_clients(), store=store)


@pytest.fixture
def clock(stored: Relay) -> Clock:
    clock = Clock()
    on_clock(stored, clock)
    return clock


@pytest.fixture
async def device(stored: Relay) -> AsyncIterator[Device]:
    async with Device(stored) as device:
        yield device


async def userinfo(relay: Relay, tokens: httpx.Response) -> int:
    """The status of /userinfo with the access token of a token response."""
    bearer = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
    return (await relay.desktop.get("/userinfo", headers=bearer)).status_code


async def interval(relay: Relay, device_code: str) -> int:
    grant = await grant_of(relay.core, device_code)
    assert grant is not None
    return grant.interval


async def test_two_polls_at_once_after_approval_one_gets_tokens_that_keep_working(
    stored: Relay, clock: Clock, device: Device
) -> None:
    authorized, _ = await signed_in(stored, device)
    answers = await asyncio.gather(*(device.poll(authorized.device_code) for _ in range(2)))
    assert sorted(a.status_code for a in answers) == [200, 400]
    (tokens,) = [a for a in answers if a.status_code == 200]
    (used,) = [a for a in answers if a.status_code == 400]
    assert error_of(used) == "invalid_grant"
    assert "revoked" not in used.json()["error_description"]
    assert await userinfo(stored, tokens) == 200


async def test_many_polls_at_once_after_approval_issue_tokens_once_and_revoke_nothing(
    stored: Relay, clock: Clock, device: Device
) -> None:
    authorized, _ = await signed_in(stored, device)
    answers = await asyncio.gather(*(device.poll(authorized.device_code) for _ in range(4)))
    assert sorted(a.status_code for a in answers) == [200, 400, 400, 400]
    assert {error_of(a) for a in answers if a.status_code == 400} == {"invalid_grant"}
    (tokens,) = [a for a in answers if a.status_code == 200]
    assert await userinfo(stored, tokens) == 200


async def test_a_poll_after_the_same_moment_revokes_the_tokens(
    stored: Relay, clock: Clock, device: Device
) -> None:
    """A second poll more than a moment after the one that got the tokens is a replay, or a
    retry of an answer that was lost (whose tokens nobody holds): revoked either way."""
    authorized, _ = await signed_in(stored, device)
    tokens = await device.poll(authorized.device_code)
    assert tokens.status_code == 200
    clock.advance(1.5)
    again = await device.poll(authorized.device_code)
    assert again.status_code == 400 and error_of(again) == "invalid_grant"
    assert "revoked" in again.json()["error_description"]
    assert await userinfo(stored, tokens) == 401
    assert error_of(await device.poll(authorized.device_code)) == "invalid_grant"  # still


async def test_a_thief_polling_first_loses_the_tokens_at_the_devices_next_poll(
    stored: Relay, clock: Clock, device: Device
) -> None:
    """A device_code copied off the device and polled by someone with the client's secret just
    after the phone approved: the device's own poll on its schedule, a few seconds later, is
    told the code is used, and the thief's tokens stop working."""
    authorized, _ = await signed_in(stored, device)
    clock.advance(1)
    stolen = await device.poll(authorized.device_code)
    assert stolen.status_code == 200
    clock.advance(4)  # the device's next poll, one interval after its last
    own = await device.poll(authorized.device_code)
    assert own.status_code == 400 and error_of(own) == "invalid_grant"
    assert await userinfo(stored, stolen) == 401


async def test_a_device_code_sent_as_an_authorization_code_is_invalid_grant_and_revokes_nothing(
    stored: Relay, clock: Clock, device: Device
) -> None:
    """The codes' replay detection finds nothing of a device_code: its tokens stay. Twice, as
    a replayed code would be."""
    authorized, _ = await signed_in(stored, device)
    tokens = await device.poll(authorized.device_code)
    assert tokens.status_code == 200
    for _ in range(2):
        answer = await stored.token(code=authorized.device_code)
        assert answer.status_code == 400 and error_of(answer) == "invalid_grant"
        assert answer.json()["error_description"] == "code is invalid or expired"
    assert await userinfo(stored, tokens) == 200


async def test_an_authorization_code_replay_still_revokes_its_own_tokens(
    stored: Relay, clock: Clock
) -> None:
    """The code grant's replay detection, in its own key space, is whole."""
    code = (await stored.login())["code"]
    tokens = await stored.token(code=code)
    assert tokens.status_code == 200, tokens.text
    replay = await stored.token(code=code)
    assert error_of(replay) == "invalid_grant" and "revoked" in replay.json()["error_description"]
    assert await userinfo(stored, tokens) == 401


async def test_polls_at_once_while_pending_grow_the_interval_for_each_slow_down(
    stored: Relay, clock: Clock, device: Device
) -> None:
    """Of polls at the same moment one is recorded first; each other one is recorded after
    it, too soon: slow_down, and the interval 5 seconds longer for each."""
    authorized = await device.authorize()
    answers = await asyncio.gather(*(device.poll(authorized.device_code) for _ in range(4)))
    errors = sorted(error_of(a) for a in answers)
    assert errors == ["authorization_pending", "slow_down", "slow_down", "slow_down"]
    assert await interval(stored, authorized.device_code) == 5 + 5 * 3
