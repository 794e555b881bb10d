"""RedisStore: the shared Store contract against a real Redis, plus what only Redis has."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from relay.errors import StoreUnavailable
from relay.store.redis import RedisStore
from tests.store.contract import StoreContract, StoreHarness


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[Redis]:
    redis = Redis.from_url(redis_url)
    yield redis
    await redis.aclose()


@pytest.fixture
async def harness(client: Redis) -> AsyncIterator[StoreHarness]:
    prefix = f"test:{uuid.uuid4().hex}:"  # each test its own keys; removed afterwards
    yield StoreHarness(store=RedisStore(client, prefix=prefix), advance=asyncio.sleep)
    async for key in client.scan_iter(match=f"{prefix}*"):
        await client.delete(key)


class TestRedisStore(StoreContract): ...


async def test_redis_store_keys_are_hash_tagged_json_with_a_redis_ttl(client: Redis) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    store = RedisStore(client, prefix=prefix)
    await store.create("session:abc", {"status": "pending", "n": 1}, 30)
    raw = await client.get(f"{prefix}{{session:abc}}")  # {…}: one Redis Cluster slot per record
    assert raw == b'{"status": "pending", "n": 1}'
    assert 29_000 < await client.pttl(f"{prefix}{{session:abc}}") <= 30_000
    await client.delete(f"{prefix}{{session:abc}}")


async def test_redis_store_two_clients_racing_on_one_code_one_wins(redis_url: str) -> None:
    """Two processes (two clients, two pools) consuming the same code: exactly one gets it."""
    prefix = f"test:{uuid.uuid4().hex}:"
    first, second = Redis.from_url(redis_url), Redis.from_url(redis_url)
    try:
        stores = [RedisStore(first, prefix=prefix), RedisStore(second, prefix=prefix)]
        for round_ in range(20):
            await stores[0].create(f"code:{round_}", {"status": "issued"}, 30)
            got = await asyncio.gather(*(s.consume(f"code:{round_}") for s in stores * 5))
            assert sum(record is not None for record in got) == 1
            moved = await asyncio.gather(
                *(s.transition(f"code:{round_}", "issued", {"status": "used"}) for s in stores * 5)
            )
            assert not any(moved)  # consumed: nothing left to move
    finally:
        await first.aclose()
        await second.aclose()


async def test_redis_store_unreachable_raises_store_unavailable() -> None:
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    store = RedisStore(dead)
    assert await store.ping() is False
    with pytest.raises(StoreUnavailable):
        await store.get("anything")
    with pytest.raises(StoreUnavailable):
        await store.create("anything", {"status": "pending"}, 10)
    await dead.aclose()
