"""The shared engine, chosen by the `store` URL: records (Store) and live events (Events).

    memory://                 one process: records and events in memory (the default)
    redis://HOST:PORT/DB      many processes on many hosts: Redis (or Valkey) for both
    rediss://HOST:PORT/DB     the same over TLS

Redis's store and events share one client and its connection pool; the events take one more
connection for pub/sub, shared by every live stream of the process.

Keys and channels start with `relay:` (records `relay:{…}`, channels `relay:events:…`). A
`prefix` query parameter changes that, so that several relays (staging and production, or a test
run) can share one Redis database: `redis://HOST:PORT/DB?prefix=staging:`. The prefix may not
hold `{` or `}`: each key's one hash tag must stay the record's own (Redis Cluster slots).
"""

from __future__ import annotations

import string
from typing import NamedTuple
from urllib.parse import parse_qsl, urlencode, urlsplit

from relay.errors import ConfigError
from relay.events import Events, MemoryEvents
from relay.store import MemoryStore, Store

SCHEMES = ("memory", "redis", "rediss")
DEFAULT_PREFIX = "relay:"
PREFIX_CHARACTERS = frozenset(string.ascii_letters + string.digits + ":._-/")


class Backends(NamedTuple):
    store: Store
    events: Events


def scheme_of(url: str) -> str:
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in SCHEMES:
        raise ConfigError(
            "store", f'"{url}" is not supported (use "memory://", "redis://…" or "rediss://…")'
        )
    if scheme != "memory":
        split_prefix(url)  # a ConfigError for a prefix that would break the key layout
    return scheme


def split_prefix(url: str) -> tuple[str, str]:
    """The Redis URL without its `prefix` parameter, and the key prefix (`relay:` by default)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    given = [value for name, value in query if name == "prefix"]
    if len(given) > 1:
        raise ConfigError("store", "the prefix parameter may appear once")
    prefix = given[0] if given else DEFAULT_PREFIX
    if not prefix or len(prefix) > 64 or not set(prefix) <= PREFIX_CHARACTERS:
        raise ConfigError(
            "store", "prefix must be 1 to 64 of A-Z a-z 0-9 : . _ - / (no braces: hash tags)"
        )
    rest = urlencode([(name, value) for name, value in query if name != "prefix"])
    return parts._replace(query=rest).geturl(), prefix


def open_backends(url: str) -> Backends:
    if scheme_of(url) == "memory":
        return Backends(MemoryStore(), MemoryEvents())
    # Imported here: a relay on the memory store never loads the Redis client.
    from redis.asyncio import BlockingConnectionPool, Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError

    from relay.events.redis import RedisEvents
    from relay.store.redis import RedisStore

    url, prefix = split_prefix(url)
    pool = BlockingConnectionPool.from_url(
        url,
        socket_connect_timeout=2.0,  # seconds: a Redis that does not answer is down
        socket_timeout=5.0,
        health_check_interval=15,  # seconds between checks of an idle pooled connection
        max_connections=64,
        timeout=2.0,  # seconds to wait for a free connection: a burst is not an outage
        # Once more on a new connection when one breaks: after Redis restarts, every pooled
        # connection is dead without knowing it, and each would otherwise fail one request
        # (a 503) on its first use. While Redis is down the second try fails as fast.
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    )
    client = Redis(connection_pool=pool)
    return Backends(
        RedisStore(client, prefix=prefix), RedisEvents(client, prefix=f"{prefix}events:")
    )
