"""Memory per waiting login on the memory store, sealed as the relay stores it (SealedStore over
MemoryStore): start N sessions and measure with tracemalloc.

Run: .venv/bin/python bench/bench_session_memory.py  (figures go to BENCHMARKS.md by hand)
"""

from __future__ import annotations

import asyncio
import tracemalloc

from relay.crossdevice import DesktopContext
from relay.events import MemoryEvents
from relay.sessions import AuthorizationRequest, LoginSessions
from relay.store import MemoryStore
from relay.store.sealed import SealedStore, Sealer

COUNT = 20_000


async def main() -> None:
    store = SealedStore(MemoryStore(), Sealer.random())
    sessions = LoginSessions(store, MemoryEvents(), ttl=180, qr_rotate=30)
    desktop = DesktopContext(
        ip="203.0.113.7",
        user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
        "Gecko) Chrome/131.0.0.0 Safari/537.36",
    )
    request = AuthorizationRequest(
        client_id="auth0",
        redirect_uri="https://tenant.auth0.com/login/callback",
        redirect_uri_given=True,
        scope=("openid", "profile"),
        provider="wechat",
        state="Fe26.2**" + "x" * 40,
        code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    )
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for _ in range(COUNT):
        await sessions.start(request, "0" * 64, desktop=desktop, match_code=True)
    after = tracemalloc.take_snapshot()
    used = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    print(f"{COUNT} waiting sessions (sealed session records) in the memory store")
    print(f"{used / COUNT / 1024:.2f} KiB per waiting session, {used / 2**20:.1f} MiB in all")


if __name__ == "__main__":
    asyncio.run(main())
