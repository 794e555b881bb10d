"""Pieces of the stateful test of login sessions (test_state_machine.py): where an example keeps
its records, on either store, and what the test knows and expects of each login."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from redis.asyncio import Redis
from starlette.responses import Response

from relay.events import Events, MemoryEvents
from relay.events.redis import RedisEvents
from relay.sessions import Identity, LoginSession, Status
from relay.store import MemoryStore, Record, Store
from relay.store.redis import RedisStore
from tests.sessions.helpers import FakeClock

# Where an example keeps its records


@dataclass
class Backend:
    """Where an example keeps its records; `codes` lists every relay code held, by key."""

    store: Store
    events: Events
    codes: Callable[[], Coroutine[Any, Any, dict[str, Record]]]
    cleanup: Callable[[], Coroutine[Any, Any, None]]


async def memory_backend(clock: FakeClock) -> Backend:
    store = MemoryStore(clock=clock)

    async def codes() -> dict[str, Record]:
        held = {key: await store.get(key) for key in store.keys("code:")}
        return {key: record for key, record in held.items() if record is not None}

    async def cleanup() -> None:
        pass

    return Backend(store, MemoryEvents(), codes, cleanup)


async def redis_backend(url: str, clock: FakeClock) -> Backend:
    """RedisStore and RedisEvents under a prefix of their own; records keep Redis's own time
    (far longer than an example), sessions the fake clock."""
    client = Redis.from_url(url)
    prefix = f"test:{uuid.uuid4().hex}:"
    store = RedisStore(client, prefix=prefix)

    async def codes() -> dict[str, Record]:
        held: dict[str, Record] = {}
        async for raw in client.scan_iter(match=f"{prefix}{{code:*"):
            key = raw.decode()[len(prefix) + 1 : -1]  # {prefix}{<key>}: the store's own key
            record = await store.get(key)
            if record is not None:
                held[key] = record
        return held

    async def cleanup() -> None:
        async for key in client.scan_iter(match=f"{prefix}*"):
            await client.delete(key)

    return Backend(store, RedisEvents(client, prefix=f"{prefix}events:"), codes, cleanup)


# What the test knows


class Moves:
    """The SessionObserver: every status each session was put in, in order. The store's
    compare-and-set lets one writer through at a time, so this is the store's history."""

    def __init__(self) -> None:
        self.of: dict[str, list[Status]] = {}

    def started(self, session: LoginSession) -> None:
        self.of[session.id] = [session.status]

    def moved(self, session: LoginSession) -> None:
        self.of[session.id].append(session.status)


@dataclass
class Login:
    id: str
    secret: str  # the desktop's binding cookie
    created_at: float
    views: list[LoginSession]  # every view of the session an actor was handed, oldest first
    shown: list[tuple[str, float | None]] = field(default_factory=list)  # QRs: (ticket, until)
    codes: set[str] = field(default_factory=set)  # keys of the codes resume handed out
    identity: Identity | None = None  # the first identity the store held
    final: Status | None = None  # the first final status the store held


def wins(before: LoginSession | None, now: float, sources: set[Status]) -> bool:
    """Whether an action that moves a session from `sources` does so, given it as stored."""
    return before is not None and now < before.expires_at and before.status in sources


def expected(
    before: LoginSession | None, now: float, sources: set[Status], target: Status
) -> Status | None:
    """The status after an action that reads the session and moves it from `sources` to `target`:
    a final one stays, one past its time expires (lazily, on that read), else the move."""
    if before is None:
        return None
    if before.final:
        return before.status
    if now >= before.expires_at:
        return Status.EXPIRED
    return target if before.status in sources else before.status


def status(session: LoginSession | None) -> Status | None:
    return session.status if session is not None else None


def query(response: Response) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}
