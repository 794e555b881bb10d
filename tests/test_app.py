"""create_app: what the app answers when the store cannot be reached."""

from __future__ import annotations

import pytest
from websockets.exceptions import ConnectionClosed

from relay.errors import StoreUnavailable
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
