"""Rate limits: how many requests one IP address (or one client) may make in a window.

Built from `[limits]` and the `store` URL, so that the counters live where the logins do:

    memory://          counters in this process
    redis://…          the store's Redis (its own small pool), keys `{prefix}limits:…` with the
                       store's `?prefix=`: every process of one relay counts together, and
                       relays that share a Redis under different prefixes do not

The strategy is limits' sliding window counter: per key, the current window's count plus the
previous window's weighted by how much of it the moving window still covers. It is within a
few percent of a true moving window while keeping two numbers per key, where the moving window
keeps a timestamp per request (and limits' memory sweep of those costs a thread hop per key).
Retry-After is the library's estimate of when the weighted count falls below the limit.

Failing open: when the limiter's Redis does not answer, the request is served uncounted, a
warning is logged (at most once a minute) and `relay_rate_limiter_errors_total` counts it. A
Redis blip must not lock every user out; requests that need the store get their 503 from it
anyway.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError

from relay.abuse.waiting import LoginStarts
from relay.backends import scheme_of, split_prefix
from relay.settings import RATE_LIMIT_KEYS, Settings

log = logging.getLogger("relay.abuse")

WAITING = "waiting_per_ip"  # the limit on logins started, beside RATE_LIMIT_KEYS
LIMIT_NAMES = (*RATE_LIMIT_KEYS, WAITING)
WARN_EVERY = 60.0  # seconds between two warnings that the limiter's Redis does not answer
SWEEP_EVERY = 10.0  # seconds between two sweeps of expired counters in memory
IPV6_PREFIX = 64  # an IPv6 subscriber holds a whole /64: its addresses count as one
# MemoryStorage's private method that starts a sweep, called as `self.__schedule_expiry()`
# after each hit (tests/abuse/test_rates.py fails if a new version of limits renames it).
SCHEDULE_SWEEP = "_MemoryStorage__schedule_expiry"


def address_key(host: str | None) -> str:
    """What one client's requests are counted under: its IPv4 address, or its IPv6 /64."""
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host  # not an address (an ASGI test client's "testclient")
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False))
    return str(address)


@dataclass(frozen=True)
class Refused:
    """A request over a limit, and when to try again."""

    limit: str
    retry_after: int  # whole seconds until the window frees a slot, at least 1


class LimitObserver(Protocol):
    """Told of each refusal and each failure of the limiter (the relay's metrics)."""

    def rate_limit_refused(self, limit: str) -> None: ...

    def rate_limiter_failed(self) -> None: ...


class MemoryCounters(MemoryStorage):
    """limits' MemoryStorage, swept for expired counters at most every `sweep_every` seconds.

    The library starts a sweep after a hit whenever the last one has finished, and a sweep
    visits every counter: with 10,000 addresses counted that came to 0.8 ms of CPU per request
    (measured), growing with the number of addresses. A counter past its expiry reads as zero
    whether swept or not, so sweeping only frees memory, which every few seconds does as well.
    """

    def __init__(self, sweep_every: float = SWEEP_EVERY) -> None:
        super().__init__()
        self.sweep_every = sweep_every
        self._swept_at = -math.inf

    async def _MemoryStorage__schedule_expiry(self) -> None:  # SCHEDULE_SWEEP
        now = time.monotonic()
        if now - self._swept_at >= self.sweep_every:
            self._swept_at = now
            await getattr(super(), SCHEDULE_SWEEP)()


class RateLimits:
    """The limits of one relay: `hit` counts a request and says whether it is refused, `test`
    says whether one more would be; both answer None (go ahead) for a limit that is off."""

    def __init__(
        self,
        items: Mapping[str, RateLimitItem],
        storage: Storage | None,
        *,
        failures: tuple[type[BaseException], ...] = (),
        close: Callable[[], Awaitable[None]] | None = None,
        observer: LimitObserver | None = None,
    ) -> None:
        self._items = dict(items)
        self._limiter = SlidingWindowCounterRateLimiter(storage) if storage is not None else None
        self._failures = failures
        self._close = close
        self._observer = observer
        self._warned_at = -math.inf
        self.starts = LoginStarts()  # the sessions' observer for waiting_per_ip

    @classmethod
    def from_settings(
        cls, settings: Settings, *, observer: LimitObserver | None = None
    ) -> RateLimits:
        config = settings.limits
        items: dict[str, RateLimitItem] = {}
        for name in RATE_LIMIT_KEYS:
            item = config.rate(name)
            if item is not None:
                items[name] = item
        if config.waiting_per_ip:
            items[WAITING] = RateLimitItemPerSecond(config.waiting_per_ip, settings.session_ttl)
        if not items:
            return cls(items, None, observer=observer)
        if scheme_of(settings.store) == "memory":
            return cls(items, MemoryCounters(), observer=observer)
        return redis_limits(items, settings.store, observer)

    def enabled(self, limit: str) -> bool:
        return limit in self._items

    async def hit(self, limit: str, key: str, *, cost: int = 1) -> Refused | None:
        """Count `cost` requests of `key` against `limit`; Refused (and nothing counted) when
        they do not fit."""
        item = self._items.get(limit)
        if item is None or self._limiter is None:
            return None
        try:
            if await self._limiter.hit(item, limit, key, cost=cost):
                return None
            return await self._refused(item, limit, key)
        except self._failures as exc:
            self._failed(exc)
            return None

    async def test(self, limit: str, key: str) -> Refused | None:
        """Whether one more request of `key` would be refused, without counting it."""
        item = self._items.get(limit)
        if item is None or self._limiter is None:
            return None
        try:
            if await self._limiter.test(item, limit, key):
                return None
            return await self._refused(item, limit, key)
        except self._failures as exc:
            self._failed(exc)
            return None

    async def _refused(self, item: RateLimitItem, limit: str, key: str) -> Refused:
        assert self._limiter is not None
        stats = await self._limiter.get_window_stats(item, limit, key)
        wait = math.ceil(stats.reset_time - time.time())
        if self._observer is not None:
            self._observer.rate_limit_refused(limit)
        return Refused(limit, min(max(wait, 1), item.get_expiry()))

    def _failed(self, exc: BaseException) -> None:
        if self._observer is not None:
            self._observer.rate_limiter_failed()
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY:
            self._warned_at = now
            # The class and the message only: redis-py's name the host and port, never a password.
            log.warning(
                "rate limits not enforced: their Redis does not answer (%s: %s); serving requests "
                "uncounted",
                type(exc).__name__,
                str(exc)[:200],
            )

    async def aclose(self) -> None:
        if self._close is not None:
            await self._close()


def redis_limits(
    items: Mapping[str, RateLimitItem], url: str, observer: LimitObserver | None
) -> RateLimits:
    # Imported here: a relay on the memory store never loads the Redis client.
    from limits.aio.storage import RedisStorage
    from redis.asyncio import BlockingConnectionPool
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import RedisError

    address, prefix = split_prefix(url)
    pool = BlockingConnectionPool.from_url(
        address,
        # Short: a request waits this long at most before it is served uncounted.
        socket_connect_timeout=1.0,
        socket_timeout=1.0,
        max_connections=32,
        timeout=1.0,  # seconds to wait for a free connection
        # Once more on a new connection: after a Redis restart each pooled one is dead.
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    )
    options: dict[str, Any] = {"connection_pool": pool}
    storage = RedisStorage(
        address, implementation="redispy", key_prefix=f"{prefix}limits", **options
    )
    return RateLimits(
        items,
        storage,
        failures=(RedisError, StorageError, OSError),
        close=pool.aclose,
        observer=observer,
    )
