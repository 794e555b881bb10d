"""Short-lived records with a TTL: login sessions, scan tickets, relay codes, access tokens.

The implementation is chosen by the `store` URL (relay/backends.py): `memory://` for one process,
`redis://` for many.
"""

from __future__ import annotations

from relay.store.base import Record, Store
from relay.store.memory import MemoryStore

__all__ = ["MemoryStore", "Record", "Store"]
