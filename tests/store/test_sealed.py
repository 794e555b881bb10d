"""Sealed fields (relay/store/sealed.py): the Sealer's format, binding and key rotation, and the
SealedStore over both back-ends: the Store contract still holds, sealed fields never reach the
back-end in clear, and a record that does not open is absent, with a warning, never an error."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from redis.asyncio import Redis

from relay.core import store_sealer
from relay.errors import StoreUnavailable
from relay.oidc.keys import SigningKey
from relay.settings import EncryptionConfig, Settings
from relay.store import MemoryStore, Store
from relay.store.redis import RedisStore
from relay.store.sealed import SEALED_FIELDS, SealedStore, Sealer, SealError
from tests.store.contract import StoreContract, StoreHarness
from tests.store.test_memory import FakeClock

OLD, NEW = secrets.token_bytes(32), secrets.token_bytes(32)
IDENTITY = {
    "provider": "wechat",
    "subject": "oQz3-subject-7f2c",
    "name": "Zhang Wěi",
    "picture": "https://thirdwx.qlogo.cn/avatar/132",
    "preferred_username": "zhangwei88",
}


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- Sealer ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [IDENTITY, "a-ticket-key", ["x", 1, None], 42, "héllo ✓"])
def test_sealer_round_trip(value: Any) -> None:
    sealer = Sealer({"k1": OLD}, "k1")
    sealed = sealer.seal(value, "session:abc", "identity")
    assert sealer.open(sealed, "session:abc", "identity") == value


def test_sealer_format_is_aes_gcm_with_the_documented_layout() -> None:
    """v1.<kid>.<base64url(nonce || ciphertext || tag)>, the associated data version, kid, field
    and record key joined by NUL: what an operator's own tool would need to read one."""
    sealed = Sealer({"2026-11": OLD}, "2026-11").seal(IDENTITY, "code:ab12", "identity")
    version, kid, body = sealed.split(".")
    assert (version, kid) == ("v1", "2026-11")
    data = unb64url(body)
    aad = b"v1\x002026-11\x00identity\x00code:ab12"
    plaintext = AESGCM(OLD).decrypt(data[:12], data[12:], aad)
    assert json.loads(plaintext) == IDENTITY
    assert "Zhang" not in sealed and "oQz3" not in sealed


def test_sealer_uses_a_fresh_nonce_each_time() -> None:
    sealer = Sealer({"k1": OLD}, "k1")
    sealed = [sealer.seal(IDENTITY, "token:x", "identity") for _ in range(200)]
    nonces = {unb64url(text.split(".")[2])[:12] for text in sealed}
    assert len(nonces) == 200


@pytest.mark.parametrize(
    ("key", "field"), [("session:other", "identity"), ("session:abc", "nonce")]
)
def test_sealer_value_moved_to_another_record_or_field_does_not_open(key: str, field: str) -> None:
    sealer = Sealer({"k1": OLD}, "k1")
    sealed = sealer.seal(IDENTITY, "session:abc", "identity")
    with pytest.raises(SealError, match="does not open"):
        sealer.open(sealed, key, field)


def test_sealer_rotation_opens_old_values_and_seals_new_ones_under_the_current_key() -> None:
    before = Sealer({"2026-05": OLD}, "2026-05")
    written_before = before.seal(IDENTITY, "token:x", "identity")
    after = Sealer({"2026-05": OLD, "2026-11": NEW}, "2026-11")
    assert after.open(written_before, "token:x", "identity") == IDENTITY
    written_after = after.seal(IDENTITY, "token:y", "identity")
    assert written_after.startswith("v1.2026-11.")
    retired = Sealer({"2026-11": NEW}, "2026-11")  # the old key removed after the longest TTL
    assert retired.open(written_after, "token:y", "identity") == IDENTITY
    with pytest.raises(SealError, match='unknown key id "2026-05"'):
        retired.open(written_before, "token:x", "identity")


def flip_last(text: str) -> str:
    """One bit of the tag's last byte flipped (decoded and encoded again: the last base64url
    character may carry bits that decoding ignores)."""
    head, body = text.rsplit(".", 1)
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[-1] ^= 1
    return f"{head}.{base64.urlsafe_b64encode(bytes(raw)).rstrip(b'=').decode()}"


@pytest.mark.parametrize(
    "mangle",
    [
        flip_last,  # the tag
        lambda s: s[:-10],  # truncated
        lambda s: "v2" + s[2:],  # another version
        lambda s: s.replace(".k1.", ".k!1."),  # a key id outside the alphabet
        lambda s: s.split(".")[0] + ".k1.",  # no body
        lambda s: s + "*",  # not base64url
        lambda s: "Zhang Wěi",  # written in clear
    ],
)
def test_sealer_tampered_or_unsealed_text_raises_seal_error(mangle: Any) -> None:
    sealer = Sealer({"k1": OLD}, "k1")
    sealed = sealer.seal(IDENTITY, "session:abc", "identity")
    with pytest.raises(SealError) as raised:
        sealer.open(mangle(sealed), "session:abc", "identity")
    assert "Zhang" not in str(raised.value)


def test_sealer_refuses_a_clear_value_of_another_type() -> None:
    with pytest.raises(SealError, match='field "identity" is not sealed'):
        Sealer({"k1": OLD}, "k1").open(IDENTITY, "session:abc", "identity")


@pytest.mark.parametrize(
    ("keys", "current", "problem"),
    [
        ({"k1": b"short"}, "k1", "must be 32 bytes"),
        ({"bad kid": OLD}, "bad kid", "key id"),
        ({"k" * 33: OLD}, "k" * 33, "key id"),
        ({"k1": OLD}, "k2", "names no key"),
    ],
)
def test_sealer_refuses_a_bad_keyring(keys: dict[str, bytes], current: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Sealer(keys, current)


def test_sealer_repr_shows_key_ids_and_no_key() -> None:
    shown = repr(Sealer({"k1": OLD, "k2": NEW}, "k2"))
    assert shown == "Sealer(current='k2', key_ids=['k1', 'k2'])"


def test_sealer_derived_keys_agree_for_one_secret_only() -> None:
    secret = secrets.token_bytes(64)
    sealed = Sealer.derived(secret, "sk-1").seal(IDENTITY, "code:c", "identity")
    assert Sealer.derived(secret, "sk-1").open(sealed, "code:c", "identity") == IDENTITY
    with pytest.raises(SealError, match="does not open"):
        Sealer.derived(secrets.token_bytes(64), "sk-1").open(sealed, "code:c", "identity")


def test_sealer_random_keys_differ_per_process() -> None:
    sealed = Sealer.random().seal(IDENTITY, "code:c", "identity")
    with pytest.raises(SealError):
        Sealer.random().open(sealed, "code:c", "identity")


# --- which key build_relay uses ---------------------------------------------------------------


def test_store_sealer_uses_the_configured_keys(signing_key: SigningKey) -> None:
    encryption = EncryptionConfig(current="2026-11", keys={"2026-05": OLD, "2026-11": NEW})
    settings = Settings(issuer="https://login.example.com", encryption=encryption)
    sealer = store_sealer(settings, signing_key)
    derived = f"sk-{signing_key.kid[:16]}"  # still read: see the next test
    assert (sealer.current, sealer.key_ids) == ("2026-11", {"2026-05", "2026-11", derived})
    sealed = sealer.seal(IDENTITY, "code:c", "identity")
    assert Sealer({"2026-11": NEW}, "2026-11").open(sealed, "code:c", "identity") == IDENTITY


def test_store_sealer_moving_to_configured_keys_still_opens_what_the_derived_key_sealed(
    signing_key: SigningKey,
) -> None:
    """A Redis relay that ran without [encryption] gets keys configured: the records written
    before (logins in progress, codes, access tokens) still open; new ones use the new key."""
    redis = "redis://redis.internal:6379/0"
    before = store_sealer(Settings(issuer="https://login.example.com", store=redis), signing_key)
    written = before.seal(IDENTITY, "token:t", "identity")
    encryption = EncryptionConfig(current="2026-11", keys={"2026-11": NEW})
    after = store_sealer(
        Settings(issuer="https://login.example.com", store=redis, encryption=encryption),
        signing_key,
    )
    assert after.open(written, "token:t", "identity") == IDENTITY
    assert after.seal(IDENTITY, "token:u", "identity").startswith("v1.2026-11.")


def test_store_sealer_without_keys_on_memory_is_random(signing_key: SigningKey) -> None:
    settings = Settings(issuer="https://login.example.com")
    first, second = store_sealer(settings, signing_key), store_sealer(settings, signing_key)
    assert first.current == "process"
    with pytest.raises(SealError):
        second.open(first.seal("v", "code:c", "nonce"), "code:c", "nonce")


def test_store_sealer_without_keys_on_redis_derives_from_the_signing_key(
    signing_key: SigningKey,
) -> None:
    """Two processes (two builds) sharing the signing key, as on one Redis: each opens what the
    other sealed. Another signing key does not."""
    settings = Settings(issuer="https://login.example.com", store="redis://redis.internal:6379/0")
    first, second = store_sealer(settings, signing_key), store_sealer(settings, signing_key)
    assert first.current == second.current == f"sk-{signing_key.kid[:16]}"
    sealed = first.seal(IDENTITY, "token:t", "identity")
    assert second.open(sealed, "token:t", "identity") == IDENTITY
    other = store_sealer(settings, SigningKey.generate())
    with pytest.raises(SealError, match="unknown key id"):
        other.open(sealed, "token:t", "identity")


# --- SealedStore over both back-ends ---------------------------------------------------------


@dataclass
class Backend:
    """A SealedStore, the store under it, and how to read a record's bytes as the back-end
    holds them."""

    sealed: SealedStore
    inner: Store
    advance: Callable[[float], Awaitable[None] | None]
    client: Redis | None = None
    prefix: str = ""

    async def raw(self, key: str) -> bytes:
        if self.client is not None:
            return bytes(await self.client.get(f"{self.prefix}{{{key}}}") or b"")
        record = await self.inner.get(key)
        return json.dumps(record, ensure_ascii=False).encode() if record is not None else b""

    def with_sealer(self, sealer: Sealer) -> SealedStore:
        """Another process on the same records, with its own keys."""
        return SealedStore(self.inner, sealer)


@pytest.fixture(params=["memory", "redis"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    sealer = Sealer({"2026-05": OLD}, "2026-05")
    if request.param == "memory":
        clock = FakeClock()
        inner: Store = MemoryStore(clock=clock)
        yield Backend(SealedStore(inner, sealer), inner, clock.advance)
        return
    client = Redis.from_url(request.getfixturevalue("redis_url"))
    prefix = f"test:{uuid.uuid4().hex}:"  # each test its own keys; removed afterwards
    inner = RedisStore(client, prefix=prefix)
    yield Backend(SealedStore(inner, sealer), inner, asyncio.sleep, client, prefix)
    async for key in client.scan_iter(match=f"{prefix}*"):
        await client.delete(key)
    await client.aclose()


@pytest.fixture
def harness(backend: Backend) -> StoreHarness:
    return StoreHarness(store=backend.sealed, advance=backend.advance)


class TestSealedStore(StoreContract):
    """The whole Store contract holds through the wrapper, on both back-ends."""


def session_record(status: str = "confirmed") -> dict[str, Any]:
    return {
        "id": "s1",
        "status": status,
        "ticket_key": secrets.token_urlsafe(32),
        "desktop_ip": "203.0.113.77",
        "desktop_agent": "Mozilla/5.0 (Windows NT 10.0) Chrome/131.0",
        "identity": IDENTITY,
        "nonce": None,
        "binding_hash": "0" * 64,
    }


async def test_sealed_store_back_end_holds_no_identity_in_clear(backend: Backend) -> None:
    record = session_record()
    await backend.sealed.create("session:s1", record, 30)
    raw = await backend.raw("session:s1")
    for clear in (*IDENTITY.values(), record["ticket_key"], "203.0.113.77", "Chrome"):
        assert clear.encode() not in raw
    stored = json.loads(raw)
    assert stored["identity"].startswith("v1.2026-05.")
    assert stored["status"] == "confirmed" and stored["binding_hash"] == "0" * 64  # in clear
    assert stored["nonce"] is None  # nothing to hide
    assert await backend.sealed.get("session:s1") == record


async def test_sealed_store_compare_and_set_reads_the_clear_status(backend: Backend) -> None:
    await backend.sealed.create("session:s1", session_record("scanned"), 30)
    assert await backend.sealed.transition("session:s1", "pending", session_record()) is False
    moved = session_record("confirmed")
    assert await backend.sealed.transition("session:s1", "scanned", moved) is True
    assert await backend.sealed.consume("session:s1") == moved
    assert await backend.sealed.get("session:s1") is None


async def test_sealed_store_every_write_is_sealed(backend: Backend) -> None:
    await backend.sealed.put("token:t", {"client_id": "rp", "identity": IDENTITY}, 30)
    assert b"oQz3" not in await backend.raw("token:t")
    await backend.sealed.create("upstream:u", {"code_verifier": "v" * 64, "nonce": "n" * 32}, 30)
    raw = await backend.raw("upstream:u")
    assert b"v" * 64 not in raw and b"n" * 32 not in raw


async def test_sealed_store_rotation_between_processes(backend: Backend) -> None:
    """A process on the old key writes; after the rotation another reads it, and writes its own
    under the new key, which a process that dropped the old key still reads."""
    await backend.sealed.create("token:old", {"identity": IDENTITY}, 30)
    rotated = backend.with_sealer(Sealer({"2026-05": OLD, "2026-11": NEW}, "2026-11"))
    assert await rotated.get("token:old") == {"identity": IDENTITY}
    await rotated.create("token:new", {"identity": IDENTITY}, 30)
    assert json.loads(await backend.raw("token:new"))["identity"].startswith("v1.2026-11.")
    retired = backend.with_sealer(Sealer({"2026-11": NEW}, "2026-11"))
    assert await retired.get("token:new") == {"identity": IDENTITY}


async def test_sealed_store_unreadable_record_is_absent_and_logged_without_its_value(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    await backend.sealed.create("code:c1", {"client_id": "rp", "identity": IDENTITY}, 30)
    stranger = backend.with_sealer(Sealer({"2027-01": NEW}, "2027-01"))
    with caplog.at_level(logging.WARNING, logger="relay.store"):
        assert await stranger.get("code:c1") is None
        assert await stranger.consume("code:c1") is None
    assert await backend.sealed.get("code:c1") is None  # consumed: gone for everyone
    assert [r.getMessage() for r in caplog.records] == [
        'unreadable code record, treated as absent: field "identity" is sealed under unknown '
        'key id "2026-05"'
    ] * 2
    assert all("oQz3" not in r.getMessage() and "c1" not in r.getMessage() for r in caplog.records)


async def test_sealed_store_record_copied_to_another_key_is_unreadable(backend: Backend) -> None:
    """Someone who can write to Redis cannot give their code record someone else's identity."""
    await backend.sealed.create("token:victim", {"client_id": "rp", "identity": IDENTITY}, 30)
    copied = json.loads(await backend.raw("token:victim"))
    await backend.inner.put("token:attacker", copied, 30)
    assert await backend.sealed.get("token:attacker") is None


async def test_sealed_store_identity_written_in_clear_is_refused(backend: Backend) -> None:
    """A record written around the seal (by hand, or by a relay from before sealing) does not
    count: a forged identity cannot be planted in clear."""
    await backend.inner.put("token:forged", {"client_id": "rp", "identity": IDENTITY}, 30)
    assert await backend.sealed.get("token:forged") is None


def test_sealed_store_keeps_status_in_clear() -> None:
    with pytest.raises(ValueError, match="status stays in clear"):
        SealedStore(MemoryStore(), Sealer.random(), fields={"identity", "status"})
    assert "status" not in SEALED_FIELDS


async def test_sealed_store_outage_is_an_outage_not_an_absent_record() -> None:
    """Redis down stays StoreUnavailable (503, retry), never "no such record"."""
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    store = SealedStore(RedisStore(dead), Sealer.random())
    assert await store.ping() is False
    with pytest.raises(StoreUnavailable):
        await store.get("token:t")
    with pytest.raises(StoreUnavailable):
        await store.put("token:t", {"identity": IDENTITY}, 10)
    await store.close()


def test_sealer_field_name_cannot_run_into_the_record_key() -> None:
    """NUL separates the parts of the associated data; a field holding one could make two
    (field, key) pairs look alike, so it is refused."""
    with pytest.raises(ValueError, match="NUL"):
        Sealer({"k1": OLD}, "k1").seal("v", "b", "identity\0a")
