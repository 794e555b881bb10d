"""The Redis (or Valkey) store: many relay processes on many hosts share one set of records.

Each record is JSON text under `{prefix}{<key>}` with a Redis TTL (PX, milliseconds). The braces
are a Redis Cluster hash tag: every logical record lives in one slot, and every operation here
touches one key, so the layout works on a cluster as on a single server.

- create: SET NX PX; put: SET PX; get: GET; delete: DEL
- consume: GETDEL, atomic (Redis >= 6.2): of two processes racing, one gets the record
- transition: a Lua script compares the stored `status` and swaps the record in one step
  (KEEPTTL keeps the remaining TTL, Redis >= 6.0)

A Redis that cannot be reached raises StoreUnavailable; the relay answers 503 and recovers by
itself when Redis is back (the client reconnects on the next command).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import Any, TypeVar

from redis import exceptions as redis_errors
from redis.asyncio import Redis

from relay.errors import StoreUnavailable
from relay.store.base import Record

T = TypeVar("T")

# KEYS[1] the record; ARGV[1] expected status, ARGV[2] new record, ARGV[3] TTL ms or "" to keep.
TRANSITION = """
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
local ok, record = pcall(cjson.decode, current)
if not ok or type(record) ~= 'table' or record['status'] ~= ARGV[1] then return 0 end
if ARGV[3] == '' then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 1
"""

UNREACHABLE = (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError)


def milliseconds(ttl: float) -> int:
    return max(1, int(ttl * 1000))


class RedisStore:
    def __init__(self, client: Redis, *, prefix: str = "relay:") -> None:
        self._client = client
        self._prefix = prefix
        self._transition = client.register_script(TRANSITION)

    def _key(self, key: str) -> str:
        return f"{self._prefix}{{{key}}}"

    async def _call(self, operation: Awaitable[T]) -> T:
        try:
            return await operation
        except UNREACHABLE as exc:
            raise StoreUnavailable(f"Redis does not answer ({type(exc).__name__})") from None

    async def create(self, key: str, record: Record, ttl: float) -> bool:
        stored = await self._call(
            self._client.set(self._key(key), json.dumps(record), px=milliseconds(ttl), nx=True)
        )
        return bool(stored)

    async def get(self, key: str) -> Record | None:
        return _load(await self._call(self._client.get(self._key(key))))

    async def put(self, key: str, record: Record, ttl: float) -> None:
        await self._call(self._client.set(self._key(key), json.dumps(record), px=milliseconds(ttl)))

    async def transition(
        self, key: str, expected: str, record: Record, ttl: float | None = None
    ) -> bool:
        ttl_arg = "" if ttl is None else str(milliseconds(ttl))
        swapped = await self._call(
            self._transition(keys=[self._key(key)], args=[expected, json.dumps(record), ttl_arg])
        )
        return bool(swapped)

    async def consume(self, key: str) -> Record | None:
        return _load(await self._call(self._client.getdel(self._key(key))))

    async def delete(self, key: str) -> None:
        await self._call(self._client.delete(self._key(key)))

    async def ping(self) -> bool:
        try:
            return bool(await self._client.ping())
        except (*UNREACHABLE, redis_errors.RedisError):
            return False

    async def close(self) -> None:
        # The pool too (open_backends made it for this store and the events, which close first):
        # otherwise its sockets stay open until garbage collection.
        await self._client.aclose(close_connection_pool=True)


def _load(raw: Any) -> Record | None:
    if raw is None:
        return None
    record: Record = json.loads(raw)
    return record
