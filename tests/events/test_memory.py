"""MemoryEvents: the shared Events contract, plus the memory queue's exact bound."""

from __future__ import annotations

import pytest

from relay.events import MemoryEvents
from tests.events.contract import EventsContract, EventsHarness, drain


@pytest.fixture
def harness() -> EventsHarness:
    events = MemoryEvents()
    return EventsHarness(events=events, open_channels=lambda: events.channel_count)


class TestMemoryEvents(EventsContract): ...


async def test_memory_events_queue_keeps_exactly_the_newest_queue_size_events() -> None:
    events = MemoryEvents(queue_size=4)
    async with events.subscribe("s1") as subscription:
        for i in range(100):
            await events.publish("s1", {"i": i})
        received = await drain(subscription)
    assert received == [{"i": i} for i in range(96, 100)]


async def test_memory_events_close_drops_every_subscription() -> None:
    events = MemoryEvents()
    async with events.subscribe("s1"), events.subscribe("s2"):
        assert events.channel_count == 2
        await events.close()
        assert events.channel_count == 0
    assert events.channel_count == 0
