"""User codes: what a person reads off the device's screen and types on the phone (RFC 8628
§6.1).

Eight characters from twenty consonants, `BCDFGHJKLMNPQRSTVWXZ`: no vowels (no words, no
0/O or 1/I to confuse), case-insensitive, easy to type on a phone. 20^8 is about 2.6 * 10^10
codes (34.5 bits); guessing is held off by the `[limits] user_code` rate at /device (§5.1) and
the code's short life (`device_code_ttl`). Shown as `XXXX-XXXX`; typed any way: lowercase,
with spaces, dashes or other punctuation, in full-width letters from a Chinese keyboard.
"""

from __future__ import annotations

import secrets
import unicodedata

ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
LENGTH = 8
MAX_TYPED = 64  # characters of input read: a code with generous punctuation fits


def new_user_code() -> str:
    """A fresh code, normalised (eight letters, no dash)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise(typed: str | None) -> str | None:
    """The code `typed` stands for: letters upper-cased, everything but letters dropped
    (spaces, dashes, dots). None when it is not eight letters of the alphabet: no such code
    was ever given out, so nothing needs looking up."""
    if not typed or len(typed) > MAX_TYPED:
        return None
    # NFKC folds full-width letters (U+FF21 to U+FF3A, from an East Asian keyboard) to ASCII.
    letters = [c for c in unicodedata.normalize("NFKC", typed).upper() if c.isalpha()]
    if len(letters) != LENGTH or not all(c in ALPHABET for c in letters):
        return None
    return "".join(letters)


def shown(code: str) -> str:
    """`BCDFGHJK` as people read it: `BCDF-GHJK`."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"
