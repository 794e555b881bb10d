"""The device_code grant at /token (RFC 8628 §3.4, §3.5).

The client authenticates as for any grant (relay/oidc/token.py), and must be a kiosk client;
the device_code must have been issued to it. Every poll is recorded (records.py); then the
login's status decides:

    pending, scanned       authorization_pending; slow_down when this poll came sooner than
                           `interval` seconds after the one before (also when it came at the
                           same moment as another), and from then on the interval is 5 seconds
                           longer (for this and every later poll)
    confirmed              completed (compare-and-set: of two polls at once, one gets the
                           tokens, the other invalid_grant), and the token response of the
                           authorization-code grant
    completed              invalid_grant: used already. A poll at the same moment as the
                           one that completed (within SAME_MOMENT seconds: the device asking
                           twice at once) leaves the tokens alone, since the other answer
                           carried them; any later one is taken as a replay (a device_code
                           copied off the device, or a retry of an answer that was lost, whose
                           tokens nobody holds) and the tokens it gave are revoked, as for a
                           replayed authorization code (RFC 6749 §4.1.2)
    denied, cancelled,     access_denied
    failed
    expired                expired_token (also while the record outlives the login, for
                           RECORD_GRACE seconds; after that the code is unknown: invalid_grant)

A poll that could not be recorded (POLL_RACES other polls of the same device_code recorded
themselves first) changed nothing, whatever the status: authorization_pending, poll again.
"""

from __future__ import annotations

from typing import Any, NoReturn

from relay.core import Relay
from relay.device.authorization import check_kiosk
from relay.device.records import DeviceGrant, device_grant_key, grant_of, record_poll
from relay.errors import (
    AccessDenied,
    AuthorizationPending,
    ExpiredToken,
    InvalidGrant,
    InvalidTransition,
    SlowDown,
)
from relay.oidc.codes import revoke_issued
from relay.params import Params
from relay.sessions import LoginSession, Status
from relay.settings import ClientConfig

MAX_DEVICE_CODE = 256  # characters read of a device_code (ours are 43)
# Seconds after the completing poll in which another poll is taken for the same device asking
# twice at once (two processes, Redis round trips), not for a replay.
SAME_MOMENT = 1.0


async def device_code_grant(
    relay: Relay, client: ClientConfig, params: Params
) -> tuple[str, dict[str, Any]]:
    """Where what the device_code gives is remembered (device_grant_key), and what the tokens
    are issued from (as an authorization code's record is), once its login is confirmed;
    otherwise the OAuth error the device is to get."""
    check_kiosk(client)
    device_code = params.require("device_code", max_chars=MAX_DEVICE_CODE)
    grant = await grant_of(relay, device_code)
    if grant is None:
        raise InvalidGrant("device_code is invalid or expired")
    if grant.client_id != client.client_id:
        raise InvalidGrant("device_code was issued to another client")
    session = await relay.sessions.find(grant.session_id)
    if session is None:  # the login's record went first, or no longer opens
        raise ExpiredToken("the device authorization has expired; start a new one")
    confirmed = session.status is Status.CONFIRMED
    polled = await record_poll(relay, device_code, grant, completing=confirmed)
    if polled is None:
        raise AuthorizationPending("other polls of this device_code came at the same moment")
    grant, too_soon = polled
    if session.status in (Status.PENDING, Status.SCANNED):
        if too_soon:
            raise SlowDown(f"polled too often; wait {grant.interval} seconds between polls")
        raise AuthorizationPending("the user has not finished signing in yet")
    if confirmed:
        return device_grant_key(device_code), await completed(relay, session)
    if session.status is Status.COMPLETED:
        await used_again(relay, device_code, grant)
    if session.status is Status.EXPIRED:
        raise ExpiredToken("the device authorization has expired; start a new one")
    raise AccessDenied(session.message or f"the sign-in was {session.status.value}")


async def completed(relay: Relay, session: LoginSession) -> dict[str, Any]:
    """confirmed -> completed, once; the record the tokens are made from."""
    try:
        session = await relay.sessions.transition(session, Status.COMPLETED)
    except InvalidTransition:
        latest = await relay.sessions.find(session.id)
        if latest is None or latest.status is Status.EXPIRED:  # approved too late
            raise ExpiredToken("the device authorization has expired; start a new one") from None
        # Another poll of this device_code, at the same moment, got the tokens; this one does
        # not revoke them.
        raise InvalidGrant("device_code was already used") from None
    if session.identity is None:
        raise InvalidGrant("the device authorization has no signed-in user")
    return {
        "client_id": session.request.client_id,
        "scope": list(session.request.scope),
        "identity": session.identity.to_record(),
        "auth_time": session.auth_time,
        "nonce": None,  # the device grant has none (RFC 8628 has no nonce parameter)
    }


async def used_again(relay: Relay, device_code: str, grant: DeviceGrant) -> NoReturn:
    """A poll of a device_code whose login is completed. At the same moment as the poll that
    completed it, it is the device asking twice at once: the other answer carried the tokens,
    which must keep working. Later, it is a replay (a device_code copied from the device, a
    thief's poll answered before the device's) or a retry of an answer that was lost on the way,
    whose tokens nobody holds: the tokens are revoked (relay/oidc/token.py keeps what a
    device_code gave under device_grant_key, apart from the codes' `grant:`). `grant` is as this
    poll recorded it, so `last_poll` is now."""
    assert grant.last_poll is not None  # record_poll set it
    if (
        grant.completed_at is not None  # else completed before completed_at was recorded
        and grant.last_poll - grant.completed_at < SAME_MOMENT
    ):
        raise InvalidGrant("device_code was already used")
    await revoke_issued(relay, device_grant_key(device_code))
    raise InvalidGrant("device_code was already used; the tokens issued from it are revoked")
