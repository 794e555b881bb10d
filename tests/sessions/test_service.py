"""LoginSessions: start, scan, the compare-and-set against stale objects, and lazy expiry."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from relay.errors import InvalidTransition, SessionNotFound
from relay.sessions import LoginSession, LoginSessions, Status
from relay.sessions.service import RECORD_GRACE, RESUME_WINDOW, session_key
from relay.store import MemoryStore
from tests.sessions.helpers import (
    IDENTITY,
    START,
    TTL,
    FakeClock,
    RecordingEvents,
    iso_z,
    make_request,
    make_world,
)

# start


async def test_start_creates_a_pending_session_and_its_ticket() -> None:
    world = make_world()
    request = make_request()
    session = await world.sessions.start(request, "binding-hash")

    assert session.status is Status.PENDING
    assert session.request == request
    assert session.binding_hash == "binding-hash"
    assert session.created_at == session.updated_at == START
    assert session.expires_at == START + TTL
    assert session.identity is None and session.phone_hash is None
    assert await world.stored(session) == session.to_record()
    assert list(world.store.keys()) == [session_key(session.id)]  # tickets are computed, not kept
    assert await world.sessions.find(session.id) == session
    assert world.published == []  # creation is not a transition


async def test_start_gives_each_session_fresh_random_id_and_ticket() -> None:
    world = make_world()
    first = await world.sessions.start(make_request(), "b1")
    second = await world.sessions.start(make_request(), "b2")
    tickets = [world.sessions.ticket(first), world.sessions.ticket(second)]
    assert len({first.id, second.id, first.ticket_key, second.ticket_key, *tickets}) == 6
    assert len(first.id) >= 22  # secrets.token_urlsafe(16): 128 bits
    assert len(first.ticket_key) >= 43  # 256 bits
    for ticket in tickets:
        assert len(ticket) == 44  # the session id and 128 bits of MAC


async def test_the_record_outlives_the_login_to_show_its_outcome() -> None:
    world = make_world()
    session = await world.sessions.start(make_request(), "b")
    world.clock.advance(TTL + 1)
    assert await world.store.get(session_key(session.id)) is not None  # kept to show the outcome
    world.clock.advance(RECORD_GRACE)
    assert await world.store.get(session_key(session.id)) is None


# scan


async def test_scan_marks_the_session_scanned_and_publishes() -> None:
    world = make_world()
    session = await world.sessions.start(make_request(), "b")
    world.clock.advance(3)
    scanned = await world.sessions.scan(world.sessions.ticket(session), "phone-hash")

    assert scanned is not None
    assert scanned.status is Status.SCANNED
    assert scanned.phone_hash == "phone-hash"
    assert await world.stored(session) == scanned.to_record()
    assert world.published_for(session) == [{"status": "scanned", "at": iso_z(START + 3)}]


async def test_scan_consumes_the_ticket_once() -> None:
    world = make_world()
    session = await world.sessions.start(make_request(), "b")
    assert await world.sessions.scan(world.sessions.ticket(session), "phone-1") is not None
    assert await world.sessions.scan(world.sessions.ticket(session), "phone-2") is None

    stored = await world.sessions.get(session.id)
    assert stored.status is Status.SCANNED
    assert stored.phone_hash == "phone-1"
    assert len(world.published_for(session)) == 1


async def test_scan_of_unknown_ticket_is_none() -> None:
    world = make_world()
    session = await world.sessions.start(make_request(), "b")
    assert await world.sessions.scan("no-such-ticket", "phone") is None
    assert (await world.sessions.get(session.id)).status is Status.PENDING
    assert world.published == []


async def test_scan_of_expired_session_ticket_is_none() -> None:
    world = make_world()
    session = await world.sessions.start(make_request(), "b")
    world.clock.advance(TTL + 1)
    assert await world.sessions.scan(world.sessions.ticket(session), "phone") is None
    assert (await world.sessions.get(session.id)).status is Status.EXPIRED


async def test_scan_of_the_current_ticket_of_an_expired_session_is_none() -> None:
    world = make_world()
    session = await world.sessions.start(make_request(), "b")
    world.clock.advance(TTL)
    assert await world.sessions.scan(world.sessions.ticket(session), "phone") is None
    stored = await world.sessions.get(session.id)
    assert stored.status is Status.EXPIRED
    assert stored.phone_hash is None
    assert [e["status"] for e in world.published_for(session)] == ["expired"]


async def test_scan_of_cancelled_session_ticket_is_none() -> None:
    world = make_world()
    session = await world.sessions.start(make_request(), "b")
    await world.sessions.transition(session, Status.CANCELLED)
    assert await world.sessions.scan(world.sessions.ticket(session), "phone") is None
    assert (await world.sessions.get(session.id)).status is Status.CANCELLED
    assert [e["status"] for e in world.published_for(session)] == ["cancelled"]


# transition: the compare-and-set


async def test_transition_with_stale_session_loses_the_compare_and_set() -> None:
    world = make_world()
    stale = await world.sessions.start(make_request(), "b")
    await world.sessions.scan(
        world.sessions.ticket(stale), "phone"
    )  # moves the stored session to scanned
    before = await world.stored(stale)

    with pytest.raises(InvalidTransition) as caught:
        await world.sessions.transition(stale, Status.CANCELLED)

    message = str(caught.value)
    assert 'from "pending" to "cancelled"' in message
    assert 'it is "scanned" now' in message
    assert caught.value.current == "scanned"
    assert caught.value.expected == "pending"
    assert await world.stored(stale) == before
    assert [e["status"] for e in world.published_for(stale)] == ["scanned"]


async def test_transition_of_vanished_session_raises_not_found() -> None:
    world = make_world()
    session = await world.sessions.start(make_request(), "b")
    await world.store.delete(session_key(session.id))
    with pytest.raises(SessionNotFound):
        await world.sessions.transition(session, Status.CANCELLED)
    assert world.published == []


async def test_transition_keeps_the_record_ttl() -> None:
    world = make_world()
    session = await world.sessions.start(make_request(), "b")
    world.clock.advance(TTL - 1)
    await world.sessions.transition(session, Status.CANCELLED)
    world.clock.advance(RECORD_GRACE + 2)  # past the record's original deadline
    assert await world.stored(session) is None


async def test_transition_full_happy_path_to_completed() -> None:
    world = make_world()
    session = await world.sessions.start(make_request(), "b")
    scanned = await world.sessions.scan(world.sessions.ticket(session), "phone")
    assert scanned is not None
    confirmed = await world.sessions.transition(
        scanned, Status.CONFIRMED, identity=IDENTITY, auth_time=START
    )
    completed = await world.sessions.transition(confirmed, Status.COMPLETED)
    assert (await world.sessions.get(session.id)) == completed
    assert completed.identity == IDENTITY
    assert [e["status"] for e in world.published_for(session)] == [
        "scanned",
        "confirmed",
        "completed",
    ]


async def test_transition_concurrent_completes_have_one_winner() -> None:
    world = make_world()
    session = await world.sessions.start(make_request(), "b")
    confirmed = await world.force(session, Status.CONFIRMED, identity=IDENTITY)
    results = await asyncio.gather(
        *(world.sessions.transition(confirmed, Status.COMPLETED) for _ in range(10)),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, InvalidTransition) for r in results if isinstance(r, BaseException))
    assert [e["status"] for e in world.published_for(session)] == ["completed"]


# lazy expiry


@pytest.mark.parametrize("status", [Status.PENDING, Status.SCANNED, Status.CONFIRMED])
async def test_find_after_expiry_moves_open_session_to_expired(status: Status) -> None:
    world = make_world()
    session = await world.sessions.start(make_request(), "b")
    await world.force(session, status)

    world.clock.advance(TTL - 0.001)
    assert (await world.sessions.get(session.id)).status is status  # not yet
    assert world.published == []

    world.clock.advance(0.002)
    found = await world.sessions.find(session.id)
    assert found is not None
    assert found.status is Status.EXPIRED
    assert found.updated_at == world.clock.now
    assert (await world.stored(session) or {})["status"] == "expired"
    assert world.published_for(session) == [{"status": "expired", "at": iso_z(world.clock.now)}]

    world.clock.advance(5)
    assert (await world.sessions.get(session.id)).status is Status.EXPIRED
    assert len(world.published) == 1  # expired once, not on every read


@pytest.mark.parametrize(
    "status", [Status.COMPLETED, Status.EXPIRED, Status.CANCELLED, Status.DENIED, Status.FAILED]
)
async def test_find_after_expiry_leaves_final_session_alone(status: Status) -> None:
    world = make_world()
    session = await world.sessions.start(make_request(), "b")
    final = await world.force(session, status, reason="r" if status is Status.FAILED else None)
    before = await world.stored(session)

    world.clock.advance(TTL * 2)
    assert await world.sessions.find(session.id) == final
    assert await world.stored(session) == before
    assert world.published == []


async def test_expire_if_due_reports_what_another_process_stored() -> None:
    world = make_world()
    session = await world.sessions.start(make_request(), "b")
    await world.force(session, Status.CANCELLED)  # someone else moved it first
    world.clock.advance(TTL + 1)
    result = await world.sessions.expire_if_due(session)  # our copy still says pending
    assert result.status is Status.CANCELLED
    assert world.published == []


async def test_find_of_unknown_id_is_none() -> None:
    world = make_world()
    assert await world.sessions.find("no-such-session") is None


async def test_get_of_unknown_id_raises_session_not_found() -> None:
    world = make_world()
    with pytest.raises(SessionNotFound) as caught:
        await world.sessions.get("no-such-session")
    assert caught.value.session_id == "no-such-session"
    assert "no-such-" in str(caught.value)


async def test_get_after_record_grace_raises_session_not_found() -> None:
    world = make_world()
    session = await world.sessions.start(make_request(), "b")
    world.clock.advance(TTL + RECORD_GRACE + 1)
    with pytest.raises(SessionNotFound):
        await world.sessions.get(session.id)


async def test_subscribe_delivers_the_session_events() -> None:
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    sessions = LoginSessions(store, RecordingEvents(), ttl=TTL, clock=clock)
    session = await sessions.start(make_request(), "b")
    other = await sessions.start(make_request(), "b2")
    async with sessions.subscribe(session.id) as subscription:
        await sessions.transition(other, Status.CANCELLED)
        await sessions.scan(sessions.ticket(session), "phone")
        assert (await subscription.get())["status"] == "scanned"


# deadlines


async def test_transition_after_the_deadline_expires_instead() -> None:
    """A provider that answers after the QR's time is up cannot confirm the login."""
    world = make_world()
    session = await world.sessions.start(make_request(), "b")
    scanned = await world.sessions.scan(world.sessions.ticket(session), "phone")
    assert scanned is not None
    world.clock.advance(TTL)
    with pytest.raises(InvalidTransition) as caught:
        await world.sessions.transition(scanned, Status.CONFIRMED, identity=IDENTITY)
    assert 'it is "expired" now' in str(caught.value)
    assert (await world.sessions.confirm(scanned, IDENTITY)).status is Status.EXPIRED  # settles
    stored = await world.sessions.get(session.id)
    assert stored.status is Status.EXPIRED
    assert stored.identity is None
    assert [e["status"] for e in world.published_for(session)] == ["scanned", "expired"]


async def test_confirm_leaves_the_desktop_time_to_come_back() -> None:
    world = make_world()
    session = await world.sessions.start(make_request(), "b")
    scanned = await world.sessions.scan(world.sessions.ticket(session), "phone")
    assert scanned is not None
    world.clock.advance(TTL - 1)  # approved one second before the QR would expire
    confirmed = await world.sessions.confirm(scanned, IDENTITY)
    assert confirmed.auth_time == world.clock.now
    assert confirmed.expires_at == world.clock.now + RESUME_WINDOW
    world.clock.advance(RESUME_WINDOW - 1)
    completed = await world.sessions.transition(confirmed, Status.COMPLETED)
    assert completed.status is Status.COMPLETED


# observer


class RecordingObserver:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, Status]] = []

    def started(self, session: LoginSession) -> None:
        self.seen.append(("started", session.id, session.status))

    def moved(self, session: LoginSession) -> None:
        self.seen.append(("moved", session.id, session.status))


def observed_world() -> tuple[LoginSessions, RecordingObserver]:
    clock = FakeClock()
    observer = RecordingObserver()
    store = MemoryStore(clock=clock)
    sessions = LoginSessions(store, RecordingEvents(), ttl=TTL, clock=clock, observer=observer)
    return sessions, observer


async def test_observer_told_of_each_start_and_transition() -> None:
    sessions, observer = observed_world()
    session = await sessions.start(make_request(), "b")
    scanned = await sessions.scan(sessions.ticket(session), "phone")
    assert scanned is not None
    await sessions.confirm(scanned, IDENTITY)
    assert observer.seen == [
        ("started", session.id, Status.PENDING),
        ("moved", session.id, Status.SCANNED),
        ("moved", session.id, Status.CONFIRMED),
    ]


async def test_observer_not_told_of_a_lost_compare_and_set_or_an_illegal_move() -> None:
    sessions, observer = observed_world()
    stale = await sessions.start(make_request(), "b")
    await sessions.transition(stale, Status.CANCELLED)
    for target in (Status.SCANNED, Status.COMPLETED):
        with pytest.raises(InvalidTransition):
            await sessions.transition(stale, target)
    assert [status for _, _, status in observer.seen] == [Status.PENDING, Status.CANCELLED]


@pytest.mark.parametrize(
    "damage",
    [
        lambda r: {k: v for k, v in r.items() if k != "ticket_key"},  # an older relay's record
        lambda r: {**r, "status": "no-such-status"},
        lambda r: {**r, "request": "not a table"},
    ],
)
async def test_a_record_this_version_cannot_read_is_an_ended_login(damage: Any) -> None:
    world = make_world()
    session = await world.sessions.start(make_request(), "b")
    await world.store.put(session_key(session.id), damage(session.to_record()), TTL)
    assert await world.sessions.find(session.id) is None
    with pytest.raises(SessionNotFound):
        await world.sessions.get(session.id)


async def test_scan_marks_a_login_taken_by_its_own_browser_as_same_device() -> None:
    world = make_world()
    by_qr = await world.sessions.start(make_request(), "b")
    here = await world.sessions.start(make_request(), "b")
    scanned = await world.sessions.scan(world.sessions.ticket(by_qr), "phone")
    taken = await world.sessions.scan(world.sessions.ticket(here), "phone", same_device=True)

    assert scanned is not None and not scanned.same_device
    assert taken is not None and taken.same_device
    assert (await world.sessions.get(here.id)).same_device
    assert (await world.sessions.get(by_qr.id)).same_device is False
