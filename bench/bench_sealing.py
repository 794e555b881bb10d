"""The cost of sealing (relay/store/sealed.py): microseconds per seal and per open of the values
the relay seals, and the time spent in them per full login, counted in-process.

Part 1 times Sealer.seal/open alone on a typical identity and a login's ticket key. Part 2 runs
LOGINS full logins through the relay app in this process (authorize, login page, scan, phone page,
continue, sandbox, callback, resume, token, userinfo; the steps of bench/login_steps.py, without
the websocket) on the memory store, with the relay's Sealer wrapped to count its calls and add up
their time.

Run: .venv/bin/python bench/bench_sealing.py  (figures go to BENCHMARKS.md by hand)
"""

from __future__ import annotations

import asyncio
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from login_steps import Login
from relay_process import write_config
from starlette.applications import Starlette

from relay.app import create_app
from relay.settings import load_settings
from relay.store.sealed import SealedStore, Sealer

ROUNDS = 7
CALLS = 20_000  # per round
LOGINS = 300
ISSUER = "http://relay.bench"
IDENTITY = {
    "provider": "wechat",
    "subject": "oQz3v5ZpQ4m8Hn1bX9kLr2TgYwE",
    "name": "Zhang Wei",
    "picture": "https://thirdwx.qlogo.cn/mmopen/vi_32/Q0j4TwGTfTL/132",
    "preferred_username": "zhangwei88",
}


def per_call(function: Callable[[], Any]) -> tuple[float, float]:
    """Median and best microseconds per call over ROUNDS rounds of CALLS calls."""
    rounds = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(CALLS):
            function()
        rounds.append((time.perf_counter() - started) / CALLS * 1e6)
    return statistics.median(rounds), min(rounds)


def micro() -> None:
    sealer = Sealer({"2026-11": secrets.token_bytes(32)}, "2026-11")
    key = "session:" + secrets.token_urlsafe(16)
    ticket_key = secrets.token_urlsafe(32)
    sealed_identity = sealer.seal(IDENTITY, key, "identity")
    sealed_ticket_key = sealer.seal(ticket_key, key, "ticket_key")
    print(f"Sealer alone, median (best) of {ROUNDS} rounds of {CALLS:,} calls:")
    for what, function in (
        ("seal identity", lambda: sealer.seal(IDENTITY, key, "identity")),
        ("open identity", lambda: sealer.open(sealed_identity, key, "identity")),
        ("seal ticket_key", lambda: sealer.seal(ticket_key, key, "ticket_key")),
        ("open ticket_key", lambda: sealer.open(sealed_ticket_key, key, "ticket_key")),
    ):
        median, best = per_call(function)
        print(f"  {what:<16} {median:6.2f} µs  ({best:.2f})")
    print(f"  sealed identity: {len(sealed_identity)} characters (JSON {len(str(IDENTITY))})")


class Counted:
    """Wraps a Sealer's seal and open: how many calls, and how long they took in all."""

    def __init__(self, sealer: Sealer) -> None:
        self.calls = {"seal": 0, "open": 0}
        self.seconds = {"seal": 0.0, "open": 0.0}
        for name in ("seal", "open"):
            setattr(sealer, name, self._timed(name, getattr(sealer, name)))

    def _timed(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(*args)
            finally:
                self.seconds[name] += time.perf_counter() - started
                self.calls[name] += 1

        return timed


class Loopback(httpx.AsyncBaseTransport):
    """The relay's upstream client reaches its own sandbox in-process."""

    def __init__(self) -> None:
        self.app: Starlette | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert self.app is not None
        return await httpx.ASGITransport(app=self.app).handle_async_request(request)


async def per_login(folder: str) -> None:
    # The benchmarks' configuration: one client, the sandbox, and no rate limits (one client
    # address makes every login here).
    settings = load_settings(write_config(Path(folder), ISSUER, "memory://", 180))
    loopback = Loopback()
    app = create_app(settings, http_transport=loopback)
    loopback.app = app
    store = app.state.relay.store
    assert isinstance(store, SealedStore)
    counted = Counted(store.sealer)
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url=ISSUER) as desktop,
        httpx.AsyncClient(transport=transport, base_url=ISSUER) as phone,
    ):
        started = time.perf_counter()
        for _ in range(LOGINS):
            login = Login(desktop, phone)
            await login.authorize()
            await login.login_page()
            await login.scan()
            await login.phone_page()
            await login.to_sandbox()
            await login.callback()
            await login.resume()
            await login.token()
            await login.userinfo()
        elapsed = time.perf_counter() - started
    await app.state.relay.aclose()
    seals, opens = (counted.calls[n] / LOGINS for n in ("seal", "open"))
    sealing = sum(counted.seconds.values()) / LOGINS * 1e6
    print(f"{LOGINS} full logins in-process (memory store, sandbox provider):")
    print(f"  per login: {seals:.0f} seals, {opens:.0f} opens, {sealing:.0f} µs in the Sealer")
    print(
        f"  {elapsed / LOGINS * 1e3:.2f} ms per login in all (relay and clients), "
        f"of which sealing {sealing / (elapsed / LOGINS * 1e6):.1%}"
    )


def main() -> None:
    micro()
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(per_login(folder))


if __name__ == "__main__":
    main()
