"""Live status events per login session: publish, and subscribe before reading the state."""

from __future__ import annotations

from relay.errors import ConfigError
from relay.events.base import Event, Events, Subscription
from relay.events.memory import MemoryEvents

__all__ = ["Event", "Events", "MemoryEvents", "Subscription", "open_events"]


def open_events(url: str) -> Events:
    """Events follow the store: the memory store gets in-process events."""
    scheme = url.split(":", 1)[0]
    if scheme == "memory":
        return MemoryEvents()
    raise ConfigError("store", f'unsupported store URL scheme "{scheme}://" (use "memory://")')
