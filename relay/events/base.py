"""The Events contract.

`publish(channel, event)` delivers `event` to every subscription open on `channel` at that moment;
there is no history. A listener therefore subscribes first and reads the current state second:
whatever changes between the two arrives as an event, so nothing is lost (it may see one change
twice, once in the state it read and once as an event, and must tolerate that).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

Event = dict[str, Any]


class Subscription(Protocol):
    async def get(self) -> Event:
        """Wait for the next event on the channel."""


class Events(Protocol):
    async def publish(self, channel: str, event: Event) -> None: ...

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[Subscription]:
        """An async context manager; the subscription is active once entered and removed on exit."""

    async def close(self) -> None: ...
