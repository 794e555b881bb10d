"""Size limits (relay/abuse/sizes.py): an over-long query string gets 414, an over-large body
413, before any handler works on them; JSON on the API endpoints, a page elsewhere."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from tests.abuse.conftest import LimitedRelay
from tests.flows import Relay


def assert_refused_json(response: httpx.Response, status_code: int) -> None:
    assert response.status_code == status_code, response.text
    assert response.json()["error"] == "invalid_request"
    assert "too" in response.json()["error_description"]
    assert response.headers["cache-control"] == "no-store"


def assert_refused_page(response: httpx.Response, status_code: int) -> None:
    assert response.status_code == status_code, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "does not accept this request" in response.text or "Request refused" in response.text
    assert response.headers["cache-control"] == "no-store"


async def chunks(total: int, size: int = 1000) -> AsyncIterator[bytes]:
    """A body sent without Content-Length (chunked), as a streaming client sends it."""
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        sent += piece
        yield b"x" * piece


async def test_sizes_long_query_string_is_414(limited_relay: LimitedRelay) -> None:
    relay = await limited_relay(max_query=1024)
    padding = "p=" + "x" * 1100
    page = await relay.desktop.get(f"/authorize?client_id=rp&{padding}")
    assert_refused_page(page, 414)
    assert "Address too long" in page.text
    assert_refused_json(await relay.desktop.get(f"/jwks.json?{padding}"), 414)
    assert_refused_json(await relay.desktop.post(f"/token?{padding}", data={"a": "b"}), 414)


async def test_sizes_query_string_within_the_limit_passes(limited_relay: LimitedRelay) -> None:
    relay = await limited_relay(max_query=1024)
    state = "s" * 600  # a long but ordinary state, within 1024 bytes with the rest
    assert (await relay.authorize(state=state)).status_code == 303


async def test_sizes_declared_large_body_is_413_unread(limited_relay: LimitedRelay) -> None:
    relay = await limited_relay(max_body=2048)
    body = b"grant_type=authorization_code&code=" + b"x" * 3000
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert_refused_json(await relay.desktop.post("/token", content=body, headers=form), 413)
    page = await relay.desktop.post("/authorize", content=body, headers=form)
    assert_refused_page(page, 413)
    assert "Request too large" in page.text


async def test_sizes_streamed_large_body_is_413(limited_relay: LimitedRelay) -> None:
    """Without Content-Length the body is counted as it arrives (at /token by the guard that
    reads it to find the client, before the endpoint would)."""
    relay = await limited_relay(max_body=2048, token_per_client="100/hour")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    token = await relay.desktop.post("/token", content=chunks(5000), headers=form)
    assert "content-length" not in token.request.headers
    assert_refused_json(token, 413)
    page = await relay.desktop.post("/authorize", content=chunks(5000), headers=form)
    assert_refused_page(page, 413)


async def test_sizes_streamed_body_within_the_limit_is_read_whole(
    limited_relay: LimitedRelay,
) -> None:
    relay = await limited_relay(max_body=2048)
    answer = await relay.login()
    body = (
        "grant_type=authorization_code&redirect_uri=https%3A%2F%2Frp.example%2Fcallback"
        f"&code={answer['code']}&client_id=rp&client_secret=rp-secret"
    ).encode()

    async def streamed() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 16):
            yield body[start : start + 16]

    tokens = await relay.desktop.post(
        "/token",
        content=streamed(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert tokens.status_code == 200, tokens.text


async def test_sizes_default_limits_fit_a_whole_login(relay: Relay) -> None:
    """The suite's relay keeps the default size limits: an ordinary login fits them."""
    assert relay.settings.limits.max_query == 4096
    assert relay.settings.limits.max_body == 65536
    answer = await relay.login()
    assert (await relay.token(code=answer["code"])).status_code == 200
