"""The RS256 signing key, the JWKS and id_token signing (joserfc)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey

log = logging.getLogger("relay.keys")


class SigningKey:
    def __init__(self, key: RSAKey) -> None:
        self._key = key
        self.kid = key.thumbprint()  # RFC 7638: stable for the same key across processes

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(RSAKey.generate_key(2048, private=True))

    @classmethod
    def from_pem(cls, pem: str | bytes) -> SigningKey:
        key = RSAKey.import_key(pem)
        if not key.is_private:
            raise ValueError("the signing key must be an RSA private key")
        return cls(key)

    @classmethod
    def load_or_create(cls, path: str | Path) -> SigningKey:
        """Read a PEM private key, or create one there (mode 0600) with a loud warning."""
        path = Path(path)
        if path.exists():
            return cls.from_pem(path.read_bytes())
        key = RSAKey.generate_key(2048, private=True)
        # Write to a private temporary file, then link it into place: of several processes
        # starting at once exactly one wins, and the others read the complete winner.
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(key.as_pem(private=True))
        try:
            os.link(temporary, path)
        except FileExistsError:
            return cls.from_pem(path.read_bytes())
        finally:
            temporary.unlink()
        log.warning(
            "GENERATED A NEW SIGNING KEY at %s. Keep this file: every process of this relay must "
            "share it, and replacing it invalidates id_tokens already issued.",
            path,
        )
        return cls(key)

    def private_der(self) -> bytes:
        """The private key in PKCS#8 DER: one encoding per key, whichever PEM it was read from
        (the derived data key of relay/core.py is made from it)."""
        der: bytes = self._key.as_der(private=True)
        return der

    def jwks(self) -> dict[str, Any]:
        public = self._key.as_dict(private=False)
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode({"alg": "RS256", "kid": self.kid, "typ": "JWT"}, claims, self._key)
