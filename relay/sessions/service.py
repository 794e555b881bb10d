"""LoginSessions: create, read and move login sessions through the store, publishing each change.

Expiry is lazy: a session past `expires_at` is moved to expired by whoever touches it next (a
read, a scan, the desktop's live stream when its timer runs out). No loop polls the sessions.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any, Protocol

from relay.crossdevice import DesktopContext, new_match
from relay.errors import InvalidTransition, SessionNotFound
from relay.events import Event, Events, Subscription
from relay.sessions.model import (
    TRANSITIONS,
    AuthorizationRequest,
    Identity,
    LoginSession,
    Status,
)
from relay.sessions.tickets import (
    matches,
    period,
    period_ends_at,
    session_id_of,
    ticket_for,
    valid_periods,
)
from relay.store import Store

log = logging.getLogger("relay.sessions")

# Records outlive the login by this much, so that an expired or finished session can still show
# its outcome, be refreshed, or answer a late websocket.
RECORD_GRACE = 10 * 60  # seconds
# Once the phone has approved, the desktop has at least this long to come back and finish, even
# when the approval lands a moment before the QR would have expired.
RESUME_WINDOW = 60  # seconds


def session_key(session_id: str) -> str:
    return f"session:{session_id}"


def channel(session_id: str) -> str:
    return f"session:{session_id}"


def event_of(session: LoginSession) -> Event:
    event: Event = {
        "status": session.status.value,
        "at": datetime.fromtimestamp(session.updated_at, UTC).isoformat().replace("+00:00", "Z"),
    }
    if session.status in (Status.FAILED, Status.DENIED):
        event["reason"] = session.reason
        event["message"] = session.message
    return event


class SessionObserver(Protocol):
    """Told of every session started and every transition made, once the store holds it
    (the relay's metrics implement it). Called inline: it must be quick and must not raise."""

    def started(self, session: LoginSession) -> None:
        """A new pending session."""

    def moved(self, session: LoginSession) -> None:
        """`session` as it is after the transition (its new status)."""


class LoginSessions:
    def __init__(
        self,
        store: Store,
        events: Events,
        *,
        ttl: float,  # seconds a QR login may stay open (settings.session_ttl)
        qr_rotate: int = 0,  # seconds between new scan tickets while pending (settings.qr_rotate)
        clock: Callable[[], float] = time.time,
        observer: SessionObserver | None = None,
    ) -> None:
        self.store = store
        self.events = events
        self.ttl = ttl
        self.qr_rotate = qr_rotate
        self._clock = clock
        self._observer = observer

    def now(self) -> float:
        return self._clock()

    async def start(
        self,
        request: AuthorizationRequest,
        binding_hash: str,
        *,
        desktop: DesktopContext | None = None,
        match_code: bool = False,
        ttl: float | None = None,
    ) -> LoginSession:
        """A new pending session, with the key of its scan tickets; with `match_code`, the
        number the phone must pick (relay/crossdevice/matching.py). `ttl`: seconds it may stay
        open, when not the QR login's (a device authorization's `device_code_ttl`)."""
        now = self._clock()
        ttl = self.ttl if ttl is None else ttl
        desktop = desktop or DesktopContext()
        code, choices = new_match() if match_code else (None, ())
        session = LoginSession(
            id=secrets.token_urlsafe(16),
            request=request,
            status=Status.PENDING,
            created_at=now,
            updated_at=now,
            expires_at=now + ttl,
            binding_hash=binding_hash,
            ticket_key=secrets.token_urlsafe(32),
            desktop_ip=desktop.ip,
            desktop_agent=desktop.user_agent,
            match_code=code,
            match_choices=choices,
        )
        await self.store.create(session_key(session.id), session.to_record(), ttl + RECORD_GRACE)
        if self._observer is not None:
            self._observer.started(session)
        return session

    async def find(self, session_id: str) -> LoginSession | None:
        record = await self.store.get(session_key(session_id))
        if record is None:
            return None
        try:
            session = LoginSession.from_record(record)
        except (KeyError, TypeError, ValueError) as exc:
            # Written by another version of the relay (during an upgrade), or damaged: the
            # login cannot go on, which its page says; never a 500.
            log.warning("unreadable login session record, treated as absent: %r", exc)
            return None
        try:
            return await self.expire_if_due(session)
        except SessionNotFound:  # its TTL ran out between the read and the expiry
            return None

    async def get(self, session_id: str) -> LoginSession:
        session = await self.find(session_id)
        if session is None:
            raise SessionNotFound(session_id)
        return session

    def subscribe(self, session_id: str) -> AbstractAsyncContextManager[Subscription]:
        return self.events.subscribe(channel(session_id))

    async def transition(
        self, session: LoginSession, target: Status, **changes: Any
    ) -> LoginSession:
        """Move `session` from its status to `target` (compare-and-set) and publish the change.

        Raises InvalidTransition when the state machine has no such edge, when the stored
        session is no longer in `session.status` (another request moved it first), or when the
        session's time is up: then it is moved to expired instead (a slow provider cannot
        confirm a login after its deadline)."""
        if target not in TRANSITIONS[session.status]:
            raise InvalidTransition(session.id, session.status, session.status, target)
        if target is not Status.EXPIRED and self._clock() >= session.expires_at:
            expired = await self.expire_if_due(session)
            raise InvalidTransition(session.id, expired.status, session.status, target)
        moved = dataclasses.replace(session, status=target, updated_at=self._clock(), **changes)
        swapped = await self.store.transition(
            session_key(session.id), session.status.value, moved.to_record()
        )
        if not swapped:
            stored = await self.store.get(session_key(session.id))
            if stored is None:
                raise SessionNotFound(session.id)
            raise InvalidTransition(session.id, stored["status"], session.status, target)
        if self._observer is not None:  # the store holds it now, whatever happens to the event
            self._observer.moved(moved)
        await self.events.publish(channel(session.id), event_of(moved))
        return moved

    async def settle(self, session: LoginSession, target: Status, **changes: Any) -> LoginSession:
        """Move `session` to `target` if it still can; either way, the session as it now is.
        For pages, which show whatever the outcome is (another request may have moved it
        first, or its time ran out)."""
        try:
            return await self.transition(session, target, **changes)
        except InvalidTransition:
            return await self.get(session.id)

    async def confirm(self, session: LoginSession, identity: Identity) -> LoginSession:
        """scanned -> confirmed: the phone signed in at the provider as `identity`; settled as
        in `settle`."""
        now = self._clock()
        return await self.settle(
            session,
            Status.CONFIRMED,
            identity=identity,
            auth_time=now,
            expires_at=max(session.expires_at, now + RESUME_WINDOW),
        )

    async def expire_if_due(self, session: LoginSession) -> LoginSession:
        if session.final or self._clock() < session.expires_at:
            return session
        try:
            # Who signed in goes with the login: an approval nobody came back for is not kept
            # for the record's grace period.
            return await self.transition(session, Status.EXPIRED, identity=None, auth_time=None)
        except InvalidTransition:
            # Someone else moved it meanwhile (possibly to expired): report what is stored now.
            return await self.get(session.id)

    def ticket(self, session: LoginSession) -> str:
        """The scan ticket the QR shows now (relay/sessions/tickets.py)."""
        number = period(session.created_at, self._clock(), self.qr_rotate)
        return ticket_for(session.id, session.ticket_key, number)

    def next_ticket_at(self, session: LoginSession) -> float | None:
        """When the QR changes next; None when it does not rotate."""
        number = period(session.created_at, self._clock(), self.qr_rotate)
        return period_ends_at(session.created_at, number, self.qr_rotate)

    async def ticket_holder(self, ticket: str) -> LoginSession | None:
        """The session a ticket of the current QR (or the one just before, within its grace)
        belongs to, whatever its status; None for anything else. Uses nothing up."""
        session_id = session_id_of(ticket)
        session = await self.find(session_id) if session_id else None
        if session is None:
            return None
        periods = valid_periods(session.created_at, self._clock(), self.qr_rotate)
        return session if matches(ticket, session.id, session.ticket_key, periods) else None

    async def for_ticket(self, ticket: str) -> LoginSession | None:
        """The pending session a scan ticket belongs to, without using the ticket."""
        session = await self.ticket_holder(ticket)
        return session if session is not None and session.status is Status.PENDING else None

    async def scan(
        self, ticket: str, phone_hash: str, *, same_device: bool = False
    ) -> LoginSession | None:
        """The phone opened the QR's URL: mark the session scanned (once: the compare-and-set
        from pending lets one scan through). None when the ticket is unknown, stale (the QR has
        changed since) or its session no longer pending; then nothing changes. `same_device`:
        the browser that started the login took it itself (POST /sessions/{id}/here), so it, not
        a phone, finishes it after the provider."""
        session = await self.for_ticket(ticket)
        if session is None:
            return None
        try:
            return await self.transition(
                session, Status.SCANNED, phone_hash=phone_hash, same_device=same_device
            )
        except InvalidTransition:
            return None
