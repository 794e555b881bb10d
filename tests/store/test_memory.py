"""MemoryStore: the shared Store contract, plus what only the memory store has (its sweep)."""

from __future__ import annotations

import pytest

from relay.store import MemoryStore
from tests.store.contract import StoreContract, StoreHarness


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def harness(clock: FakeClock) -> StoreHarness:
    return StoreHarness(store=MemoryStore(clock=clock), advance=clock.advance)


class TestMemoryStore(StoreContract): ...


async def test_memory_store_sweep_removes_expired_records_untouched(clock: FakeClock) -> None:
    store = MemoryStore(clock=clock, sweep_interval=30)
    for i in range(5):
        await store.create(f"old{i}", {"status": "pending"}, 10)
    await store.create("long", {"status": "pending"}, 100)
    clock.advance(31)
    assert len(store) == 6  # expired, but nobody swept or touched them yet
    await store.create("new", {"status": "pending"}, 10)
    assert len(store) == 2  # "long" and "new"
    assert await store.get("long") == {"status": "pending"}


async def test_memory_store_sweep_waits_for_its_interval(clock: FakeClock) -> None:
    store = MemoryStore(clock=clock, sweep_interval=30)
    await store.create("old", {"status": "pending"}, 1)
    clock.advance(5)
    await store.create("new", {"status": "pending"}, 10)
    assert len(store) == 2  # expired but not swept: the interval has not passed
    clock.advance(26)
    await store.create("newer", {"status": "pending"}, 10)
    assert len(store) == 1  # "old" and "new" (expired at 15 s) swept; "newer" stored
    assert await store.get("newer") == {"status": "pending"}


async def test_memory_store_sweep_runs_again_after_another_interval(clock: FakeClock) -> None:
    store = MemoryStore(clock=clock, sweep_interval=30)
    clock.advance(31)
    await store.create("a", {"status": "pending"}, 5)  # first sweep happens here
    clock.advance(10)
    await store.create("b", {"status": "pending"}, 5)  # too soon for a second sweep
    assert len(store) == 2
    clock.advance(25)
    await store.create("c", {"status": "pending"}, 5)
    assert len(store) == 1


async def test_memory_store_touching_an_expired_record_frees_its_memory(clock: FakeClock) -> None:
    store = MemoryStore(clock=clock, sweep_interval=1000)
    await store.create("k", {"status": "pending"}, 1)
    clock.advance(2)
    assert len(store) == 1
    assert await store.get("k") is None
    assert len(store) == 0


async def test_memory_store_close_drops_everything(clock: FakeClock) -> None:
    store = MemoryStore(clock=clock)
    await store.create("k", {"status": "pending"}, 10)
    await store.close()
    assert len(store) == 0
