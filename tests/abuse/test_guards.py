"""Rate limits on the routes (memory counters): per IP on /authorize, /s/{ticket}, /token and
the live streams, per client on /token, and the waiting logins per IP; 429 with Retry-After, a
page for people and JSON for /token."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import replace

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from relay.sessions import Status
from tests.abuse.conftest import LimitedRelay
from tests.conftest import NO_RATE_LIMITS
from tests.flows import Relay, browser_at

# Windows of an hour: no window ends in the middle of a test (memory windows start on the hour).
LONG_TTL = {"session_ttl": 3600}  # the waiting logins' window


def assert_too_many_page(response: httpx.Response, within: int) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "Too many requests" in response.text
    assert 1 <= int(response.headers["retry-after"]) <= within
    assert response.headers["cache-control"] == "no-store"


def assert_too_many_json(response: httpx.Response, within: int) -> None:
    assert response.status_code == 429, response.text
    body = response.json()
    assert body["error"] == "temporarily_unavailable"
    assert "too many requests" in body["error_description"]
    assert 1 <= int(response.headers["retry-after"]) <= within
    assert response.headers["cache-control"] == "no-store"


async def test_authorize_per_ip_refuses_past_the_limit(limited_relay: LimitedRelay) -> None:
    relay = await limited_relay(authorize="2/hour")
    for _ in range(2):
        assert (await relay.authorize()).status_code == 303
    assert_too_many_page(await relay.authorize(), within=3600)
    # Another address has its own allowance.
    async with browser_at(relay, "198.51.100.7") as elsewhere:
        assert (await relay.authorize(elsewhere)).status_code == 303


async def test_authorize_per_ip_counts_every_request_even_refused_ones(
    limited_relay: LimitedRelay,
) -> None:
    relay = await limited_relay(authorize="2/hour")
    assert (await relay.authorize(client_id="nobody")).status_code == 400
    assert (await relay.authorize(client_id="nobody")).status_code == 400
    assert_too_many_page(await relay.authorize(), within=3600)


async def test_authorize_ipv6_addresses_of_one_64_share_an_allowance(
    limited_relay: LimitedRelay,
) -> None:
    relay = await limited_relay(authorize="1/hour")
    async with browser_at(relay, "2001:db8:1:2::10") as first:
        assert (await relay.authorize(first)).status_code == 303
    async with browser_at(relay, "2001:db8:1:2:ffff::99") as same_64:
        assert_too_many_page(await relay.authorize(same_64), within=3600)
    async with browser_at(relay, "2001:db8:1:3::10") as next_64:
        assert (await relay.authorize(next_64)).status_code == 303


async def test_scan_per_ip_refuses_past_the_limit(limited_relay: LimitedRelay) -> None:
    relay = await limited_relay(scan="1/hour")
    started = await relay.start()
    assert (await relay.scan(started.scan_url)).status_code == 303
    # Guessing tickets from the same address: refused before any ticket is looked up.
    refused = await relay.phone.get("/s/" + secrets.token_urlsafe(16))
    assert_too_many_page(refused, within=3600)
    assert "QR codes" in refused.text


async def test_token_per_ip_answers_json(limited_relay: LimitedRelay) -> None:
    relay = await limited_relay(token="2/hour")
    for _ in range(2):
        answer = await relay.token(code="not-a-code")
        assert answer.json()["error"] == "invalid_grant"
    assert_too_many_json(await relay.token(code="not-a-code"), within=3600)


async def test_token_per_client_counts_only_requests_that_authenticate(
    limited_relay: LimitedRelay,
) -> None:
    relay = await limited_relay(token_per_client="2/hour")
    # Without the secret nobody uses up the client's allowance.
    for _ in range(4):
        wrong = await relay.token(code="x", client_id="rp", client_secret="wrong")
        assert wrong.status_code == 401
    # Basic and the body count alike.
    assert (await relay.token(code="x")).json()["error"] == "invalid_grant"
    posted = await relay.token(code="x", client_id="rp", client_secret="rp-secret")
    assert posted.json()["error"] == "invalid_grant"
    assert_too_many_json(await relay.token(code="x"), within=3600)
    # Another client, from the same address, is not held back.
    other = await relay.token(code="x", client_id="multi", client_secret="multi-secret")
    assert other.json()["error"] == "invalid_grant"


async def test_token_per_client_leaves_the_body_to_the_endpoint(
    limited_relay: LimitedRelay,
) -> None:
    """The guard reads the form to find the client; the endpoint still reads it whole."""
    relay = await limited_relay(token_per_client="5/hour")
    answer = await relay.login()
    tokens = await relay.token(code=answer["code"])
    assert tokens.status_code == 200, tokens.text
    assert tokens.json()["token_type"] == "Bearer"


async def test_waiting_per_ip_counts_logins_started(limited_relay: LimitedRelay) -> None:
    relay = await limited_relay(LONG_TTL, waiting_per_ip=2)
    # Requests that start no login do not count: a provider picker, a refused client.
    for _ in range(3):
        assert (await relay.authorize(client_id="multi", redirect_uri=None)).status_code == 400
        picker = await relay.authorize(client_id="multi", redirect_uri="https://multi.example/a")
        assert picker.status_code == 200
    await relay.start()
    await relay.start()
    refused = await relay.authorize()
    assert_too_many_page(refused, within=relay.settings.session_ttl)
    assert "sign-ins were started" in refused.text
    async with browser_at(relay, "198.51.100.7") as elsewhere:
        assert (await relay.authorize(elsewhere)).status_code == 303


async def test_waiting_per_ip_counts_fresh_codes_after_expiry(
    limited_relay: LimitedRelay,
) -> None:
    """/sessions/{id}/refresh starts a login too (a fresh QR for an expired one)."""
    relay = await limited_relay(LONG_TTL, waiting_per_ip=2)
    started = await relay.start()
    session = await relay.core.sessions.get(started.session_id)
    await relay.core.sessions.transition(session, Status.EXPIRED)
    refreshed = await relay.desktop.post(f"/sessions/{started.session_id}/refresh")
    assert refreshed.status_code == 303
    assert refreshed.headers["location"] != f"/sessions/{started.session_id}"
    assert_too_many_page(await relay.authorize(), within=relay.settings.session_ttl)
    # Over the limit, a refresh is refused as well, and starts nothing.
    fresh = await relay.core.sessions.get(refreshed.headers["location"].rsplit("/", 1)[1])
    await relay.core.sessions.transition(fresh, Status.EXPIRED)
    again = await relay.desktop.post(refreshed.headers["location"] + "/refresh")
    assert_too_many_page(again, within=relay.settings.session_ttl)


async def test_sse_opens_count_per_ip(limited_relay: LimitedRelay) -> None:
    relay = await limited_relay(live="1/hour")
    first = await relay.desktop.get(f"/sessions/{secrets.token_urlsafe(16)}/events")
    assert first.status_code == 404
    assert_too_many_page(
        await relay.desktop.get(f"/sessions/{secrets.token_urlsafe(16)}/events"), within=3600
    )


async def test_limits_off_let_everything_through(limited_relay: LimitedRelay) -> None:
    relay = await limited_relay()
    for _ in range(30):
        assert (await relay.authorize()).status_code == 303
    assert not any(relay.core.rate_limits.enabled(name) for name in ("authorize", "token"))


async def test_refusals_are_counted_in_metrics(limited_relay: LimitedRelay) -> None:
    relay = await limited_relay(authorize="1/hour")
    await relay.authorize()
    await relay.authorize()
    await relay.authorize()
    metrics = (await relay.desktop.get("/metrics")).text
    assert 'relay_rate_limited_total{limit="authorize"} 2.0' in metrics
    assert 'relay_rate_limited_total{limit="scan"} 0.0' in metrics


LIVE_ONCE = {"limits": replace(NO_RATE_LIMITS, live="1/hour")}


@pytest.mark.parametrize("served", [LIVE_ONCE], indirect=True)
async def test_websocket_over_the_limit_is_closed_with_1013(served: Relay) -> None:
    """Accepted, then closed with 1013 (try again later): static/login.js retries that with
    back-off, as it does any close but 1008."""
    url = served.issuer.replace("http://", "ws://") + "/sessions/{}/live"
    first = await websockets.connect(url.format(secrets.token_urlsafe(16)), open_timeout=5)
    with pytest.raises(ConnectionClosed) as closed:
        await first.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008  # unknown session
    second = await websockets.connect(url.format(secrets.token_urlsafe(16)), open_timeout=5)
    with pytest.raises(ConnectionClosed) as closed:
        await second.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013


async def test_waiting_per_ip_holds_against_a_burst(
    limited_relay: LimitedRelay, redis_url: str
) -> None:
    """Twenty requests at once (on Redis, where every count is a round trip) all pass the check
    before any is counted: the count after the login decides, and the logins over the limit end
    cancelled and refused."""
    store = f"{redis_url}?prefix=test:{secrets.token_hex(8)}:"
    relay = await limited_relay({**LONG_TTL, "store": store}, waiting_per_ip=3)
    answers = await asyncio.gather(*(relay.authorize() for _ in range(20)))
    started = [a for a in answers if a.status_code == 303]
    assert len(started) == 3, [a.status_code for a in answers]
    assert all(a.status_code == 429 for a in answers if a.status_code != 303)
    for answer in started:
        session_id = answer.headers["location"].rsplit("/", 1)[1]
        assert (await relay.core.sessions.get(session_id)).status is Status.PENDING
