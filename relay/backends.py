"""The shared engine, chosen by the `store` URL: records (Store) and live events (Events).

    memory://                 one process: records and events in memory (the default)
    redis://HOST:PORT/DB      many processes on many hosts: Redis (or Valkey) for both
    rediss://HOST:PORT/DB     the same over TLS

Redis's store and events share one client and its connection pool; the events take one more
connection for pub/sub, shared by every live stream of the process.
"""

from __future__ import annotations

from typing import NamedTuple

from relay.errors import ConfigError
from relay.events import Events, MemoryEvents
from relay.store import MemoryStore, Store

SCHEMES = ("memory", "redis", "rediss")


class Backends(NamedTuple):
    store: Store
    events: Events


def scheme_of(url: str) -> str:
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in SCHEMES:
        raise ConfigError(
            "store", f'"{url}" is not supported (use "memory://", "redis://…" or "rediss://…")'
        )
    return scheme


def open_backends(url: str) -> Backends:
    if scheme_of(url) == "memory":
        return Backends(MemoryStore(), MemoryEvents())
    # Imported here: a relay on the memory store never loads the Redis client.
    from redis.asyncio import Redis

    from relay.events.redis import RedisEvents
    from relay.store.redis import RedisStore

    client = Redis.from_url(
        url,
        socket_connect_timeout=2.0,  # seconds: a Redis that does not answer is down
        socket_timeout=5.0,
        health_check_interval=15,  # seconds between checks of an idle pooled connection
        max_connections=64,
    )
    return Backends(RedisStore(client), RedisEvents(client))
