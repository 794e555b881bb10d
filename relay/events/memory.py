"""In-process events: one bounded queue per subscription."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from relay.events.base import Event


class MemorySubscription:
    def __init__(self, maxsize: int) -> None:
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize)

    def deliver(self, event: Event) -> None:
        # A login session has a handful of events; a full queue means the reader is gone or stuck.
        # Drop the oldest rather than grow without bound: the newest status is what matters.
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(event)

    async def get(self) -> Event:
        return await self._queue.get()


class MemoryEvents:
    def __init__(self, *, queue_size: int = 16) -> None:
        self._channels: dict[str, set[MemorySubscription]] = {}
        self._queue_size = queue_size

    @property
    def channel_count(self) -> int:
        return len(self._channels)

    async def publish(self, channel: str, event: Event) -> None:
        for subscription in tuple(self._channels.get(channel, ())):
            subscription.deliver(dict(event))

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[MemorySubscription]:
        subscription = MemorySubscription(self._queue_size)
        self._channels.setdefault(channel, set()).add(subscription)
        try:
            yield subscription
        finally:
            listeners = self._channels.get(channel)
            if listeners is not None:
                listeners.discard(subscription)
                if not listeners:
                    del self._channels[channel]

    async def close(self) -> None:
        self._channels.clear()
