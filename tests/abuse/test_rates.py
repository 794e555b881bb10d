"""The counters (relay/abuse/rates.py), the same behaviour on both back-ends: memory, and Redis
shared by every process of a relay under its key prefix; failing open when Redis is away."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace

import pytest
import redis
from limits.aio.storage import MemoryStorage

from relay.abuse.rates import SCHEDULE_SWEEP, MemoryCounters, RateLimits, address_key
from relay.observability.metrics import Metrics
from relay.settings import LimitsConfig, Settings
from tests.conftest import NO_RATE_LIMITS

LimitsFactory = Callable[..., RateLimits]


def settings_for(store: str, session_ttl: int = 180, **limits: object) -> Settings:
    return Settings(
        issuer="http://relay.test",
        store=store,
        session_ttl=session_ttl,
        limits=replace(NO_RATE_LIMITS, **limits),
    )


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own on the test Redis; its keys are removed afterwards."""
    prefix = f"test:{uuid.uuid4().hex}:"
    yield prefix
    with redis.Redis.from_url(redis_url) as client:
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)


@pytest.fixture(params=["memory", "redis"])
async def limits_factory(
    request: pytest.FixtureRequest,
) -> AsyncIterator[LimitsFactory]:
    """`limits_factory(authorize="2/hour")`: RateLimits on one back-end; on Redis, all those
    one test makes share one prefix, as the processes of one relay do."""
    if request.param == "memory":
        store = "memory://"
    else:
        redis_url = request.getfixturevalue("redis_url")
        store = f"{redis_url}?prefix={request.getfixturevalue('redis_prefix')}"
    made: list[RateLimits] = []

    def make(session_ttl: int = 180, **limits: object) -> RateLimits:
        made.append(RateLimits.from_settings(settings_for(store, session_ttl, **limits)))
        return made[-1]

    yield make
    for limits in made:
        await limits.aclose()


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_rates_address_key_counts_an_ipv6_64_as_one() -> None:
    assert address_key("203.0.113.9") == "203.0.113.9"
    assert address_key("2001:db8:1:2::10") == address_key("2001:db8:1:2:ffff::99")
    assert address_key("2001:db8:1:2::10") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::10") != address_key("2001:db8:1:2::10")
    assert address_key("::ffff:203.0.113.9") == "203.0.113.9"  # an IPv4 client of a v6 socket
    assert address_key("testclient") == "testclient"
    assert address_key(None) == address_key("") == "unknown"


async def test_rates_refuse_past_the_limit_with_when_to_retry(
    limits_factory: LimitsFactory,
) -> None:
    limits = limits_factory(authorize="3/hour")
    for _ in range(3):
        assert await limits.hit("authorize", "203.0.113.9") is None
    refused = await limits.hit("authorize", "203.0.113.9")
    assert refused is not None and refused.limit == "authorize"
    assert 1 <= refused.retry_after <= 3600
    assert await limits.test("authorize", "203.0.113.9") is not None
    # Other addresses and other limits count apart.
    assert await limits.hit("authorize", "203.0.113.10") is None
    assert await limits.hit("scan", "203.0.113.9") is None  # off


async def test_rates_test_does_not_count(limits_factory: LimitsFactory) -> None:
    limits = limits_factory(scan="2/hour")
    for _ in range(5):
        assert await limits.test("scan", "203.0.113.9") is None
    assert await limits.hit("scan", "203.0.113.9") is None
    assert await limits.hit("scan", "203.0.113.9") is None
    assert await limits.hit("scan", "203.0.113.9") is not None


async def test_rates_a_slot_frees_when_the_window_moves(limits_factory: LimitsFactory) -> None:
    """Retry-After tells when; waiting_per_ip's window is one session_ttl (here a second)."""
    limits = limits_factory(session_ttl=1, token="1/second", waiting_per_ip=2)
    # Memory windows start on whole seconds: begin just after one, far from the next.
    await asyncio.sleep(1.02 - time.time() % 1.0)
    assert await limits.hit("token", "203.0.113.9") is None
    assert await limits.hit("waiting_per_ip", "203.0.113.9", cost=2) is None
    for name in ("token", "waiting_per_ip"):
        refused = await limits.test(name, "203.0.113.9")
        assert refused is not None and refused.retry_after == 1
    await asyncio.sleep(2.05)  # past the current window and the weight of the previous one
    for name in ("token", "waiting_per_ip"):
        assert await limits.hit(name, "203.0.113.9") is None


async def test_rates_all_off_never_ask_redis() -> None:
    metrics = Metrics()
    url = f"redis://127.0.0.1:{unused_port()}/15"  # nothing listens: any use would fail
    limits = RateLimits.from_settings(settings_for(url), observer=metrics)
    for _ in range(100):
        assert await limits.hit("authorize", "203.0.113.9") is None
    assert await limits.test("waiting_per_ip", "203.0.113.9") is None
    await limits.aclose()
    assert b"relay_rate_limiter_errors_total 0.0" in metrics.exposition()


async def test_rates_redis_processes_of_one_relay_count_together(
    redis_url: str, redis_prefix: str
) -> None:
    """A limit is per IP across processes: two relays on one Redis and one prefix share it;
    a relay under another prefix (another tenant of the same Redis) does not."""
    store = f"{redis_url}?prefix={redis_prefix}"
    first = RateLimits.from_settings(settings_for(store, authorize="3/hour"))
    second = RateLimits.from_settings(settings_for(store, authorize="3/hour"))
    tenant = RateLimits.from_settings(
        settings_for(f"{redis_url}?prefix={redis_prefix}tenant:", authorize="3/hour")
    )
    try:
        assert await first.hit("authorize", "203.0.113.9") is None
        assert await second.hit("authorize", "203.0.113.9") is None
        assert await first.hit("authorize", "203.0.113.9") is None
        assert await second.hit("authorize", "203.0.113.9") is not None
        assert await tenant.hit("authorize", "203.0.113.9") is None
        with redis.Redis.from_url(redis_url) as client:
            keys = [key.decode() for key in client.scan_iter(match=f"{redis_prefix}*")]
        ours = (f"{redis_prefix}limits:", f"{redis_prefix}tenant:limits:")
        assert keys and all(key.startswith(ours) and "203.0.113.9" in key for key in keys)
    finally:
        for limits in (first, second, tenant):
            await limits.aclose()


async def test_rates_redis_away_fails_open_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = Metrics()
    url = f"redis://127.0.0.1:{unused_port()}/15?prefix=nobody:"
    limits = RateLimits.from_settings(settings_for(url, token="1/hour"), observer=metrics)
    try:
        with caplog.at_level(logging.WARNING, logger="relay.abuse"):
            for _ in range(3):
                assert await limits.hit("token", "203.0.113.9") is None  # served
            assert await limits.test("token", "203.0.113.9") is None
    finally:
        await limits.aclose()
    warnings = [r for r in caplog.records if r.name == "relay.abuse"]
    assert len(warnings) == 1, warnings
    assert "rate limits not enforced" in warnings[0].getMessage()
    assert b"relay_rate_limiter_errors_total 4.0" in metrics.exposition()


def test_rates_memory_sweep_hook_is_still_there() -> None:
    """MemoryCounters paces limits' sweep through a private method: a new version of limits
    that renames it must be noticed here, not as CPU time in production."""
    assert callable(getattr(MemoryStorage, SCHEDULE_SWEEP, None))


async def test_rates_memory_counters_sweep_at_most_every_interval() -> None:
    """A counter past its window reads as zero whether swept or not; the sweep (which visits
    every counter) only frees memory, and runs once per interval, not after every hit."""
    item = LimitsConfig(token="1/second").rate("token")
    assert item is not None
    paced, eager = MemoryCounters(sweep_every=3600), MemoryCounters(sweep_every=0)
    for storage in (paced, eager):
        for n in range(50):
            assert await storage.acquire_sliding_window_entry(f"k{n}", 1, item.get_expiry())
    await asyncio.sleep(2.05)  # every counter is past its window (two windows of one second)
    for storage in (paced, eager):
        assert await storage.acquire_sliding_window_entry("k0", 1, item.get_expiry())
        assert storage.timer is not None
        await storage.timer
    assert len(eager.storage) == 1  # swept: only k0's new counter is left
    assert len(paced.storage) > 1  # not swept since the first hit; still correct (k0 above)
