"""The login session's state machine (shared/DESIGN.md, "The login session and its states"):
every pair of statuses, legal or not, through LoginSessions.transition; and its plain record."""

from __future__ import annotations

import dataclasses
import itertools
import json

import pytest

from relay.errors import InvalidTransition
from relay.sessions import FINAL, TRANSITIONS, LoginSession, Status
from relay.sessions.service import event_of
from tests.sessions.helpers import IDENTITY, START, iso_z, make_request, make_world, parse_iso_z

# The diagram in shared/DESIGN.md, written out by hand: a change to either side must be deliberate.
DIAGRAM: dict[str, set[str]] = {
    "pending": {"scanned", "expired", "cancelled", "denied", "failed"},
    "scanned": {"confirmed", "expired", "cancelled", "denied", "failed"},
    "confirmed": {"completed", "expired"},
    "completed": set(),
    "expired": set(),
    "cancelled": set(),
    "denied": set(),
    "failed": set(),
}
LEGAL = [(a, b) for a, targets in DIAGRAM.items() for b in sorted(targets)]
ILLEGAL = [
    (a, b) for a, b in itertools.product(DIAGRAM, DIAGRAM) if b not in DIAGRAM[a]
]  # includes every status to itself


def test_status_values_are_the_eight_of_the_diagram() -> None:
    assert [s.value for s in Status] == list(DIAGRAM)


def test_transitions_table_equals_the_design_diagram() -> None:
    assert set(TRANSITIONS) == set(Status)
    assert {s.value: {t.value for t in targets} for s, targets in TRANSITIONS.items()} == DIAGRAM


def test_final_statuses_are_those_without_a_way_out() -> None:
    assert {s.value for s in FINAL} == {"completed", "expired", "cancelled", "denied", "failed"}


def test_transition_pairs_cover_all_64() -> None:
    assert len(LEGAL) == 12
    assert len(LEGAL) + len(ILLEGAL) == 64


def changes_for(target: str) -> dict[str, object]:
    if target == "failed":
        return {"reason": "provider_unreachable", "message": "The provider did not answer."}
    if target == "denied":
        return {"reason": "access_denied", "message": "You said no."}
    if target == "confirmed":
        return {"identity": IDENTITY, "auth_time": START + 5}
    return {}


@pytest.mark.parametrize(("source", "target"), LEGAL, ids=[f"{a}->{b}" for a, b in LEGAL])
async def test_transition_legal_moves_and_publishes_one_event(source: str, target: str) -> None:
    world = make_world()
    session = await world.sessions.start(make_request(), "binding-hash")
    session = await world.force(session, Status(source))
    world.clock.advance(7)
    changes = changes_for(target)

    async with world.sessions.subscribe(session.id) as subscription:
        moved = await world.sessions.transition(session, Status(target), **changes)
        live = await subscription.get()

    assert moved.status is Status(target)
    assert moved.updated_at == START + 7
    for name, value in changes.items():
        assert getattr(moved, name) == value
    assert await world.stored(session) == moved.to_record()

    expected = {"status": target, "at": iso_z(START + 7)}
    if target in ("failed", "denied"):
        expected |= {"reason": changes["reason"], "message": changes["message"]}
    assert world.published_for(session) == [expected]
    assert live == expected
    assert expected["at"].endswith("Z")
    assert parse_iso_z(expected["at"]) == START + 7


@pytest.mark.parametrize(("source", "target"), ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])
async def test_transition_illegal_raises_and_changes_nothing(source: str, target: str) -> None:
    world = make_world()
    session = await world.sessions.start(make_request(), "binding-hash")
    session = await world.force(session, Status(source))
    before = await world.stored(session)
    world.clock.advance(7)

    with pytest.raises(InvalidTransition) as caught:
        await world.sessions.transition(session, Status(target), **changes_for(target))

    message = str(caught.value)
    assert f'from "{source}" to "{target}"' in message
    assert "no such transition" in message
    assert session.id[:8] in message
    assert caught.value.current == source
    assert caught.value.target == target
    assert await world.stored(session) == before
    assert world.published_for(session) == []


def test_event_of_failed_without_reason_still_carries_the_keys() -> None:
    session = LoginSession(
        id="s" * 22,
        request=make_request(),
        status=Status.FAILED,
        created_at=START,
        updated_at=START,
        expires_at=START + 180,
        binding_hash="b",
        ticket_key="t",
    )
    assert event_of(session) == {
        "status": "failed",
        "at": "2023-11-14T22:13:20.250000Z",
        "reason": None,
        "message": None,
    }


def test_event_of_whole_second_is_iso_8601_with_z() -> None:
    session = LoginSession(
        id="s" * 22,
        request=make_request(),
        status=Status.SCANNED,
        created_at=0.0,
        updated_at=0.0,
        expires_at=180.0,
        binding_hash="b",
        ticket_key="t",
    )
    assert event_of(session) == {"status": "scanned", "at": "1970-01-01T00:00:00Z"}


def full_session() -> LoginSession:
    return LoginSession(
        id="sess-1",
        request=make_request(),
        status=Status.CONFIRMED,
        created_at=START,
        updated_at=START + 3,
        expires_at=START + 180,
        binding_hash="bh",
        ticket_key="tk",
        phone_hash="ph",
        identity=IDENTITY,
        auth_time=START + 2,
        reason=None,
        message=None,
    )


def test_login_session_record_round_trips_through_json() -> None:
    session = full_session()
    record = session.to_record()
    back = LoginSession.from_record(json.loads(json.dumps(record)))
    assert back == session
    assert back.identity == IDENTITY
    assert back.identity is not None and back.identity.sub == "sandbox:u-42"
    assert back.request.scope == ("openid", "profile")
    assert back.status is Status.CONFIRMED


def test_login_session_record_is_plain_json_data() -> None:
    record = full_session().to_record()
    assert json.loads(json.dumps(record)) == record  # no tuples, enums or objects inside
    assert record["status"] == "confirmed"
    assert record["request"]["scope"] == ["openid", "profile"]
    assert record["identity"] == {
        "provider": "sandbox",
        "subject": "u-42",
        "name": "Ada Lovelace",
        "picture": "https://img.example/ada.png",
        "preferred_username": "ada",
    }


def test_login_session_record_round_trips_without_identity() -> None:
    session = LoginSession(
        id="sess-2",
        request=make_request(state=None, nonce=None, code_challenge=None),
        status=Status.FAILED,
        created_at=START,
        updated_at=START,
        expires_at=START + 180,
        binding_hash="bh",
        ticket_key="tk",
        reason="invalid_code",
        message="The code was refused.",
    )
    record = json.loads(json.dumps(session.to_record()))
    assert record["identity"] is None
    assert LoginSession.from_record(record) == session


def test_login_session_final_follows_the_table() -> None:
    session = full_session()
    for status in Status:
        moved = LoginSession.from_record({**session.to_record(), "status": status.value})
        assert moved.final is (not DIAGRAM[status.value])


def test_login_session_record_keeps_the_same_device_mark() -> None:
    session = dataclasses.replace(full_session(), same_device=True)
    record = json.loads(json.dumps(session.to_record()))
    assert record["same_device"] is True
    assert LoginSession.from_record(record) == session


def test_login_session_record_written_before_the_same_device_mark_reads_as_a_qr_login() -> None:
    record = full_session().to_record()
    del record["same_device"]  # a record of an earlier version, still in the store
    assert LoginSession.from_record(record).same_device is False
