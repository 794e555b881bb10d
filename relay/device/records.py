"""The store records of a device login, beside its LoginSession.

    device:{sha256(device_code)}        {session_id, client_id, interval, last_poll, polls,
                                         completed_at, status}
    user_code:{sha256(user_code)}       {session_id}
    device_grant:{sha256(device_code)}  {tokens}: what the device_code gave, written when its
                                        tokens are issued (relay/oidc/token.py), so that a
                                        replay can revoke them

The first two are created with `create` (SET NX): a user_code that another waiting login holds
is drawn again. The store holds neither code, only its SHA-256, as for authorization codes and
tokens. `device_grant:` is not the authorization codes' `grant:` (relay/oidc/codes.py): a
device_code sent as a `code` finds nothing there, so it cannot revoke what a device was given.

The device record lives as long as the session record (`device_code_ttl` plus the sessions'
RECORD_GRACE), so a device polling after the deadline is told expired_token rather than that
its code is unknown. The user_code record lives `device_code_ttl` only: once the login can no
longer be joined, the code goes back to the pool.

Each poll is recorded with the store's compare-and-set, on `status` (`polled-N`, N the polls
so far; every write adds a poll, so no two writes leave the same status). Of two polls at the
same moment one records itself; the other finds the record moved, reads it again and records
itself after the first: it is then too soon after it, and is told slow_down with the interval
grown, as any poll too soon is. Only a poll that loses POLL_RACES times in a row is not
recorded: it changed nothing, and the device is told to keep polling (relay/device/polling.py).

A poll that finds the login confirmed records `completed_at` (its own time) in the same write,
before it moves the login to completed: whoever later sees the login completed also finds when,
and can tell the same device asking twice from a replay.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, replace
from typing import Any

from relay.core import Relay
from relay.device import SLOW_DOWN_STEP
from relay.device.user_codes import new_user_code
from relay.digests import sha256_hex
from relay.errors import RelayError
from relay.sessions import LoginSession
from relay.sessions.service import RECORD_GRACE

log = logging.getLogger("relay.device")

USER_CODE_DRAWS = 16  # a collision needs thousands of waiting logins; sixteen in a row, never
POLL_RACES = 4  # polls lost to a concurrent one before this one gives up recording itself


def device_key(device_code: str) -> str:
    return f"device:{sha256_hex(device_code)}"


def device_grant_key(device_code: str) -> str:
    """Where the tokens a device_code gave are remembered (relay/oidc/token.py issue_tokens)."""
    return f"device_grant:{sha256_hex(device_code)}"


def user_code_key(user_code: str) -> str:
    """`user_code` normalised (relay/device/user_codes.py)."""
    return f"user_code:{sha256_hex(user_code)}"


@dataclass(frozen=True)
class DeviceGrant:
    """What the relay knows of a device_code: its login, its client, and its polling."""

    session_id: str
    client_id: str
    interval: int  # seconds the device must wait between polls; grows at each slow_down
    last_poll: float | None = None
    polls: int = 0
    completed_at: float | None = None  # when a poll found the login confirmed, to complete it

    @property
    def status(self) -> str:
        """What the compare-and-set compares: changed by every write, as each adds a poll."""
        return f"polled-{self.polls}"

    def to_record(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "client_id": self.client_id,
            "interval": self.interval,
            "last_poll": self.last_poll,
            "polls": self.polls,
            "completed_at": self.completed_at,
            "status": self.status,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> DeviceGrant:
        completed_at = record.get("completed_at")  # absent from records made before it was
        return cls(
            session_id=record["session_id"],
            client_id=record["client_id"],
            interval=int(record["interval"]),
            last_poll=record["last_poll"],
            polls=int(record["polls"]),
            completed_at=None if completed_at is None else float(completed_at),
        )


async def create_records(relay: Relay, session: LoginSession, ttl: float) -> tuple[str, str]:
    """The device_code and the user_code (normalised) of `session`, stored."""
    device_code = secrets.token_urlsafe(32)  # 256 bits (RFC 8628 §5.2 asks for enough)
    grant = DeviceGrant(
        session_id=session.id,
        client_id=session.request.client_id,
        interval=relay.settings.device_poll_interval,
    )
    if not await relay.store.create(device_key(device_code), grant.to_record(), ttl + RECORD_GRACE):
        raise RelayError("a fresh device_code is already in the store")  # 256 random bits
    for _ in range(USER_CODE_DRAWS):
        user_code = new_user_code()
        if await relay.store.create(user_code_key(user_code), {"session_id": session.id}, ttl):
            return device_code, user_code
    raise RelayError(f"no free user_code in {USER_CODE_DRAWS} draws")


async def grant_of(relay: Relay, device_code: str) -> DeviceGrant | None:
    record = await relay.store.get(device_key(device_code))
    if record is None:
        return None
    try:
        return DeviceGrant.from_record(record)
    except (KeyError, TypeError, ValueError) as exc:  # another version's record, or damaged
        log.warning("unreadable device record, treated as absent: %r", exc)
        return None


async def record_poll(
    relay: Relay, device_code: str, grant: DeviceGrant, *, completing: bool = False
) -> tuple[DeviceGrant, bool] | None:
    """Note a poll now (and, `completing`, that it completes the login now); the grant as it now
    is, and whether the poll came sooner than the interval allows (then the interval has grown
    by SLOW_DOWN_STEP, RFC 8628 §3.5). None when the poll could not be recorded: the record is
    gone, or POLL_RACES other polls recorded themselves first."""
    key = device_key(device_code)
    for _ in range(POLL_RACES):
        now = relay.sessions.now()
        too_soon = grant.last_poll is not None and now - grant.last_poll < grant.interval
        polled = replace(
            grant,
            last_poll=now,
            polls=grant.polls + 1,
            interval=grant.interval + SLOW_DOWN_STEP if too_soon else grant.interval,
            # The first poll to complete keeps its time: a later one at the same moment (which
            # will lose the compare-and-set) must not move it.
            completed_at=(grant.completed_at or now) if completing else grant.completed_at,
        )
        if await relay.store.transition(key, grant.status, polled.to_record()):
            return polled, too_soon
        # Another poll recorded itself meanwhile: read it, and record this one after it (too
        # soon after it, so with the interval grown).
        latest = await grant_of(relay, device_code)
        if latest is None:
            return None
        grant = latest
    return None


async def login_of_user_code(relay: Relay, user_code: str) -> LoginSession | None:
    """The login a (normalised) user_code belongs to, whatever its status; None when no
    waiting login has that code."""
    record = await relay.store.get(user_code_key(user_code))
    if record is None or not isinstance(record.get("session_id"), str):
        return None
    return await relay.sessions.find(record["session_id"])
