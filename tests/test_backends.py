"""The store URL picks the engine: memory for one process, Redis for many."""

from __future__ import annotations

import pytest

from relay.backends import open_backends, scheme_of
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


async def test_backends_redis_prefix_parameter_names_keys_and_channels() -> None:
    store, events = open_backends(
        "redis://127.0.0.1:6379/3?prefix=staging:&health_check_interval=5"
    )
    assert isinstance(store, RedisStore) and isinstance(events, RedisEvents)
    assert store._prefix == "staging:"
    assert events._prefix == "staging:events:"
    kwargs = store._client.connection_pool.connection_kwargs
    assert "prefix" not in kwargs and kwargs["db"] == 3
    await store.close()


async def test_backends_redis_default_prefix_and_one_retry_on_a_broken_connection() -> None:
    store, events = open_backends("redis://127.0.0.1:6379/0")
    assert isinstance(store, RedisStore) and isinstance(events, RedisEvents)
    assert (store._prefix, events._prefix) == ("relay:", "relay:events:")
    retry = store._client.connection_pool.connection_kwargs["retry"]
    assert retry.get_retries() == 1  # a pooled connection Redis dropped gets one new try
    await store.close()


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0?prefix=",
        "redis://127.0.0.1:6379/0?prefix={tenant}:",
        "redis://127.0.0.1:6379/0?prefix=a%20b",
        "redis://127.0.0.1:6379/0?prefix=a:&prefix=b:",
    ],
)
def test_backends_redis_prefix_that_breaks_the_key_layout_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        scheme_of(url)  # what the settings check, so check-config refuses it too
    assert caught.value.key == "store"
