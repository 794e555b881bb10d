"""The relay's outbound HTTP client (relay/core.py): what every provider call goes through."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from relay.core import UPSTREAM_LIMITS, build_relay
from tests.conftest import make_settings

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


@contextlib.asynccontextmanager
async def keep_alive_server() -> AsyncIterator[tuple[str, list[int]]]:
    """An HTTP/1.1 server that keeps each connection open for as many requests as come on it,
    as a provider's does; its URL, and how many connections it has accepted (one list item)."""
    accepted = [0]
    open_connections: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted[0] += 1
        open_connections.append(writer)
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(ANSWER)
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/", accepted
    finally:
        server.close()
        for writer in open_connections:
            writer.close()
        await server.wait_closed()


async def test_upstream_connections_are_reused_while_busy_and_dropped_when_idle() -> None:
    """Calls close together share a connection; one idle past UPSTREAM_LIMITS' expiry (2 s, less
    than the 5 s after which uvicorn and Node close an idle connection) is not reused, so a call
    never goes out on a connection the provider is closing at that moment."""
    relay = build_relay(make_settings())
    try:
        async with keep_alive_server() as (url, accepted):
            for _ in range(3):
                assert (await relay.http.get(url)).status_code == 200
            assert accepted == [1]
            assert UPSTREAM_LIMITS.keepalive_expiry is not None
            await asyncio.sleep(UPSTREAM_LIMITS.keepalive_expiry + 0.5)
            assert (await relay.http.get(url)).status_code == 200
            assert accepted == [2]
    finally:
        await relay.aclose()
