"""A provider that misbehaves on the wire, served on a real socket (127.0.0.1, a port the system
picks): what an ASGI fake cannot show, since httpx's ASGI transport hands over an answer only
once the app has produced all of it, and no read timeout ever applies to it.

    drip      the headers at once (with Content-Length), then the body one byte every
              `interval` seconds: each read gets a byte well within a read timeout
    endless   the headers without Content-Length, then body bytes (64 KiB, then `pause`
              seconds) for as long as the client reads them
    answer    the whole body at once (a real connection, for what only a real one exercises)

    async with RawProvider("drip", body=b'{"access_token": "x"}', interval=0.3) as upstream:
        await request_json(http, "GET", upstream.url("/token"), ...)

`requests` holds each request's first line and headers, as received.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Literal, Self

Mode = Literal["drip", "endless", "answer"]
CHUNK = b" " * 65536


class RawProvider:
    def __init__(
        self,
        mode: Mode,
        *,
        body: bytes = b'{"access_token": "at-1", "token_type": "Bearer"}',
        interval: float = 0.3,
        pause: float = 0.0,
    ) -> None:
        self.mode = mode
        self.body = body
        self.interval = interval
        self.pause = pause
        self.requests: list[bytes] = []
        self.sent = 0  # body bytes written
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._closing = False

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port: int = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        self._closing = True
        for task in list(self._handlers):
            task.cancel()
        for task in list(self._handlers):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._server.wait_closed()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            self.requests.append(head)
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            if length:
                await reader.readexactly(length)
            await self._answer(writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client gave up, as it should
        except asyncio.CancelledError:
            if not self._closing:
                raise
            # Stopped by __aexit__: end quietly (asyncio logs a handler task that ends cancelled).
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer(self, writer: asyncio.StreamWriter) -> None:
        json_type = b"Content-Type: application/json\r\nConnection: close\r\n"
        if self.mode == "endless":
            writer.write(b"HTTP/1.1 200 OK\r\n" + json_type + b"\r\n" + b'{"pad": "')
            while True:
                writer.write(CHUNK)
                await writer.drain()
                self.sent += len(CHUNK)
                if self.pause:
                    await asyncio.sleep(self.pause)
        length = f"Content-Length: {len(self.body)}\r\n".encode()
        writer.write(b"HTTP/1.1 200 OK\r\n" + json_type + length + b"\r\n")
        if self.mode == "answer":
            writer.write(self.body)
            self.sent = len(self.body)
            await writer.drain()
            return
        for byte in self.body:
            writer.write(bytes([byte]))
            await writer.drain()
            self.sent += 1
            await asyncio.sleep(self.interval)
