"""Events over Redis pub/sub: one subscriber connection per process, shared by every websocket
and SSE stream of that process.

A local subscription is a bounded queue, as in the memory implementation. The first local
listener of a channel subscribes the process's pub/sub connection to it and waits for Redis to
confirm before `subscribe()` returns: the caller then reads the current state knowing that any
later change will arrive. The last listener to leave unsubscribes.

One reader task takes messages off the connection and hands them to the local queues. If the
connection drops, the reader reconnects with back-off (redis-py subscribes the channels again on
reconnect); every local listener is woken with a `{"resync": true}` event when the connection
drops and again once it is back, so each re-reads the state it may have missed a change of (and,
while Redis is down, learns so from the failed read). Listeners treat events as wake-ups,
never as the truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from redis import exceptions as redis_errors
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from relay.errors import StoreUnavailable
from relay.events.base import Event
from relay.events.memory import MemorySubscription

log = logging.getLogger("relay.events")

UNREACHABLE = (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError)
CONFIRM_WITHIN = 5.0  # seconds Redis has to confirm a SUBSCRIBE
RESYNC: Event = {"resync": True}


class RedisEvents:
    def __init__(
        self, client: Redis, *, prefix: str = "relay:events:", queue_size: int = 16
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._queue_size = queue_size
        self._local: dict[str, set[MemorySubscription]] = {}
        self._confirming: dict[str, asyncio.Future[None]] = {}
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    @property
    def channel_count(self) -> int:
        return len(self._local)

    async def publish(self, channel: str, event: Event) -> None:
        try:
            await self._client.publish(self._prefix + channel, json.dumps(event))
        except UNREACHABLE as exc:
            raise StoreUnavailable(f"Redis does not answer ({type(exc).__name__})") from None

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[MemorySubscription]:
        subscription = MemorySubscription(self._queue_size)
        async with self._lock:
            listeners = self._local.setdefault(channel, set())
            listeners.add(subscription)
            if len(listeners) == 1:
                try:
                    await self._subscribe(self._prefix + channel)
                except BaseException:
                    self._drop(channel, subscription)
                    raise
        try:
            yield subscription
        finally:
            async with self._lock:
                if self._drop(channel, subscription) and self._pubsub is not None:
                    leaving = asyncio.ensure_future(
                        self._pubsub.unsubscribe(self._prefix + channel)
                    )
                    leaving.add_done_callback(_quietly)
                    with contextlib.suppress(*UNREACHABLE, redis_errors.RedisError):
                        await asyncio.shield(leaving)

    def _drop(self, channel: str, subscription: MemorySubscription) -> bool:
        """Forget a local listener; True when it was the channel's last."""
        listeners = self._local.get(channel)
        if listeners is None:
            return False
        listeners.discard(subscription)
        if listeners:
            return False
        del self._local[channel]
        return True

    async def _subscribe(self, name: str) -> None:
        if self._pubsub is None:
            self._pubsub = self._client.pubsub()
        confirmed = asyncio.get_running_loop().create_future()
        self._confirming[name] = confirmed
        try:
            # redis-py runs on its own task, shielded: a cancelled caller must never interrupt
            # it halfway (redis-py can then lose the cancellation and leave the caller running).
            await asyncio.shield(asyncio.ensure_future(self._pubsub.subscribe(name)))
            if self._reader is None or self._reader.done():
                # In a context of its own: the reader serves the whole process, and its log
                # lines must not carry the ids of the request that happened to start it.
                self._reader = asyncio.create_task(
                    self._read(), name="relay-events-reader", context=contextvars.Context()
                )
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation.
            async with asyncio.timeout(CONFIRM_WITHIN):
                await confirmed
        except (*UNREACHABLE, TimeoutError) as exc:
            raise StoreUnavailable(
                f"Redis pub/sub does not answer ({type(exc).__name__})"
            ) from None
        finally:
            self._confirming.pop(name, None)

    async def _read(self) -> None:
        """The one reader of this process's pub/sub connection."""
        assert self._pubsub is not None
        delay = 0.1
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except (*UNREACHABLE, redis_errors.RedisError) as exc:
                if delay == 0.1:  # just lost, not still down
                    log.warning(
                        "Redis pub/sub connection lost (%s); reconnecting", type(exc).__name__
                    )
                    # Wake every listener now: each re-reads its state, and if Redis itself is
                    # down that read fails and its stream closes with "try again later".
                    self._wake_all()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                await self._reconnect()
                continue
            delay = 0.1
            if message is not None:
                self._dispatch(message)

    async def _reconnect(self) -> None:
        assert self._pubsub is not None
        try:
            # Reconnects; redis-py's on_connect subscribes the known channels again.
            await self._pubsub.ping()
        except (*UNREACHABLE, redis_errors.RedisError):
            return
        self._wake_all()

    def _wake_all(self) -> None:
        for listeners in list(self._local.values()):
            for subscription in tuple(listeners):
                subscription.deliver(dict(RESYNC))

    def _dispatch(self, message: dict[str, object]) -> None:
        kind = message.get("type")
        name = message.get("channel")
        if isinstance(name, bytes):
            name = name.decode()
        if not isinstance(name, str):
            return
        if kind == "subscribe":
            waiting = self._confirming.get(name)
            if waiting is not None and not waiting.done():
                waiting.set_result(None)
            return
        if kind != "message" or not name.startswith(self._prefix):
            return
        try:
            data = message.get("data")
            event = json.loads(data if isinstance(data, str | bytes) else "null")
        except ValueError:
            return
        if not isinstance(event, dict):
            return
        for subscription in tuple(self._local.get(name[len(self._prefix) :], ())):
            subscription.deliver(dict(event))

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._pubsub is not None:
            # redis-py leaves PubSub.aclose unannotated; it unsubscribes and frees the connection.
            close_pubsub: Callable[[], Awaitable[None]] = self._pubsub.aclose
            with contextlib.suppress(*UNREACHABLE, redis_errors.RedisError):
                await close_pubsub()
        self._local.clear()


def _quietly(done: asyncio.Future[object]) -> None:
    """Retrieve a background command's error, so that none goes unnoticed in the logs."""
    if not done.cancelled() and done.exception() is not None:
        log.debug("Redis unsubscribe failed: %s", type(done.exception()).__name__)
