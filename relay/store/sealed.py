"""Sealed fields: who signed in, and the secrets of the trip to the provider, encrypted at rest.

A `Sealer` holds a keyring (key id -> 32-byte key) and names one key current. It seals a JSON
value to text

    v1.<kid>.<base64url(nonce || ciphertext || tag)>

with AES-256-GCM (NIST SP 800-38D): a fresh 96-bit random nonce each time, and associated data
naming the record's store key and the field, so a sealed value copied into another record or
another field does not open. Opening picks the key by `kid`: records written under a retired key
still open while new ones use the current key. Rotation: give every process the new key, then
make it current, then remove the old one once the longest TTL (access_token_ttl) has passed.

`SealedStore` wraps any Store: it seals SEALED_FIELDS on every write and opens them on every read,
and leaves the rest in clear (the `status` the Redis Lua compare-and-set reads, ids, hashes).
`None` stays `None`: an empty field tells nothing the status does not. A record that does not
open (unknown key id, failed tag, tampered or unsealed text) is unreadable: treated as absent,
with a warning that names the kind of record and the reason, never a value.

Codes, access tokens, scan tickets and cookie secrets are not sealed: the store holds only their
SHA-256 (or, for tickets, the sealed key they are computed from). Upstream access and refresh
tokens are never stored at all: the callback reads the identity with them and drops them.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from relay.digests import b64url
from relay.errors import RelayError
from relay.store.base import Record, Store

log = logging.getLogger("relay.store")

VERSION = "v1"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # 96 bits, GCM's native nonce size (SP 800-38D §8.2.2, random construction)
TAG_BYTES = 16
KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
# One encoder and decoder for every call: json.dumps with options builds a new encoder each time.
ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
DECODE = json.JSONDecoder().decode
DERIVATION_INFO = b"qr-login-relay store sealing v1"  # HKDF info: this key serves nothing else

# Top-level fields sealed in every record that has them. Everything else stays in clear: codes,
# tokens, tickets and cookies are already stored as SHA-256 hashes, never as values.
SEALED_FIELDS = frozenset(
    {
        "identity",  # sessions, codes, access tokens: who signed in (provider, subject, name...)
        "code_verifier",  # upstream trips: the PKCE verifier for the provider's token endpoint
        "nonce",  # upstream trips (ours to the provider), codes (the relying party's)
        "state",  # upstream trips: stored under its hash, so not in clear beside it either
        "ticket_key",  # sessions: the key every scan ticket of the QR is computed from
        "desktop_ip",  # sessions: who asked, shown on the phone (personal data)
        "desktop_agent",
        "request",  # sessions: the relying party's request, its state and nonce among it
        "match_code",  # sessions: the number on the screen, and the phone's three
        "match_choices",
        "sub",  # the sandbox provider's codes and tokens: the user it signed in
        "name",
        "verifier",  # the demo relying party's PKCE verifier
    }
)


class SealError(RelayError):
    """A sealed value does not open: sealed under a key id this relay does not hold, for another
    record or field, tampered with, or not sealed at all. The store treats the record as absent."""


def derive_key(secret: bytes) -> bytes:
    """The data key HKDF-SHA256 (RFC 5869) derives from `secret` (the signing key)."""
    hkdf = HKDF(algorithm=SHA256(), length=KEY_BYTES, salt=None, info=DERIVATION_INFO)
    return hkdf.derive(secret)


class Sealer:
    """Seals and opens JSON values with AES-256-GCM under a keyring. Holds key material: it has
    no repr of its keys, and its errors never quote a value."""

    def __init__(self, keys: Mapping[str, bytes], current: str) -> None:
        for kid, key in keys.items():
            if not KEY_ID.fullmatch(kid):
                raise ValueError(f'key id "{kid[:40]}" must be 1 to 32 of A-Z a-z 0-9 _ -')
            if len(key) != KEY_BYTES:
                raise ValueError(f'key "{kid}" must be {KEY_BYTES} bytes, not {len(key)}')
        if current not in keys:
            raise ValueError(f'the current key id "{current[:40]}" names no key')
        self._aeads = {kid: AESGCM(key) for kid, key in keys.items()}
        self._current = current

    @classmethod
    def random(cls, kid: str = "process") -> Sealer:
        """A key that lives and dies with this process (enough for the memory store)."""
        return cls({kid: secrets.token_bytes(KEY_BYTES)}, kid)

    @classmethod
    def derived(cls, secret: bytes, kid: str) -> Sealer:
        """A key derived from `secret` with HKDF-SHA256 (RFC 5869): every process holding the same
        secret derives the same key."""
        return cls({kid: derive_key(secret)}, kid)

    @property
    def current(self) -> str:
        """The key id new values are sealed under."""
        return self._current

    @property
    def key_ids(self) -> frozenset[str]:
        return frozenset(self._aeads)

    def __repr__(self) -> str:
        return f"Sealer(current={self._current!r}, key_ids={sorted(self._aeads)!r})"

    def seal(self, value: Any, record_key: str, field: str) -> str:
        plaintext = ENCODE(value).encode()
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._aeads[self._current].encrypt(
            nonce, plaintext, associated_data(self._current, record_key, field)
        )
        return f"{VERSION}.{self._current}.{b64url(nonce + sealed)}"

    def open(self, text: object, record_key: str, field: str) -> Any:
        """The value sealed in `text` for this record and field; SealError otherwise."""
        if not isinstance(text, str):
            raise SealError(f'field "{field}" is not sealed')
        version, _, rest = text.partition(".")
        kid, _, body = rest.partition(".")
        aead = self._aeads.get(kid)
        if version != VERSION or not body or (aead is None and not KEY_ID.fullmatch(kid)):
            raise SealError(f'field "{field}" is not a {VERSION} sealed value')
        if aead is None:
            raise SealError(f'field "{field}" is sealed under unknown key id "{kid}"')
        try:  # characters outside the alphabet are dropped: then the tag does not match
            data = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except ValueError:  # binascii.Error: a length no encoding produces
            raise SealError(f'field "{field}" is not a {VERSION} sealed value') from None
        if len(data) < NONCE_BYTES + TAG_BYTES:
            raise SealError(f'field "{field}" is too short to be sealed')
        try:
            plaintext = aead.decrypt(
                data[:NONCE_BYTES], data[NONCE_BYTES:], associated_data(kid, record_key, field)
            )
        except InvalidTag:
            raise SealError(
                f'field "{field}" does not open under key "{kid}" (tampered, or moved from '
                "another record)"
            ) from None
        return DECODE(plaintext.decode())


def associated_data(kid: str, record_key: str, field: str) -> bytes:
    """What a sealed value is bound to: version, key id, field and record key, NUL-separated.
    Only the last may hold a NUL (key ids cannot, fields must not), so each tuple has one
    encoding."""
    if "\0" in field:
        raise ValueError("a field name cannot hold NUL")
    return f"{VERSION}\0{kid}\0{field}\0{record_key}".encode()


class SealedStore:
    """A Store that seals `fields` of every record on the way in and opens them on the way out.
    `inner` is the store underneath, holding the records as written (tests read it raw)."""

    def __init__(self, inner: Store, sealer: Sealer, fields: Iterable[str] = SEALED_FIELDS) -> None:
        self.inner = inner
        self.sealer = sealer
        self.fields = frozenset(fields)
        if "status" in self.fields:
            raise ValueError("status stays in clear: the store's compare-and-set reads it")

    def _seal(self, key: str, record: Record) -> Record:
        return {
            name: self.sealer.seal(value, key, name)
            if name in self.fields and value is not None
            else value
            for name, value in record.items()
        }

    def _open(self, key: str, record: Record | None) -> Record | None:
        if record is None:
            return None
        try:
            return {
                name: self.sealer.open(value, key, name)
                if name in self.fields and value is not None
                else value
                for name, value in record.items()
            }
        except SealError as exc:
            kind = key.partition(":")[0]  # "session", "code": never the rest of the key
            log.warning("unreadable %s record, treated as absent: %s", kind, exc)
            return None

    async def create(self, key: str, record: Record, ttl: float) -> bool:
        return await self.inner.create(key, self._seal(key, record), ttl)

    async def get(self, key: str) -> Record | None:
        return self._open(key, await self.inner.get(key))

    async def put(self, key: str, record: Record, ttl: float) -> None:
        await self.inner.put(key, self._seal(key, record), ttl)

    async def transition(
        self, key: str, expected: str, record: Record, ttl: float | None = None
    ) -> bool:
        return await self.inner.transition(key, expected, self._seal(key, record), ttl)

    async def consume(self, key: str) -> Record | None:
        return self._open(key, await self.inner.consume(key))

    async def delete(self, key: str) -> None:
        await self.inner.delete(key)

    async def ping(self) -> bool:
        return await self.inner.ping()

    async def close(self) -> None:
        await self.inner.close()
