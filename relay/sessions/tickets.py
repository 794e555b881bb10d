"""Scan tickets: the secret inside the QR, replaced every `qr_rotate` seconds while a login waits.

A ticket is the session id followed by a MAC of the current period's number under a key that
only the session record holds:

    ticket = session_id (22 characters) + base64url(HMAC-SHA256(ticket_key, period)[:16])

Periods count from the session's start: period n runs from created_at + n * qr_rotate. So every
process (and every tab) computes the same QR for the same moment without writing anything, the
desktop's live stream pushes the next QR at each period's end, and a ticket from an earlier
period stops working (RFC 10027, "short-lived codes": a QR sent on to someone else goes stale
within seconds).
A ticket carries 128 bits of MAC; the store never holds a usable ticket, only the key.

An old ticket keeps working for a grace of a third of a period, at most MAX_GRACE seconds, after
the code changed: a phone's camera shows the link it read as a banner that the person then taps,
a few seconds later, and that scan must not fail because the screen moved on meanwhile (nor
because a busy process pushed the new code a little late). After that the old ticket is refused.
The next period's ticket is accepted up to SKEW seconds early, for processes whose clocks are a
little apart (one may show the next code early).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

TICKET = re.compile(r"(?P<session_id>[A-Za-z0-9_-]{22})(?P<mac>[A-Za-z0-9_-]{22})")
MAX_GRACE = 10.0  # seconds an old ticket may still scan after the QR changed
SKEW = 2.0  # seconds a next ticket may scan before its period, for clocks a little apart


def grace(qr_rotate: int) -> float:
    """How long an old ticket still scans after the code changed: a third of a period, at most
    MAX_GRACE (10 s with the default 30 s rotation)."""
    return min(MAX_GRACE, qr_rotate / 3)


def period(created_at: float, now: float, qr_rotate: int) -> int:
    """The number of the QR period `now` falls in (0 without rotation)."""
    if qr_rotate <= 0 or now <= created_at:
        return 0
    return int((now - created_at) // qr_rotate)


def period_ends_at(created_at: float, number: int, qr_rotate: int) -> float | None:
    """When period `number` ends and the next QR is due; None without rotation."""
    if qr_rotate <= 0:
        return None
    return created_at + (number + 1) * qr_rotate


def ticket_for(session_id: str, ticket_key: str, number: int) -> str:
    mac = hmac.new(ticket_key.encode(), str(number).encode(), hashlib.sha256).digest()[:16]
    return session_id + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def valid_periods(created_at: float, now: float, qr_rotate: int) -> tuple[int, ...]:
    """The periods whose tickets scan at `now`: the current one; the one before during this
    one's first `grace` seconds; the next during this one's last SKEW seconds (or less)."""
    if qr_rotate <= 0:
        return (0,)
    current = period(created_at, now, qr_rotate)
    periods = [current]
    if current > 0 and now - (created_at + current * qr_rotate) < grace(qr_rotate):
        periods.append(current - 1)
    if created_at + (current + 1) * qr_rotate - now < min(SKEW, grace(qr_rotate)):
        periods.append(current + 1)
    return tuple(periods)


def matches(ticket: str, session_id: str, ticket_key: str, periods: tuple[int, ...]) -> bool:
    """Constant-time check of `ticket` against the tickets of `periods`."""
    found = False
    for number in periods:
        found |= hmac.compare_digest(ticket, ticket_for(session_id, ticket_key, number))
    return found


def session_id_of(ticket: str) -> str | None:
    match = TICKET.fullmatch(ticket)
    return match["session_id"] if match else None
