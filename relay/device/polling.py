"""The device_code grant at /token (RFC 8628 §3.4, §3.5).

The client authenticates as for any grant (relay/oidc/token.py), and must be a kiosk client;
the device_code must have been issued to it. Every poll is recorded (records.py); then the
login's status decides:

    pending, scanned       authorization_pending; slow_down when this poll came sooner than
                           `interval` seconds after the one before, and from then on the
                           interval is 5 seconds longer (for this and every later poll)
    confirmed              completed (compare-and-set: of two polls at once, one gets the
                           tokens), and the token response of the authorization-code grant
    completed              invalid_grant: used already; the tokens it gave are revoked, as
                           for a replayed authorization code (RFC 6749 §4.1.2)
    denied, cancelled,     access_denied
    failed
    expired                expired_token (also while the record outlives the login, for
                           RECORD_GRACE seconds; after that the code is unknown: invalid_grant)
"""

from __future__ import annotations

from typing import Any

from relay.core import Relay
from relay.device.authorization import check_kiosk
from relay.device.records import grant_of, record_poll
from relay.errors import (
    AccessDenied,
    AuthorizationPending,
    ExpiredToken,
    InvalidGrant,
    InvalidTransition,
    SlowDown,
)
from relay.oidc.codes import grant_key
from relay.params import Params
from relay.sessions import LoginSession, Status
from relay.settings import ClientConfig

MAX_DEVICE_CODE = 256  # characters read of a device_code (ours are 43)


async def device_code_grant(
    relay: Relay, client: ClientConfig, params: Params
) -> tuple[str, dict[str, Any]]:
    """The device_code, and what the tokens are issued from (as an authorization code's record
    is), once its login is confirmed; otherwise the OAuth error the device is to get."""
    check_kiosk(client)
    device_code = params.require("device_code", max_chars=MAX_DEVICE_CODE)
    grant = await grant_of(relay, device_code)
    if grant is None:
        raise InvalidGrant("device_code is invalid or expired")
    if grant.client_id != client.client_id:
        raise InvalidGrant("device_code was issued to another client")
    grant, too_soon = await record_poll(relay, device_code, grant)
    session = await relay.sessions.find(grant.session_id)
    if session is None:  # the login's record went first, or no longer opens
        raise ExpiredToken("the device authorization has expired; start a new one")
    if session.status in (Status.PENDING, Status.SCANNED):
        if too_soon:
            raise SlowDown(f"polled too often; wait {grant.interval} seconds between polls")
        raise AuthorizationPending("the user has not finished signing in yet")
    if session.status is Status.CONFIRMED:
        return device_code, await completed(relay, session)
    if session.status is Status.COMPLETED:
        await revoke(relay, device_code)
        raise InvalidGrant("device_code was already used; the tokens issued from it are revoked")
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


async def revoke(relay: Relay, device_code: str) -> None:
    """A device_code used again: the access token it gave no longer works (relay/oidc/token.py
    keeps `grant:` records under the code's hash, for a device_code as for a code)."""
    issued = await relay.store.consume(grant_key(device_code))
    for key in (issued or {}).get("tokens", ()):
        await relay.store.delete(key)
