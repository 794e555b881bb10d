"""/healthz says the process is alive; /readyz says whether the store answers."""

from __future__ import annotations

import pytest

from relay.errors import StoreUnavailable
from relay.store import MemoryStore
from tests.flows import Relay


class UnreachableStore(MemoryStore):
    """A store whose ping says it cannot be reached (as Redis's does when Redis is down)."""

    async def ping(self) -> bool:
        return False


class BrokenStore(MemoryStore):
    """A store that breaks the contract: its ping raises instead of saying False."""

    async def ping(self) -> bool:
        raise StoreUnavailable("Redis does not answer (ConnectionError)")


async def test_healthz_ok(relay: Relay) -> None:
    response = await relay.desktop.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["cache-control"] == "no-store"


async def test_healthz_ok_without_the_store(relay: Relay, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(relay.core, "store", UnreachableStore())
    response = await relay.desktop.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_ready_when_the_store_answers(relay: Relay) -> None:
    response = await relay.desktop.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("store", [UnreachableStore, BrokenStore])
async def test_readyz_unavailable_when_the_store_does_not_answer(
    relay: Relay, monkeypatch: pytest.MonkeyPatch, store: type[MemoryStore]
) -> None:
    monkeypatch.setattr(relay.core, "store", store())
    response = await relay.desktop.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "store": "unreachable"}
    assert response.headers["cache-control"] == "no-store"


async def test_probes_and_metrics_answer_get_only(relay: Relay) -> None:
    for path in ("/healthz", "/readyz", "/metrics"):
        assert (await relay.desktop.post(path)).status_code == 405
