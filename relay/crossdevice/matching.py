"""Code matching (per client `match_code = true`; RFC 10027, "user code matching").

The desktop shows a two-digit number; the phone offers three and continues only on the one the
screen shows. Someone who scans a QR that was sent to them (by mail, on a poster, from a phishing
page) does not see that screen, so two times in three a blind guess fails, and a wrong pick ends
the login for good (denied): the attacker cannot try again on the same QR.
"""

from __future__ import annotations

import secrets

CHOICES = 3


def new_match() -> tuple[int, tuple[int, ...]]:
    """The number to show on the screen and the numbers to offer on the phone, in random order.
    Chosen once per login and stored with it, so a reload of the phone page offers the same
    three (new decoys on each reload would give the right one away)."""
    numbers: list[int] = []
    while len(numbers) < CHOICES:
        candidate = 10 + secrets.randbelow(90)
        if candidate not in numbers:
            numbers.append(candidate)
    code = numbers[0]
    secrets.SystemRandom().shuffle(numbers)
    return code, tuple(numbers)
