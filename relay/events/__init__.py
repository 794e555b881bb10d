"""Live status events per login session: publish, and subscribe before reading the state.

The implementation follows the `store` URL (relay/backends.py): in-process for `memory://`, Redis
pub/sub for `redis://`.
"""

from __future__ import annotations

from relay.events.base import Event, Events, Subscription
from relay.events.memory import MemoryEvents

__all__ = ["Event", "Events", "MemoryEvents", "Subscription"]
