"""One log line per request, with nothing secret in it.

Uvicorn's own access log prints the query string, which carries codes and states (the callback,
the relying party's redirect), so it is turned off and this one is used instead: method, path
with the scan ticket masked, status and duration. No query, no headers, no cookies.
"""

from __future__ import annotations

import logging
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("relay.access")

MASKED = re.compile(r"^/s/[^/]+")


def loggable_path(path: str) -> str:
    return MASKED.sub("/s/…", path)


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: list[int] = []

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            log.info(
                "%s %s %s %.1fms",
                scope.get("method", "WS"),
                loggable_path(scope["path"]),
                status[0] if status else "-",
                (time.perf_counter() - started) * 1000,
            )
