"""GET /sessions/{id}/events over a real server: the websocket's events as Server-Sent Events, the
current state first, then each change, ending after a final status; refused (404, 403) with the
websocket's checks; the subscription released when the client goes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from relay.events import MemoryEvents
from relay.pages import sse
from tests.flows import Relay

EVENTS_PATH = "/sessions/{session_id}/events"


class EventReader:
    """Reads an event stream block by block (a block ends with a blank line)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def block(self) -> list[str] | None:
        """The next block's lines; None once the server has ended the response."""
        lines: list[str] = []
        async with asyncio.timeout(5):
            async for line in self._lines:
                if line == "":
                    if lines:
                        return lines
                    continue
                lines.append(line)
        assert not lines, f"an unterminated block at the end: {lines}"
        return None

    async def event(self) -> dict[str, Any]:
        """The next `status` event's data, skipping comments and `retry:`."""
        while True:
            lines = await self.block()
            assert lines is not None, "the stream ended"
            fields = [line for line in lines if not line.startswith((":", "retry:"))]
            if fields:
                assert fields[0] == "event: status", lines
                assert len(fields) == 2 and fields[1].startswith("data: "), lines
                data: dict[str, Any] = json.loads(fields[1].removeprefix("data: "))
                return data

    async def status(self) -> str:
        status: str = (await self.event())["status"]
        return status

    async def ended(self) -> bool:
        """Whether the response ends now, with nothing but comments before its end."""
        while True:
            lines = await self.block()
            if lines is None:
                return True
            if not all(line.startswith(":") for line in lines):
                return False


@asynccontextmanager
async def events(
    relay: Relay, session_id: str, headers: dict[str, str] | None = None
) -> AsyncIterator[EventReader]:
    url = f"/sessions/{session_id}/events"
    async with relay.desktop.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200, (await response.aread()).decode()
        yield EventReader(response)


async def soon(condition: Callable[[], bool]) -> bool:
    for _ in range(250):  # up to 5 s
        if condition():
            return True
        await asyncio.sleep(0.02)
    return condition()


def channels(relay: Relay) -> int:
    events = relay.core.events
    assert isinstance(events, MemoryEvents)
    return events.channel_count


async def test_sse_current_state_first_then_each_change_until_final(served: Relay) -> None:
    started = await served.start()
    async with events(served, started.session_id) as stream:
        headers = stream.response.headers
        assert headers["content-type"].startswith("text/event-stream")
        assert headers["cache-control"] == "no-store"
        assert headers["x-accel-buffering"] == "no"
        assert await stream.block() == ["retry: 2000"]  # once, before the first event
        assert await stream.status() == "pending"

        await served.scan(started.scan_url)
        assert await stream.status() == "scanned"
        await served.approve(started.session_id)
        confirmed = await stream.event()
        assert confirmed["status"] == "confirmed"
        assert set(confirmed) == {"status", "at"}

        back = await served.resume(started.session_id)
        assert back.status_code == 302
        assert await stream.status() == "completed"
        rest: list[str] = []
        while (lines := await stream.block()) is not None:  # the response ends after final
            rest += lines
        assert all(line.startswith(":") for line in rest), rest


async def test_sse_sends_what_the_websocket_sends(served: Relay) -> None:
    """Same events, same JSON: a denial with its reason and message, on both channels."""
    started = await served.start()
    socket = await served.live(started.session_id, served.desktop_cookie(started.session_id))
    try:
        async with events(served, started.session_id) as stream:
            pending = await stream.event()
            assert pending == json.loads(await socket.recv())
            await served.scan(started.scan_url)
            assert await stream.event() == json.loads(await socket.recv())
            await served.phone.post(f"/phone/{started.session_id}/decline")
            denied = await stream.event()
            assert denied == json.loads(await socket.recv())
            assert denied["status"] == "denied"
            assert denied["reason"] == "user_declined"
            assert denied["message"] == "The sign-in was declined on the phone."
            assert await stream.ended()
    finally:
        await socket.close()


async def test_sse_cancel_is_final(served: Relay) -> None:
    started = await served.start()
    async with events(served, started.session_id) as stream:
        assert await stream.status() == "pending"
        await served.desktop.post(f"/sessions/{started.session_id}/cancel")
        assert await stream.status() == "cancelled"
        assert await stream.ended()


async def test_sse_on_a_finished_session_sends_it_and_ends(served: Relay) -> None:
    started = await served.start()
    await served.desktop.post(f"/sessions/{started.session_id}/cancel")
    async with events(served, started.session_id) as stream:
        assert await stream.status() == "cancelled"
        assert await stream.ended()


async def test_sse_reconnect_gets_the_current_state_first(served: Relay) -> None:
    started = await served.start()
    async with events(served, started.session_id) as stream:
        assert await stream.status() == "pending"
    await served.scan(started.scan_url)
    await served.approve(started.session_id)
    async with events(served, started.session_id) as stream:
        assert await stream.status() == "confirmed"


@pytest.mark.parametrize("served", [{"session_ttl": 1}], indirect=True)
async def test_sse_pushes_expiry_and_ends(served: Relay) -> None:
    started = await served.start()
    async with events(served, started.session_id) as stream:
        assert await stream.status() == "pending"
        assert await stream.status() == "expired"  # after about 1 s, with no event to wake it
        assert await stream.ended()


async def test_sse_keep_alive_comments_while_waiting(
    served: Relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sse, "KEEPALIVE", 0.05)
    started = await served.start()
    async with events(served, started.session_id) as stream:
        assert await stream.status() == "pending"
        assert await stream.block() == [": keep-alive"]
        assert await stream.block() == [": keep-alive"]
        await served.scan(started.scan_url)
        assert await stream.status() == "scanned"  # keep-alives in between are skipped
        await served.desktop.post(f"/sessions/{started.session_id}/cancel")
        assert await stream.status() == "cancelled"
        assert await stream.ended()


async def test_sse_releases_the_subscription_when_the_client_goes(served: Relay) -> None:
    started = await served.start()
    assert channels(served) == 0
    async with events(served, started.session_id) as stream:
        assert await stream.status() == "pending"
        assert channels(served) == 1
    # Leaving the block closed the connection mid-stream: the server notices and unsubscribes.
    assert await soon(lambda: channels(served) == 0)
    # ... and the session is untouched; a new stream starts where it was.
    await served.scan(started.scan_url)
    async with events(served, started.session_id) as stream:
        assert await stream.status() == "scanned"
        assert channels(served) == 1
    assert await soon(lambda: channels(served) == 0)


async def test_sse_counts_as_an_open_stream_while_it_runs(served: Relay) -> None:
    def open_sse() -> float | None:
        registry = served.core.metrics.registry
        return registry.get_sample_value("relay_open_streams", {"transport": "sse"})

    started = await served.start()
    async with events(served, started.session_id) as stream:
        assert await stream.status() == "pending"
        assert open_sse() == 1
    assert await soon(lambda: open_sse() == 0)
    await served.desktop.get("/sessions/" + "A" * 22 + "/events")  # refused: not a stream
    assert open_sse() == 0


async def test_sse_ended_streams_hold_no_subscription(served: Relay) -> None:
    started = await served.start()
    async with events(served, started.session_id) as stream:
        assert await stream.status() == "pending"
        await served.desktop.post(f"/sessions/{started.session_id}/cancel")
        assert await stream.status() == "cancelled"
        assert await stream.ended()
    assert channels(served) == 0


@pytest.mark.parametrize("session_id", ["A" * 22, "x" * 200, "short"])
async def test_sse_unknown_session_is_404(served: Relay, session_id: str) -> None:
    answer = await served.desktop.get(f"/sessions/{session_id}/events")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.text == "unknown login session"


async def test_sse_without_the_binding_cookie_is_403(served: Relay) -> None:
    started = await served.start()
    url = f"/sessions/{started.session_id}/events"
    async with served.browser() as other:
        for cookie in (None, "relay_bind=not-the-secret"):
            answer = await other.get(url, headers={"Cookie": cookie} if cookie else {})
            assert answer.status_code == 403
            assert answer.headers["content-type"].startswith("text/plain")
            assert answer.text == "this browser did not start the login"
    assert (await served.core.sessions.get(started.session_id)).status == "pending"
    assert channels(served) == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "https://sub.relay.example"},
    ],
)
async def test_sse_from_a_foreign_origin_is_403(served: Relay, headers: dict[str, str]) -> None:
    started = await served.start()
    answer = await served.desktop.get(f"/sessions/{started.session_id}/events", headers=headers)
    assert answer.status_code == 403  # even with the right cookie
    assert answer.text == "foreign origin"


async def test_sse_from_the_relays_own_page_is_served(served: Relay) -> None:
    started = await served.start()
    same = {"Sec-Fetch-Site": "same-origin", "Origin": served.issuer}
    async with events(served, started.session_id, same) as stream:
        assert await stream.status() == "pending"


async def test_sse_ends_when_the_relay_stops(served: Relay) -> None:
    """SIGTERM (relay/app.py sets the app's Draining): the stream ends, so that the server can
    exit; EventSource reconnects by itself, to another process."""
    started = await served.start()
    async with events(served, started.session_id) as stream:
        assert await stream.status() == "pending"
        served.app.state.draining.set()
        assert await stream.ended()
    assert await soon(lambda: channels(served) == 0)
