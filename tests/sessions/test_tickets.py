"""The rotating QR: a new scan ticket every qr_rotate seconds; an old one stops working."""

from __future__ import annotations

from relay.sessions import Status
from relay.sessions.tickets import SKEW, TICKET, grace, ticket_for
from tests.sessions.helpers import START, TTL, make_request, make_world

ROTATE = 30
GRACE = grace(ROTATE)  # 10 s


async def test_the_ticket_changes_every_period_and_is_the_same_within_one() -> None:
    world = make_world(qr_rotate=ROTATE)
    session = await world.sessions.start(make_request(), "b")
    first = world.sessions.ticket(session)
    assert world.sessions.next_ticket_at(session) == START + ROTATE
    world.clock.advance(ROTATE - 1)
    assert world.sessions.ticket(session) == first  # every tab and process shows the same code
    world.clock.advance(1)
    second = world.sessions.ticket(session)
    assert second != first
    assert world.sessions.next_ticket_at(session) == START + 2 * ROTATE
    assert TICKET.fullmatch(second) and second.startswith(session.id)


async def test_an_old_ticket_stops_working_once_its_grace_is_over() -> None:
    world = make_world(qr_rotate=ROTATE)
    session = await world.sessions.start(make_request(), "b")
    old = world.sessions.ticket(session)
    world.clock.advance(ROTATE + GRACE)
    assert await world.sessions.scan(old, "phone") is None
    assert (await world.sessions.get(session.id)).status is Status.PENDING  # nothing changed
    assert world.published == []
    assert await world.sessions.scan(world.sessions.ticket(session), "phone") is not None


async def test_a_scan_in_flight_as_the_code_changes_still_counts() -> None:
    world = make_world(qr_rotate=ROTATE)
    session = await world.sessions.start(make_request(), "b")
    old = world.sessions.ticket(session)
    world.clock.advance(ROTATE + GRACE / 2)
    scanned = await world.sessions.scan(old, "phone")
    assert scanned is not None and scanned.status is Status.SCANNED


async def test_a_future_ticket_does_not_scan_yet() -> None:
    world = make_world(qr_rotate=ROTATE)
    session = await world.sessions.start(make_request(), "b")
    ahead = ticket_for(session.id, session.ticket_key, 1)
    assert await world.sessions.scan(ahead, "phone") is None


async def test_the_next_ticket_scans_just_before_its_period_for_clocks_a_little_ahead() -> None:
    """A process whose clock runs a second ahead pushes the next QR a second early; a process
    behind it accepts that code within SKEW of its period, and not before."""
    world = make_world(qr_rotate=ROTATE)
    session = await world.sessions.start(make_request(), "b")
    ahead = ticket_for(session.id, session.ticket_key, 1)
    world.clock.advance(ROTATE - SKEW - 0.5)
    assert await world.sessions.ticket_holder(ahead) is None
    world.clock.advance(1)
    assert await world.sessions.scan(ahead, "phone") is not None


async def test_without_rotation_one_ticket_serves_the_whole_login() -> None:
    world = make_world(qr_rotate=0)
    session = await world.sessions.start(make_request(), "b")
    ticket = world.sessions.ticket(session)
    assert world.sessions.next_ticket_at(session) is None
    world.clock.advance(TTL - 1)
    assert world.sessions.ticket(session) == ticket
    assert await world.sessions.scan(ticket, "phone") is not None


async def test_a_ticket_is_bound_to_its_sessions_key() -> None:
    world = make_world(qr_rotate=ROTATE)
    one = await world.sessions.start(make_request(), "b1")
    other = await world.sessions.start(make_request(), "b2")
    # Another session's MAC under this session's id: the key differs, so it does not scan.
    forged = one.id + world.sessions.ticket(other)[len(other.id) :]
    assert await world.sessions.scan(forged, "phone") is None
    for ticket in ("", "x" * 44, one.id, one.id + "A" * 22, world.sessions.ticket(one) + "A"):
        assert await world.sessions.scan(ticket, "phone") is None
    assert (await world.sessions.get(one.id)).status is Status.PENDING


async def test_a_ticket_scans_once() -> None:
    world = make_world(qr_rotate=ROTATE)
    session = await world.sessions.start(make_request(), "b")
    ticket = world.sessions.ticket(session)
    assert await world.sessions.scan(ticket, "phone-1") is not None
    assert await world.sessions.scan(ticket, "phone-2") is None
    assert (await world.sessions.get(session.id)).phone_hash == "phone-1"
    holder = await world.sessions.ticket_holder(ticket)
    assert holder is not None and holder.status is Status.SCANNED  # the page can say "used"
