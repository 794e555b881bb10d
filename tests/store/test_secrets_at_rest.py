"""Secrets at rest (issue 5): whole logins through the relay, on the memory store and on Redis, with
the store read raw after every step. No key or value holds a usable code, access token, scan
ticket or cookie secret (only their SHA-256, or a sealed key), nor the identity or the desktop's
address and browser in clear. A record whose seal does not open is absent: a clear OAuth error or
page, never a 500."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from redis.asyncio import Redis
from starlette.applications import Starlette

from relay.digests import s256, sha256_hex
from relay.settings import Settings
from relay.store.redis import RedisStore
from relay.store.sealed import SealedStore, Sealer
from tests.conftest import make_settings
from tests.flows import Relay, form_fields, pkce, query_of
from tests.store.raw import memory_store_of

NAME = "Grace Brewster Hopper"
AGENT = "Mozilla/5.0 (X11; Linux x86_64) SealTestBrowser/77.0"

Dump = Callable[[], Awaitable[dict[str, str]]]  # every key in the store -> its raw value


@dataclass
class StoredRelay:
    relay: Relay
    dump: Dump


def memory_dump(relay: Relay) -> Dump:
    async def dump() -> dict[str, str]:
        inner = memory_store_of(relay.core.store)
        raw = {key: await inner.get(key) for key in inner.keys(prefix="")}
        return {k: json.dumps(v, ensure_ascii=False) for k, v in raw.items() if v is not None}

    return dump


def redis_dump(client: Redis, prefix: str) -> Dump:
    async def dump() -> dict[str, str]:
        found = {}
        async for key in client.scan_iter(match=f"{prefix}*"):
            value = await client.get(key)
            if value is not None:
                found[key.decode()] = value.decode()
        return found

    return dump


@pytest.fixture(params=["memory", "redis"])
async def stored(
    request: pytest.FixtureRequest, app_factory: Callable[[Settings], Starlette]
) -> AsyncIterator[StoredRelay]:
    if request.param == "memory":
        settings = make_settings()
        async with Relay(app_factory(settings), settings) as relay:
            yield StoredRelay(relay, memory_dump(relay))
        return
    redis_url = request.getfixturevalue("redis_url")
    prefix = f"test:{uuid.uuid4().hex}:"
    settings = make_settings(store=f"{redis_url}?prefix={prefix}")
    client = Redis.from_url(redis_url)
    try:
        async with Relay(app_factory(settings), settings) as relay:
            yield StoredRelay(relay, redis_dump(client, prefix))
            store = relay.core.store
            assert isinstance(store, SealedStore) and isinstance(store.inner, RedisStore)
            pool = store.inner._client.connection_pool
        # RedisStore.close() leaves the pool open_backends made (redis-py closes a pool passed
        # in only when asked): closed here, or its sockets outlive the test.
        await pool.aclose()
    finally:
        async for key in client.scan_iter(match=f"{prefix}*"):
            await client.delete(key)
        await client.aclose()


@dataclass
class Walk:
    """What one login handed out, and the store as it was after each step."""

    secrets: dict[str, str] = field(default_factory=dict)  # what it is -> the value
    snapshots: list[dict[str, str]] = field(default_factory=list)

    def cookies(self, relay: Relay) -> None:
        for browser in (relay.desktop, relay.phone):
            for cookie in browser.cookies.jar:
                if cookie.value:
                    self.secrets[f"cookie {cookie.name}"] = cookie.value

    def everything(self) -> Iterator[str]:
        for snapshot in self.snapshots:
            for key, value in snapshot.items():
                yield key
                yield value


async def walk_a_login(stored: StoredRelay) -> Walk:
    relay, walk = stored.relay, Walk()
    relay.desktop.headers["User-Agent"] = AGENT
    verifier, challenge = pkce()
    walk.secrets["the relying party's code_verifier"] = verifier
    started = await relay.start(code_challenge=challenge, code_challenge_method="S256")
    ticket = urlsplit(started.scan_url).path.rsplit("/", 1)[1]
    walk.secrets["scan ticket"] = ticket
    walk.secrets["scan ticket's MAC"] = ticket[len(started.session_id) :]
    walk.snapshots.append(await stored.dump())
    assert (await relay.scan(started.scan_url)).status_code == 303
    going = await relay.continue_to_provider(started.session_id)
    walk.snapshots.append(await stored.dump())
    page = await relay.phone.get(going.headers["location"])
    fields = form_fields(page.text)
    walk.secrets["the relay's state at the provider"] = fields["state"]
    back = await relay.phone.post(
        "/sandbox/authorize", data={**fields, "decision": "approve", "name": NAME}
    )
    assert back.status_code == 303, back.text
    walk.secrets["the sandbox's code"] = query_of(back.headers["location"])["code"]
    walk.snapshots.append(await stored.dump())
    upstream = [v for k, v in walk.snapshots[-1].items() if "upstream:" in k]
    assert len(upstream) == 1  # the trip to the provider, until the callback consumes it
    walk.secrets["the relay's code_verifier at the provider"] = opened_verifier(
        relay, walk.snapshots[-1], fields["code_challenge"]
    )
    walk.cookies(relay)  # the callback cookie, before the callback removes it
    done = await relay.phone.get(back.headers["location"])
    assert "Return to your computer" in done.text, done.text
    walk.snapshots.append(await stored.dump())
    resumed = await relay.resume(started.session_id)
    assert resumed.status_code == 302, resumed.text
    code = query_of(resumed.headers["location"])["code"]
    walk.secrets["relay code"] = code
    walk.snapshots.append(await stored.dump())
    assert any(f"code:{sha256_hex(code)}" in key for key in walk.snapshots[-1])  # by its hash
    tokens = (await relay.token(code=code, code_verifier=verifier)).json()
    walk.secrets["access token"] = tokens["access_token"]
    walk.secrets["id_token"] = tokens["id_token"]
    walk.snapshots.append(await stored.dump())
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    userinfo = (await relay.desktop.get("/userinfo", headers=bearer)).json()
    assert userinfo["name"] == NAME
    walk.secrets["subject"] = userinfo["sub"].split(":", 1)[1]
    walk.cookies(relay)
    return walk


def opened_verifier(relay: Relay, snapshot: dict[str, str], challenge: str) -> str:
    """The relay's PKCE verifier for the provider, read back through the seal: the one the
    sandbox was given the challenge of (so the sealed value checked is the real one)."""
    ((key, raw),) = [(k, v) for k, v in snapshot.items() if "upstream:" in k]
    record = json.loads(raw)
    assert record["code_verifier"].startswith("v1.") and record["nonce"].startswith("v1.")
    store = relay.core.store
    assert isinstance(store, SealedStore)
    logical = key[key.index("upstream:") :].rstrip("}")
    verifier: str = store.sealer.open(record["code_verifier"], logical, "code_verifier")
    assert s256(verifier) == challenge
    return verifier


async def test_secrets_at_rest_no_usable_secret_in_any_key_or_value(stored: StoredRelay) -> None:
    walk = await walk_a_login(stored)
    assert len(walk.secrets) >= 10
    assert any(name.startswith("cookie relay_bind") for name in walk.secrets)
    assert any(name.startswith("cookie relay_phone") for name in walk.secrets)
    assert any(name.startswith("cookie relay_cb") for name in walk.secrets)
    for text in walk.everything():
        for what, value in walk.secrets.items():
            assert value not in text, f"the {what} is in the store"


async def test_secrets_at_rest_no_identity_or_desktop_in_clear(stored: StoredRelay) -> None:
    walk = await walk_a_login(stored)
    clear = [NAME, "Grace", walk.secrets["subject"], AGENT, "SealTestBrowser", "127.0.0.1"]
    records = 0
    for snapshot in walk.snapshots:
        for key, raw in snapshot.items():
            for value in clear:
                assert value not in key and value not in raw, f"{value!r} in clear under {key}"
            record = json.loads(raw)
            for name in ("identity", "ticket_key", "desktop_agent", "desktop_ip", "sub", "name"):
                if record.get(name) is not None:
                    assert record[name].startswith("v1."), f"{name} not sealed under {key}"
                    records += 1
    assert records >= 10  # sessions, the code, the token, the sandbox's records: all checked


async def test_secrets_at_rest_codes_tickets_tokens_carry_128_random_bits(
    stored: StoredRelay,
) -> None:
    walk = await walk_a_login(stored)
    for what in ("relay code", "access token", "scan ticket's MAC"):
        assert len(unb64url(walk.secrets[what])) >= 16, what
    for what, value in walk.secrets.items():
        if what.startswith("cookie relay_"):
            assert len(unb64url(value)) >= 16, what


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


async def test_secrets_at_rest_unreadable_records_are_absent_never_a_500(
    relay: Relay, caplog: pytest.LogCaptureFixture
) -> None:
    """The key that sealed them is gone (removed from [encryption] too early, or another relay's
    key): the code is invalid_grant, the access token invalid_token, the login page says the
    login has ended, and the log says why without a value."""
    verifier, challenge = pkce()
    first = await relay.login(code_challenge=challenge, code_challenge_method="S256")
    tokens = (await relay.token(code=first["code"], code_verifier=verifier)).json()
    started = await relay.start(code_challenge=challenge, code_challenge_method="S256")
    second = await relay.login(code_challenge=challenge, code_challenge_method="S256")
    store = relay.core.store
    assert isinstance(store, SealedStore)
    store.sealer = Sealer.random("2027-01")
    with caplog.at_level(logging.WARNING, logger="relay.store"):
        redeemed = await relay.token(code=second["code"], code_verifier=verifier)
        userinfo = await relay.desktop.get(
            "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        page = await relay.desktop.get(f"/sessions/{started.session_id}")
    assert redeemed.status_code == 400
    assert redeemed.json()["error"] == "invalid_grant"
    assert userinfo.status_code == 401
    assert userinfo.json()["error"] == "invalid_token"
    assert page.status_code == 404
    assert "This sign-in has ended" in page.text
    logged = [r.getMessage() for r in caplog.records if r.name == "relay.store"]
    assert any(m.startswith("unreadable code record") for m in logged)
    assert any(m.startswith("unreadable token record") for m in logged)
    assert any(m.startswith("unreadable session record") for m in logged)
    for message in logged:
        assert "unknown key id" in message
        assert second["code"] not in message and tokens["access_token"] not in message
