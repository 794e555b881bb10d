"""The Events contract (relay/events/base.py), written once for every implementation.

An implementation runs the suite from its own test module: a module-level `harness` fixture that
returns (or yields, for setup and teardown) an `EventsHarness`, and the one line

    class TestRedisEvents(EventsContract): ...

`open_channels()` counts the channels that still have a subscription in this process, so the suite
can check that leaving `subscribe` cleans up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from relay.events import Event, Events, Subscription

WAIT = 1.0  # seconds to wait for an event that must arrive
QUIET = 0.05  # seconds to wait to conclude that no event arrives


@dataclass
class EventsHarness:
    events: Events
    open_channels: Callable[[], int]


async def next_event(subscription: Subscription) -> Event:
    return await asyncio.wait_for(subscription.get(), WAIT)


async def assert_quiet(subscription: Subscription) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(subscription.get(), QUIET)


async def drain(subscription: Subscription) -> list[Event]:
    """Everything waiting on the subscription, until it stays quiet."""
    received = []
    while True:
        try:
            received.append(await asyncio.wait_for(subscription.get(), QUIET))
        except TimeoutError:
            return received


class EventsContract:
    """Every Events implementation passes these. Subclasses provide the `harness` fixture."""

    @pytest.fixture
    def events(self, harness: EventsHarness) -> Events:
        return harness.events

    async def test_events_subscriber_gets_later_events_in_order(self, events: Events) -> None:
        async with events.subscribe("s1") as subscription:
            for i in range(5):
                await events.publish("s1", {"status": "scanned", "i": i})
            received = [await next_event(subscription) for _ in range(5)]
        assert received == [{"status": "scanned", "i": i} for i in range(5)]

    async def test_events_published_before_subscribing_are_not_delivered(
        self, events: Events
    ) -> None:
        await events.publish("s1", {"status": "before"})
        async with events.subscribe("s1") as subscription:
            await events.publish("s1", {"status": "after"})
            assert await next_event(subscription) == {"status": "after"}
            await assert_quiet(subscription)

    async def test_events_publish_without_subscribers_is_harmless(
        self, harness: EventsHarness, events: Events
    ) -> None:
        await events.publish("nobody", {"status": "pending"})
        assert harness.open_channels() == 0

    async def test_events_two_subscribers_both_get_each_event(self, events: Events) -> None:
        async with events.subscribe("s1") as first, events.subscribe("s1") as second:
            await events.publish("s1", {"status": "scanned"})
            await events.publish("s1", {"status": "confirmed"})
            for subscription in (first, second):
                assert await next_event(subscription) == {"status": "scanned"}
                assert await next_event(subscription) == {"status": "confirmed"}

    async def test_events_other_channels_are_not_delivered(self, events: Events) -> None:
        async with events.subscribe("s1") as subscription:
            await events.publish("s2", {"status": "other"})
            await events.publish("s1", {"status": "mine"})
            assert await next_event(subscription) == {"status": "mine"}
            await assert_quiet(subscription)

    async def test_events_subscriber_cannot_change_what_others_receive(
        self, events: Events
    ) -> None:
        event = {"status": "scanned"}
        async with events.subscribe("s1") as first, events.subscribe("s1") as second:
            await events.publish("s1", event)
            got = await next_event(first)
            got["status"] = "tampered"
            assert await next_event(second) == {"status": "scanned"}
        assert event == {"status": "scanned"}

    async def test_events_leaving_subscribe_removes_the_subscription(
        self, harness: EventsHarness, events: Events
    ) -> None:
        async with events.subscribe("s1"):
            async with events.subscribe("s1"), events.subscribe("s2"):
                assert harness.open_channels() == 2
            assert harness.open_channels() == 1
        assert harness.open_channels() == 0

    async def test_events_leaving_subscribe_by_an_exception_removes_the_subscription(
        self, harness: EventsHarness, events: Events
    ) -> None:
        with pytest.raises(RuntimeError, match="boom"):
            async with events.subscribe("s1"):
                assert harness.open_channels() == 1
                raise RuntimeError("boom")
        assert harness.open_channels() == 0
        await events.publish("s1", {"status": "after"})  # no one left to deliver to
        assert harness.open_channels() == 0

    async def test_events_leaving_subscribe_by_cancellation_removes_the_subscription(
        self, harness: EventsHarness, events: Events
    ) -> None:
        async def listen() -> None:
            async with events.subscribe("s1") as subscription:
                await subscription.get()

        task = asyncio.create_task(listen())
        for _ in range(100):
            if harness.open_channels() == 1:
                break
            await asyncio.sleep(0.001)
        assert harness.open_channels() == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert harness.open_channels() == 0

    async def test_events_slow_reader_queue_is_bounded_and_keeps_the_newest(
        self, events: Events
    ) -> None:
        async with events.subscribe("s1") as subscription:
            for i in range(100):
                await events.publish("s1", {"status": "scanned", "i": i})
            # Let every event reach the queue before reading (Redis delivers them a moment
            # later): a reader draining meanwhile would keep the queue from ever filling.
            await asyncio.sleep(0.3)
            received = await drain(subscription)
        numbers = [event["i"] for event in received]
        assert 0 < len(numbers) < 100  # bounded: the oldest were dropped
        assert numbers[-1] == 99  # the newest is kept
        assert numbers == sorted(numbers)  # what is kept stays in order
