"""Shared pieces for the login-session tests: a fake clock, events that record what was
published, and a way to put a session straight into any status."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from relay.events import Event, MemoryEvents
from relay.sessions import AuthorizationRequest, Identity, LoginSession, LoginSessions, Status
from relay.sessions.service import RECORD_GRACE, channel, session_key
from relay.store import MemoryStore

START = 1_700_000_000.25  # 2023-11-14T22:13:20.250000Z
TTL = 180.0


class FakeClock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RecordingEvents(MemoryEvents):
    """MemoryEvents that also keeps every (channel, event) published, for exact assertions."""

    def __init__(self) -> None:
        super().__init__()
        self.published: list[tuple[str, Event]] = []

    async def publish(self, channel: str, event: Event) -> None:
        self.published.append((channel, dict(event)))
        await super().publish(channel, event)


@dataclasses.dataclass
class World:
    clock: FakeClock
    store: MemoryStore
    events: RecordingEvents
    sessions: LoginSessions

    def published_for(self, session: LoginSession) -> list[Event]:
        return [event for name, event in self.published if name == channel(session.id)]

    @property
    def published(self) -> list[tuple[str, Event]]:
        return self.events.published

    async def stored(self, session: LoginSession) -> dict[str, Any] | None:
        return await self.store.get(session_key(session.id))

    async def force(self, session: LoginSession, status: Status, **changes: Any) -> LoginSession:
        """Write `session` into the store with `status`, bypassing the state machine."""
        forced = dataclasses.replace(session, status=status, **changes)
        await self.store.put(session_key(session.id), forced.to_record(), TTL + RECORD_GRACE)
        return forced


def make_world(clock: FakeClock | None = None, *, qr_rotate: int = 0) -> World:
    clock = clock or FakeClock()
    store = MemoryStore(clock=clock)
    events = RecordingEvents()
    sessions = LoginSessions(store, events, ttl=TTL, qr_rotate=qr_rotate, clock=clock)
    return World(clock, store, events, sessions)


def make_request(**overrides: Any) -> AuthorizationRequest:
    values: dict[str, Any] = {
        "client_id": "rp",
        "redirect_uri": "https://rp.example/callback",
        "redirect_uri_given": True,
        "scope": ("openid", "profile"),
        "provider": "sandbox",
        "state": "st-123",
        "nonce": "n-456",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    }
    values.update(overrides)
    return AuthorizationRequest(**values)


IDENTITY = Identity(
    provider="sandbox",
    subject="u-42",
    name="Ada Lovelace",
    picture="https://img.example/ada.png",
    preferred_username="ada",
)


def iso_z(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


def parse_iso_z(text: str) -> float:
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text[:-1] + "+00:00").timestamp()
