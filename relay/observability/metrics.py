"""The relay's Prometheus metrics, one registry per app.

Each app counts in a `CollectorRegistry` of its own, not prometheus-client's global one, so two
relays in one process (as in the tests) neither clash nor add up. Every label value comes from a
small fixed set: provider and client names from the configuration, statuses from the state
machine, endpoint words chosen in the provider adapters. Never a URL, an id or a user.

    relay_sessions_created_total{provider}                  login sessions started
    relay_sessions_ended_total{status,provider}             sessions that reached a final status
    relay_logins_completed_total{provider,client}           logins handed to the relying party
    relay_upstream_request_duration_seconds{provider,endpoint}
                                                            provider answers, time to the last byte
    relay_open_streams{transport}                           live websockets and SSE streams now
    relay_store_errors_total                                requests refused: the store was down
    relay_rate_limited_total{limit}                         requests refused by a rate limit
    relay_rate_limiter_errors_total                         requests let through uncounted: the
                                                            limiter's Redis did not answer

How they are fed, each without the core knowing of Prometheus:
- sessions: `Metrics` is the `SessionObserver` of `LoginSessions` (told of each start and move);
- upstream: an httpx response hook on the relay's shared client, for requests that
  `request_json` labelled with an `Upstream` (a request extension);
- streams: `open_stream()` around a stream, or `@counted_stream(...)` on a websocket handler;
- store errors: the app's handler for StoreUnavailable;
- rate limits: `Metrics` is the `LimitObserver` of `RateLimits` (relay/abuse/rates.py).
"""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Literal, TypeVar, get_args

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.requests import HTTPConnection

from relay.abuse.rates import LIMIT_NAMES
from relay.providers.base import UPSTREAM, Upstream
from relay.sessions import LoginSession, Status

StreamTransport = Literal["websocket", "sse"]

# Seconds. Most provider answers take tens of milliseconds; 10 s is the read timeout
# (relay.core.UPSTREAM_TIMEOUT), beyond which there is no answer to time.
UPSTREAM_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

SENT_AT = "relay.sent_at"  # request extension: time.perf_counter() when the request left

Connection = TypeVar("Connection", bound=HTTPConnection)


class Metrics:
    def __init__(self, providers: Iterable[str] = ()) -> None:
        self.registry = CollectorRegistry()
        self.sessions_created = Counter(
            "relay_sessions_created",
            "Login sessions started, by provider.",
            ["provider"],
            registry=self.registry,
        )
        self.sessions_ended = Counter(
            "relay_sessions_ended",
            "Login sessions that reached a final status (completed, expired, cancelled, "
            "denied, failed), by status and provider.",
            ["status", "provider"],
            registry=self.registry,
        )
        self.logins_completed = Counter(
            "relay_logins_completed",
            "Logins completed: the relay code was issued to the relying party's redirect.",
            ["provider", "client"],
            registry=self.registry,
        )
        self.upstream_duration = Histogram(
            "relay_upstream_request_duration_seconds",
            "Time from sending a request to a provider to the last byte of its answer, by "
            "provider and endpoint (requests that get no answer are not timed).",
            ["provider", "endpoint"],
            buckets=UPSTREAM_BUCKETS,
            registry=self.registry,
        )
        self.open_streams = Gauge(
            "relay_open_streams",
            "Live status streams open now, by transport (websocket, sse).",
            ["transport"],
            registry=self.registry,
        )
        self.store_errors = Counter(
            "relay_store_errors",
            "Requests that failed because the store did not answer.",
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "relay_rate_limited",
            "Requests refused by a rate limit ([limits]), by limit.",
            ["limit"],
            registry=self.registry,
        )
        self.rate_limiter_errors = Counter(
            "relay_rate_limiter_errors",
            "Requests served without being counted: the rate limiter's Redis did not answer.",
            registry=self.registry,
        )
        # Series that exist from the start read 0 rather than missing, so rates and alerts work
        # before the first event.
        for provider in providers:
            self.sessions_created.labels(provider=provider)
        for transport in get_args(StreamTransport):
            self.open_streams.labels(transport=transport)
        for limit in LIMIT_NAMES:
            self.rate_limited.labels(limit=limit)

    # --- relay.sessions.service.SessionObserver -----------------------------------------------

    def started(self, session: LoginSession) -> None:
        self.sessions_created.labels(provider=session.request.provider).inc()

    def moved(self, session: LoginSession) -> None:
        if not session.final:
            return
        provider = session.request.provider
        self.sessions_ended.labels(status=session.status.value, provider=provider).inc()
        if session.status is Status.COMPLETED:
            self.logins_completed.labels(provider=provider, client=session.request.client_id).inc()

    # --- relay.abuse.rates.LimitObserver ------------------------------------------------------

    def rate_limit_refused(self, limit: str) -> None:
        self.rate_limited.labels(limit=limit).inc()

    def rate_limiter_failed(self) -> None:
        self.rate_limiter_errors.inc()

    # --- upstream requests --------------------------------------------------------------------

    def upstream_hooks(self) -> dict[str, list[Callable[..., Any]]]:
        """`event_hooks` for the relay's shared httpx client."""
        return {"request": [self.upstream_sent], "response": [self.upstream_answered]}

    async def upstream_sent(self, request: httpx.Request) -> None:
        if isinstance(request.extensions.get(UPSTREAM), Upstream):
            request.extensions[SENT_AT] = time.perf_counter()

    async def upstream_answered(self, response: httpx.Response) -> None:
        extensions = response.request.extensions
        upstream, sent_at = extensions.get(UPSTREAM), extensions.get(SENT_AT)
        if not isinstance(upstream, Upstream) or not isinstance(sent_at, float):
            return  # not a provider call (the demo relying party calling the relay)
        # Timed when the caller closes the body, so that the time includes it; not read here,
        # which would read all of it whatever the caller's limit (request_json stops at 1 MiB).
        observed = self.upstream_duration.labels(
            provider=upstream.provider, endpoint=upstream.endpoint
        )
        # A body that came whole with the response (a test's MockTransport): nothing to wait for.
        if response.is_closed or not isinstance(response.stream, httpx.AsyncByteStream):
            observed.observe(time.perf_counter() - sent_at)
            return
        response.stream = TimedStream(
            response.stream, lambda: observed.observe(time.perf_counter() - sent_at)
        )

    # --- live streams -------------------------------------------------------------------------

    @contextmanager
    def open_stream(self, transport: StreamTransport) -> Iterator[None]:
        """Counts a stream as open while the block runs. For SSE, wrap the body generator (the
        handler itself returns at once)."""
        gauge = self.open_streams.labels(transport=transport)
        gauge.inc()
        try:
            yield
        finally:
            gauge.dec()

    # --- exposition ---------------------------------------------------------------------------

    def exposition(self) -> bytes:
        """Every metric in the Prometheus text format."""
        return generate_latest(self.registry)


def counted_stream(
    transport: StreamTransport,
) -> Callable[[Callable[[Connection], Awaitable[None]]], Callable[[Connection], Awaitable[None]]]:
    """Decorates a websocket handler: the stream counts as open while the handler runs."""

    def decorate(
        handler: Callable[[Connection], Awaitable[None]],
    ) -> Callable[[Connection], Awaitable[None]]:
        @functools.wraps(handler)
        async def counted(connection: Connection) -> None:
            metrics: Metrics = connection.app.state.relay.metrics
            with metrics.open_stream(transport):
                await handler(connection)

        return counted

    return decorate


class TimedStream(httpx.AsyncByteStream):
    """A response body that calls `done` once, when it is closed (read to the end or not)."""

    def __init__(self, inner: httpx.AsyncByteStream, done: Callable[[], None]) -> None:
        self._inner = inner
        self._done: Callable[[], None] | None = done

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()
        if self._done is not None:
            done, self._done = self._done, None
            done()
