"""The records a relay's store holds, as written: under the SealedStore that build_relay wraps
around every store (relay/store/sealed.py)."""

from __future__ import annotations

from relay.store import MemoryStore, Store
from relay.store.sealed import SealedStore


def memory_store_of(store: Store) -> MemoryStore:
    """The MemoryStore under a relay's store, for tests that count or list its keys."""
    inner = store.inner if isinstance(store, SealedStore) else store
    assert isinstance(inner, MemoryStore)
    return inner
