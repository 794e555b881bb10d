"""create_app: what the app answers when the store cannot be reached; what it does when the
process is told to stop."""

from __future__ import annotations

import asyncio
import signal
from types import FrameType

import pytest
from websockets.exceptions import ConnectionClosed

from relay.app import stop_streams_on_signals
from relay.errors import StoreUnavailable
from relay.pages.status_stream import Draining
from tests.flows import Relay, pkce
from tests.observability.helpers import sample, scrape


async def unreachable(*args: object, **kwargs: object) -> None:
    raise StoreUnavailable("Redis does not answer (ConnectionError)")


async def test_app_store_unavailable_page_is_503_and_counted(
    relay: Relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = await relay.start()
    monkeypatch.setattr(relay.core.store, "get", unreachable)
    response = await relay.desktop.get(f"/sessions/{started.session_id}")
    assert response.status_code == 503
    assert "Temporarily unavailable" in response.text
    assert response.headers["retry-after"] == "5"
    assert response.headers["cache-control"] == "no-store"
    monkeypatch.undo()
    assert sample(await scrape(relay), "relay_store_errors_total") == 1


async def test_app_store_unavailable_token_endpoint_answers_json(
    relay: Relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    verifier, challenge = pkce()
    answer = await relay.login(code_challenge=challenge, code_challenge_method="S256")
    monkeypatch.setattr(relay.core.store, "consume", unreachable)
    response = await relay.token(code=answer["code"], code_verifier=verifier)
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"
    monkeypatch.undo()
    # Nothing was used: once the store is back, the same code works.
    assert (await relay.token(code=answer["code"], code_verifier=verifier)).status_code == 200
    assert sample(await scrape(relay), "relay_store_errors_total") == 1


async def test_app_store_unavailable_closes_the_websocket_with_try_again_later(
    served: Relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = await served.start()
    monkeypatch.setattr(served.core.store, "get", unreachable)
    socket = await served.live(started.session_id, served.desktop_cookie(started.session_id))
    with pytest.raises(ConnectionClosed) as closed:
        await socket.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
    monkeypatch.undo()
    assert sample(await scrape(served), "relay_store_errors_total") == 1


async def test_app_stop_signal_sets_draining_then_reaches_the_servers_handler() -> None:
    """SIGTERM: live streams are told first (Draining), then the server's own handler runs; on
    the way out the server's handler is put back."""
    heard: list[int] = []

    def server_handler(number: int, frame: FrameType | None) -> None:
        heard.append(number)

    before = signal.signal(signal.SIGTERM, server_handler)
    try:
        draining = Draining()
        with stop_streams_on_signals(draining):
            assert signal.getsignal(signal.SIGTERM) is not server_handler
            signal.raise_signal(signal.SIGTERM)
            for _ in range(10):  # set on one of the loop's next turns
                if draining.is_set():
                    break
                await asyncio.sleep(0)
            assert draining.is_set()
            assert heard == [signal.SIGTERM]
        assert signal.getsignal(signal.SIGTERM) is server_handler
    finally:
        signal.signal(signal.SIGTERM, before)


async def test_app_stop_signal_left_alone_when_no_python_handler_has_it() -> None:
    """A signal at its default action (or ignored) is nobody's to chain: it stays as it is."""
    before = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        with stop_streams_on_signals(Draining()):
            assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, before)


async def test_app_draining_watchers_complete_once_set() -> None:
    draining = Draining()
    early = draining.watch()
    gone = draining.watch()
    gone.cancel()  # a stream that ended: forgotten
    await asyncio.sleep(0)
    draining.set()
    assert early.done() and not early.cancelled()
    late = draining.watch()
    assert late.done()  # watching after the fact: at once
