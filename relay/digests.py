"""The few hashes the relay needs, in one place.

- `sha256_hex`: how codes, tokens and binding secrets are kept in the store (never the values).
- `s256`: the PKCE S256 transform, BASE64URL(SHA256(ASCII(verifier))) without padding
  (RFC 7636 §4.2); also the at_hash recipe's building block (OpenID Connect Core §3.1.3.6).
- `new_verifier`: a PKCE code_verifier of 64 unreserved characters (RFC 7636 §4.1).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

CODE_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")  # RFC 7636 §4.1


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def s256(verifier: str) -> str:
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def new_verifier() -> str:
    return secrets.token_urlsafe(48)
