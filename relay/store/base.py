"""The Store contract, written down once.

A record is a JSON-serialisable dict stored under a string key with a TTL in seconds. When the TTL
passes, the record is gone: `get`, `transition` and `consume` behave as if it never existed.
Implementations must make `create`, `transition` and `consume` atomic: two callers racing on one key
cannot both win. Records hold plain data only (no object references between them), so a Redis
implementation can keep them unchanged.
"""

from __future__ import annotations

from typing import Any, Protocol

Record = dict[str, Any]


class Store(Protocol):
    async def create(self, key: str, record: Record, ttl: float) -> bool:
        """Store `record` under `key` for `ttl` seconds unless the key exists. True if stored."""

    async def get(self, key: str) -> Record | None:
        """The record under `key`, or None. The caller gets a copy it may change freely."""

    async def put(self, key: str, record: Record, ttl: float) -> None:
        """Store `record` under `key` for `ttl` seconds, replacing what was there."""

    async def transition(
        self, key: str, expected: str, record: Record, ttl: float | None = None
    ) -> bool:
        """Compare-and-set on the `status` field: replace the record under `key` with `record`
        only if the stored record's `status` equals `expected`. `ttl=None` keeps the remaining
        TTL. False when the key is missing or its status differs."""

    async def consume(self, key: str) -> Record | None:
        """Atomic get-and-delete: the record, removed, or None. One caller at most gets it."""

    async def delete(self, key: str) -> None:
        """Remove the record under `key`, if any."""

    async def ping(self) -> bool:
        """True when the store answers (for /readyz); False, never an exception, when not."""

    async def close(self) -> None:
        """Release connections. The store is unusable afterwards."""
