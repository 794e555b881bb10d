"""Relay authorization codes and access tokens, kept in the store by their SHA-256.

A code is issued once per completed login, lives `code_ttl` seconds (60 by default) and is
consumed atomically at the token endpoint. After it is redeemed a `grant:` record remembers which
access tokens came from it, so a replayed code revokes them (RFC 6749 §4.1.2, RFC 9700 §4.5).
Only codes: what a device_code gave is under `device_grant:` (relay/device/records.py), so a
device_code sent as a code meets no record here and revokes nothing; `revoke_issued` serves both.
The store never holds a usable code or token, only hashes of them.
"""

from __future__ import annotations

import secrets
from typing import Any

from relay.core import Relay
from relay.digests import sha256_hex
from relay.sessions import LoginSession


def code_key(code: str) -> str:
    return f"code:{sha256_hex(code)}"


def grant_key(code: str) -> str:
    return f"grant:{sha256_hex(code)}"


def token_key(access_token: str) -> str:
    return f"token:{sha256_hex(access_token)}"


async def revoke_issued(relay: Relay, issued_key: str) -> bool:
    """A code or device_code replayed: the access tokens remembered under `issued_key` (grant_key
    or device_grant_key, written by relay/oidc/token.py issue_tokens) no longer work. Consumed,
    so of two replays at once only one finds them. Whether anything had been issued there."""
    issued = await relay.store.consume(issued_key)
    if issued is None:
        return False
    for key in issued.get("tokens", ()):
        await relay.store.delete(key)
    return True


async def issue_code(relay: Relay, session: LoginSession) -> str:
    """The code for a completed session, bound to its client, redirect_uri and PKCE challenge."""
    if session.identity is None:
        raise ValueError("a session without an identity cannot get a code")
    request = session.request
    code = secrets.token_urlsafe(32)
    record: dict[str, Any] = {
        "client_id": request.client_id,
        "redirect_uri": request.redirect_uri,
        "redirect_uri_given": request.redirect_uri_given,
        "code_challenge": request.code_challenge,
        "nonce": request.nonce,
        "scope": list(request.scope),
        "identity": session.identity.to_record(),
        "auth_time": session.auth_time,
        "session_id": session.id,
    }
    await relay.store.create(code_key(code), record, relay.settings.code_ttl)
    return code
