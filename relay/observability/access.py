"""RequestLog: the request id in and out, the ids in the log context, one access line per request.

The access line holds the method, the path with the scan ticket (`/s/…`) and the device_code
(`/device/…/live`) masked, the status and the duration; never the query string (codes, states
and the kiosk page's key, `/kiosk/NAME?key=…`, travel in it), headers or cookies. Uvicorn's own
access log prints query strings, so `qr-relay` turns it off and this one is used instead.
Probes (/healthz, /readyz, /metrics) are logged at DEBUG: a load balancer asks every few seconds.

An exception that escapes the app is logged here, with the request's ids, before Starlette's
outermost error middleware (which runs outside this one) answers 500.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relay.observability.context import (
    REQUEST_ID,
    SESSION_ID,
    request_id_from,
    session_in_path,
)

log = logging.getLogger("relay.access")
errors = logging.getLogger("relay.app")

REQUEST_ID_HEADER = "X-Request-ID"
MASKED = re.compile(r"^/s/[^/]+")
# /device/{device_code}/live: any segment under /device/ but the pages' own (/device/confirm).
DEVICE_CODE = re.compile(r"^/device/(?!confirm(?:/|$))[^/]+")
PROBES = frozenset({"/healthz", "/readyz", "/metrics"})


def loggable_path(path: str) -> str:
    return DEVICE_CODE.sub("/device/…", MASKED.sub("/s/…", path))


class RequestLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(Headers(scope=scope).get(REQUEST_ID_HEADER))
        echoed = (REQUEST_ID_HEADER.lower().encode(), request_id.encode())
        request_token = REQUEST_ID.set(request_id)
        session_token = SESSION_ID.set(session_in_path(scope["path"]))
        started = time.perf_counter()
        status: int | None = None

        async def sending(message: Message) -> None:
            nonlocal status
            kind = message["type"]
            if kind in ("http.response.start", "websocket.http.response.start"):
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), echoed]}
            elif kind == "websocket.accept":
                status = 101
                message = {**message, "headers": [*message.get("headers", ()), echoed]}
            elif kind == "websocket.close" and status is None:
                status = 403  # closed before the handshake completed: the server refuses it
            await send(message)

        method = scope.get("method", "WS")
        path = loggable_path(scope["path"])
        try:
            await self.app(scope, receive, sending)
        except Exception:
            errors.exception("unhandled error on %s %s", method, path)
            if status is None and scope["type"] == "http":
                status = 500  # what Starlette's error middleware answers next
            raise
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            fields: dict[str, Any] = {
                "method": method,
                "path": path,
                "status": status,
                "duration_ms": duration_ms,
            }
            log.log(
                logging.DEBUG if scope["path"] in PROBES else logging.INFO,
                "%s %s %s %.1fms",
                method,
                path,
                "-" if status is None else status,
                duration_ms,
                extra={"http": fields},
            )
            SESSION_ID.reset(session_token)
            REQUEST_ID.reset(request_token)
