"""Short-lived records with a TTL: login sessions, scan tickets, relay codes, access tokens.

`open_store(url)` picks the implementation by URL scheme: `memory://` (one process).
"""

from __future__ import annotations

from relay.errors import ConfigError
from relay.store.base import Record, Store
from relay.store.memory import MemoryStore

__all__ = ["MemoryStore", "Record", "Store", "open_store"]


def open_store(url: str) -> Store:
    scheme = url.split(":", 1)[0]
    if scheme == "memory":
        return MemoryStore()
    raise ConfigError("store", f'unsupported store URL scheme "{scheme}://" (use "memory://")')
