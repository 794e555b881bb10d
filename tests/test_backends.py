"""The store URL picks the engine: memory for one process, Redis for many."""

from __future__ import annotations

import pytest

from relay.backends import open_backends
from relay.errors import ConfigError
from relay.events import MemoryEvents
from relay.events.redis import RedisEvents
from relay.store import MemoryStore
from relay.store.redis import RedisStore


def test_backends_memory_url() -> None:
    store, events = open_backends("memory://")
    assert isinstance(store, MemoryStore) and isinstance(events, MemoryEvents)


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/0", "rediss://cache.example:6380/2"])
async def test_backends_redis_urls_share_one_client(url: str) -> None:
    store, events = open_backends(url)  # no connection is made until the first command
    assert isinstance(store, RedisStore) and isinstance(events, RedisEvents)
    assert store._client is events._client
    await store.close()


@pytest.mark.parametrize("url", ["ftp://example.com", "memory", "", "postgres://db/relay"])
def test_backends_unknown_url_names_the_store_key(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        open_backends(url)
    assert caught.value.key == "store"
