"""What the ASGI server logs of the relay's traffic, made safe to keep.

uvicorn's access log prints each request's path with its query string ("GET /callback/wechat?
code=...&state=..."), and its websocket lines ("WebSocket /sessions/.../live" [accepted]) do too.
At DEBUG, the websocket implementation it runs (the `websockets` library, which uvicorn hands
its "uvicorn.error" logger) prints the handshake's headers, the binding Cookie among them, and
each frame, the pending QR's scan URL among them. `qr-relay serve` turns uvicorn's access log off
and logs its own lines (access.py), but an application that embeds the relay, or an operator who
turns DEBUG on, gets the others. The filters below rewrite those records on the loggers that
emit them, so that every handler, whatever its format, receives them clean:

- a request target in the arguments loses its query string, and a scan ticket its value (as in
  the relay's own access line);
- a Cookie, Set-Cookie or Authorization header line keeps its name, not its value;
- a data frame is shown as its type and size ("TEXT [57 bytes]"), not its content.
"""

from __future__ import annotations

import logging
from typing import Any

from relay.observability.access import loggable_path

REDACTED = "[redacted]"
SECRET_HEADERS = frozenset({"cookie", "set-cookie", "authorization", "proxy-authorization"})
HEADER_LINES = frozenset({"< %s: %s", "> %s: %s"})  # websockets' handshake trace
FRAME_LINES = frozenset({"< %s", "> %s"})  # websockets' frame trace
GUARDED_LOGGERS = ("uvicorn.access", "uvicorn.error")


class ServerLogs(logging.Filter):
    """Rewrites the arguments of uvicorn's and websockets' records; the message's shape (its
    format string and the number of arguments, which uvicorn's own formatters unpack) stays."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if not isinstance(args, tuple) or not args:
            return True
        if record.msg in HEADER_LINES and len(args) == 2:
            name = str(args[0])
            if name.lower() in SECRET_HEADERS:
                record.args = (name, REDACTED)
            return True
        if record.msg in FRAME_LINES and len(args) == 1 and is_frame(args[0]):
            record.args = (frame_summary(args[0]),)
            return True
        record.args = tuple(request_target(arg) for arg in args)
        return True


def request_target(arg: object) -> object:
    """A path as a server logs it, without its query string and with a scan ticket masked;
    any other argument as it is."""
    if isinstance(arg, str) and arg.startswith("/"):
        return loggable_path(arg.partition("?")[0])
    return arg


def is_frame(arg: object) -> bool:
    """A `websockets.frames.Frame` (not imported: the relay does not depend on websockets)."""
    return hasattr(arg, "opcode") and isinstance(getattr(arg, "data", None), bytes | bytearray)


def frame_summary(frame: Any) -> object:
    """A data frame's type and size; a control frame (close, ping, pong) as websockets shows
    it, since it carries a close code and the relay's own reason at most."""
    name = getattr(frame.opcode, "name", str(frame.opcode))
    if name not in ("CONT", "TEXT", "BINARY"):
        return frame
    return f"{name} [{len(frame.data)} bytes]"


def guard_server_logs() -> None:
    """Install ServerLogs on uvicorn's loggers, once per process; the relay calls it when it is
    built, so an application that embeds it (whatever its logging setup) gets it too."""
    for name in GUARDED_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ServerLogs) for f in logger.filters):
            logger.addFilter(ServerLogs())
