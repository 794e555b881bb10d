"""The in-memory store: the default, for a single process.

Every operation runs without an `await` between its read and its write, so on one event loop it
is atomic. Records are kept as JSON text, as Redis keeps them: what cannot be serialised fails
here first, a tuple comes back as a list, and no caller can change a stored record by mistake.
Expired records are dropped when touched and by a sweep that runs at most every
`sweep_interval` seconds from inside `create` (no timer task per record, no background loop).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from relay.store.base import Record


class MemoryStore:
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sweep_interval: float = 30.0,  # seconds between sweeps of expired records
    ) -> None:
        self._data: dict[str, tuple[float, str]] = {}
        self._clock = clock
        self._sweep_interval = sweep_interval
        self._next_sweep = clock() + sweep_interval

    def __len__(self) -> int:
        return len(self._data)

    def keys(self, prefix: str = "") -> list[str]:
        """The keys held now (expired ones included until swept), for tests and benchmarks."""
        return [key for key in self._data if key.startswith(prefix)]

    def _live(self, key: str) -> tuple[float, str] | None:
        item = self._data.get(key)
        if item is None:
            return None
        if item[0] <= self._clock():
            del self._data[key]
            return None
        return item

    def _sweep(self) -> None:
        now = self._clock()
        if now < self._next_sweep:
            return
        self._next_sweep = now + self._sweep_interval
        for key in [k for k, (deadline, _) in self._data.items() if deadline <= now]:
            del self._data[key]

    async def create(self, key: str, record: Record, ttl: float) -> bool:
        self._sweep()
        if self._live(key) is not None:
            return False
        self._data[key] = (self._clock() + ttl, json.dumps(record))
        return True

    async def get(self, key: str) -> Record | None:
        item = self._live(key)
        return _load(item[1]) if item else None

    async def put(self, key: str, record: Record, ttl: float) -> None:
        self._data[key] = (self._clock() + ttl, json.dumps(record))

    async def transition(
        self, key: str, expected: str, record: Record, ttl: float | None = None
    ) -> bool:
        item = self._live(key)
        if item is None or _load(item[1]).get("status") != expected:
            return False
        deadline = item[0] if ttl is None else self._clock() + ttl
        self._data[key] = (deadline, json.dumps(record))
        return True

    async def consume(self, key: str) -> Record | None:
        item = self._live(key)
        if item is None:
            return None
        del self._data[key]
        return _load(item[1])

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        self._data.clear()


def _load(text: str) -> Record:
    record: Record = json.loads(text)
    return record
