"""The Store contract (relay/store/base.py), written once for every implementation.

An implementation runs the suite from its own test module: a module-level `harness` fixture that
returns (or yields, for setup and teardown) a `StoreHarness`, and the one line

    class TestRedisStore(StoreContract): ...

`advance(seconds)` moves the store's time forward: a fake clock for the memory store, a real
sleep for a server that keeps its own time. TTLs below are short (TTL seconds) so that sleeping
stays affordable; with a fake clock nothing sleeps at all.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from relay.store import Store

TTL = 1.0  # seconds; the time-dependent tests advance by fractions and multiples of it


@dataclass
class StoreHarness:
    store: Store
    advance: Callable[[float], Awaitable[None] | None]


def sample_record(status: str = "pending") -> dict[str, Any]:
    return {
        "status": status,
        "n": 1,
        "ratio": 0.5,
        "flag": True,
        "none": None,
        "nested": {"list": [1, "two", {"three": 3}], "text": "héllo ✓"},
    }


class StoreContract:
    """Every Store implementation passes these. Subclasses provide the `harness` fixture."""

    @pytest.fixture
    def store(self, harness: StoreHarness) -> Store:
        return harness.store

    @pytest.fixture
    def advance(self, harness: StoreHarness) -> Callable[[float], Awaitable[None]]:
        async def advance(seconds: float) -> None:
            result = harness.advance(seconds)
            if inspect.isawaitable(result):
                await result

        return advance

    # create / get / put

    async def test_store_create_then_get_returns_the_record(self, store: Store) -> None:
        assert await store.create("k", sample_record(), TTL) is True
        assert await store.get("k") == sample_record()

    async def test_store_create_refuses_an_existing_key(self, store: Store) -> None:
        assert await store.create("k", sample_record("pending"), TTL) is True
        assert await store.create("k", sample_record("scanned"), TTL) is False
        assert (await store.get("k") or {})["status"] == "pending"

    async def test_store_create_stores_a_copy(self, store: Store) -> None:
        record = sample_record()
        await store.create("k", record, TTL)
        record["status"] = "changed"
        record["nested"]["list"].append("added")
        assert await store.get("k") == sample_record()

    async def test_store_get_returns_a_copy(self, store: Store) -> None:
        await store.create("k", sample_record(), TTL)
        got = await store.get("k")
        assert got is not None
        got["status"] = "changed"
        got["nested"]["list"].clear()
        assert await store.get("k") == sample_record()

    async def test_store_get_of_missing_key_is_none(self, store: Store) -> None:
        assert await store.get("missing") is None

    async def test_store_get_result_survives_a_json_round_trip(self, store: Store) -> None:
        await store.create("k", sample_record(), TTL)
        got = await store.get("k")
        assert got is not None
        assert json.loads(json.dumps(got)) == got == sample_record()

    async def test_store_put_replaces_the_record(self, store: Store) -> None:
        await store.create("k", sample_record("pending"), TTL)
        await store.put("k", {"status": "other", "x": 2}, TTL)
        assert await store.get("k") == {"status": "other", "x": 2}

    async def test_store_put_creates_a_missing_key(self, store: Store) -> None:
        await store.put("k", sample_record(), TTL)
        assert await store.get("k") == sample_record()

    async def test_store_put_stores_a_copy(self, store: Store) -> None:
        record = sample_record()
        await store.put("k", record, TTL)
        record["nested"]["text"] = "changed"
        assert await store.get("k") == sample_record()

    # transition (compare-and-set on "status")

    async def test_store_transition_replaces_when_status_matches(self, store: Store) -> None:
        await store.create("k", sample_record("pending"), TTL)
        assert await store.transition("k", "pending", sample_record("scanned")) is True
        assert await store.get("k") == sample_record("scanned")

    async def test_store_transition_with_wrong_expected_leaves_record_unchanged(
        self, store: Store
    ) -> None:
        await store.create("k", sample_record("scanned"), TTL)
        assert await store.transition("k", "pending", sample_record("confirmed")) is False
        assert await store.get("k") == sample_record("scanned")

    async def test_store_transition_of_missing_key_is_false(self, store: Store) -> None:
        assert await store.transition("missing", "pending", sample_record("scanned")) is False
        assert await store.get("missing") is None

    async def test_store_transition_stores_a_copy(self, store: Store) -> None:
        await store.create("k", sample_record("pending"), TTL)
        record = sample_record("scanned")
        await store.transition("k", "pending", record)
        record["status"] = "changed"
        assert await store.get("k") == sample_record("scanned")

    async def test_store_transition_without_ttl_keeps_the_remaining_ttl(
        self, store: Store, advance: Callable[[float], Awaitable[None]]
    ) -> None:
        await store.create("k", sample_record("pending"), TTL)
        await advance(TTL * 0.6)
        assert await store.transition("k", "pending", sample_record("scanned")) is True
        assert await store.get("k") == sample_record("scanned")
        await advance(TTL * 0.6)  # 1.2 TTL since create: past the original deadline
        assert await store.get("k") is None

    async def test_store_transition_with_ttl_resets_it(
        self, store: Store, advance: Callable[[float], Awaitable[None]]
    ) -> None:
        await store.create("k", sample_record("pending"), TTL)
        await advance(TTL * 0.6)
        assert await store.transition("k", "pending", sample_record("scanned"), TTL) is True
        await advance(TTL * 0.6)  # past the original deadline, inside the new one
        assert await store.get("k") == sample_record("scanned")
        await advance(TTL * 0.6)
        assert await store.get("k") is None

    async def test_store_concurrent_transitions_from_one_status_have_one_winner(
        self, store: Store
    ) -> None:
        await store.create("k", sample_record("pending"), TTL * 10)
        results = await asyncio.gather(
            *(store.transition("k", "pending", sample_record(f"to-{i}")) for i in range(50))
        )
        assert results.count(True) == 1
        winner = results.index(True)
        assert await store.get("k") == sample_record(f"to-{winner}")

    # consume / delete

    async def test_store_consume_returns_the_record_once(self, store: Store) -> None:
        await store.create("k", sample_record(), TTL)
        assert await store.consume("k") == sample_record()
        assert await store.consume("k") is None
        assert await store.get("k") is None

    async def test_store_consume_of_missing_key_is_none(self, store: Store) -> None:
        assert await store.consume("missing") is None

    async def test_store_consume_frees_the_key_for_create(self, store: Store) -> None:
        await store.create("k", sample_record("pending"), TTL)
        await store.consume("k")
        assert await store.create("k", sample_record("scanned"), TTL) is True
        assert await store.get("k") == sample_record("scanned")

    async def test_store_concurrent_consumers_have_one_winner(self, store: Store) -> None:
        await store.create("k", sample_record(), TTL * 10)
        results = await asyncio.gather(*(store.consume("k") for _ in range(50)))
        winners = [r for r in results if r is not None]
        assert winners == [sample_record()]

    async def test_store_concurrent_creates_have_one_winner(self, store: Store) -> None:
        results = await asyncio.gather(
            *(store.create("k", sample_record(f"s{i}"), TTL) for i in range(50))
        )
        assert results.count(True) == 1
        assert await store.get("k") == sample_record(f"s{results.index(True)}")

    async def test_store_delete_removes_the_record(self, store: Store) -> None:
        await store.create("k", sample_record(), TTL)
        await store.delete("k")
        assert await store.get("k") is None
        await store.delete("k")  # deleting a missing key is not an error
        assert await store.get("k") is None

    async def test_store_keys_are_independent(self, store: Store) -> None:
        await store.create("a", sample_record("pending"), TTL)
        await store.create("b", sample_record("scanned"), TTL)
        await store.consume("a")
        assert await store.get("b") == sample_record("scanned")

    # TTL expiry

    async def test_store_record_is_alive_before_its_ttl(
        self, store: Store, advance: Callable[[float], Awaitable[None]]
    ) -> None:
        await store.create("k", sample_record(), TTL)
        await advance(TTL * 0.5)
        assert await store.get("k") == sample_record()

    async def test_store_expired_record_is_gone_for_every_operation(
        self, store: Store, advance: Callable[[float], Awaitable[None]]
    ) -> None:
        for key in ("get", "transition", "consume", "create"):
            await store.create(key, sample_record("pending"), TTL)
        await advance(TTL * 1.5)
        assert await store.get("get") is None
        assert await store.transition("transition", "pending", sample_record("x")) is False
        assert await store.get("transition") is None
        assert await store.consume("consume") is None
        assert await store.create("create", sample_record("fresh"), TTL) is True
        assert await store.get("create") == sample_record("fresh")

    async def test_store_put_resets_the_ttl(
        self, store: Store, advance: Callable[[float], Awaitable[None]]
    ) -> None:
        await store.create("k", sample_record("pending"), TTL)
        await advance(TTL * 0.6)
        await store.put("k", sample_record("scanned"), TTL)
        await advance(TTL * 0.6)
        assert await store.get("k") == sample_record("scanned")
        await advance(TTL * 0.6)
        assert await store.get("k") is None
