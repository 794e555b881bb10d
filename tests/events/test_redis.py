"""RedisEvents: the shared Events contract against a real Redis, plus what only Redis has:
several processes, one pub/sub connection per process, and recovery after a dropped connection."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from relay.events.redis import RedisEvents
from tests.events.contract import EventsContract, EventsHarness, next_event


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[Redis]:
    redis = Redis.from_url(redis_url)
    yield redis
    await redis.aclose()


@pytest.fixture
async def harness(client: Redis) -> AsyncIterator[EventsHarness]:
    events = RedisEvents(client, prefix=f"test:{uuid.uuid4().hex}:events:")
    yield EventsHarness(events=events, open_channels=lambda: events.channel_count)
    await events.close()


class TestRedisEvents(EventsContract): ...


async def test_redis_events_cross_process_delivery(redis_url: str) -> None:
    """A desktop's stream on process A hears the phone's callback on process B."""
    prefix = f"test:{uuid.uuid4().hex}:events:"
    a_client, b_client = Redis.from_url(redis_url), Redis.from_url(redis_url)
    a, b = RedisEvents(a_client, prefix=prefix), RedisEvents(b_client, prefix=prefix)
    try:
        async with a.subscribe("session:s1") as subscription:
            await b.publish("session:s1", {"status": "confirmed"})
            assert await next_event(subscription) == {"status": "confirmed"}
    finally:
        await a.close()
        await b.close()
        await a_client.aclose()
        await b_client.aclose()


async def test_redis_events_one_pubsub_connection_for_many_listeners(client: Redis) -> None:
    prefix = f"test:{uuid.uuid4().hex}:events:"
    events = RedisEvents(client, prefix=prefix)
    try:
        before = await pubsub_connections(client)
        async with (
            events.subscribe("session:a") as first,
            events.subscribe("session:b") as second,
            events.subscribe("session:b") as third,
        ):
            assert await pubsub_connections(client) == before + 1
            await events.publish("session:b", {"status": "scanned"})
            assert await next_event(second) == {"status": "scanned"}
            assert await next_event(third) == {"status": "scanned"}
            await events.publish("session:a", {"status": "expired"})
            assert await next_event(first) == {"status": "expired"}
        assert events.channel_count == 0
        numsub = dict(await client.pubsub_numsub(prefix + "session:a", prefix + "session:b"))
        assert set(numsub.values()) == {0}  # unsubscribed at Redis too
    finally:
        await events.close()


async def test_redis_events_recover_after_the_connection_drops(client: Redis) -> None:
    """The pub/sub connection is killed: listeners are woken to re-read their state, and later
    events arrive again."""
    prefix = f"test:{uuid.uuid4().hex}:events:"
    events = RedisEvents(client, prefix=prefix)
    try:
        async with events.subscribe("session:k") as subscription:
            killed = await client.client_kill_filter(_type="pubsub", skipme=True)
            assert killed >= 1
            assert await asyncio.wait_for(subscription.get(), 10) == {"resync": True}
            for _ in range(50):  # resubscribed once the reader reconnected
                numsub = dict(await client.pubsub_numsub(prefix + "session:k"))
                if numsub[(prefix + "session:k").encode()] == 1:
                    break
                await asyncio.sleep(0.1)
            await events.publish("session:k", {"status": "confirmed"})
            event = await next_event(subscription)
            while event == {"resync": True}:  # woken when lost, and again when back
                event = await next_event(subscription)
            assert event == {"status": "confirmed"}
    finally:
        await events.close()


async def pubsub_connections(client: Redis) -> int:
    return len([c for c in await client.client_list() if c.get("flags", "").find("P") >= 0])
