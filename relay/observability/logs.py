"""Log formats: JSON lines for production, a human line for the demo.

A JSON line is one object: `time` (RFC 3339, UTC, milliseconds), `level`, `logger`, `message`,
`request_id` and `session_id` when the line belongs to a request (and a session), `exc_info`
(the formatted traceback) when there is one, and `http` on access lines (method, path, status,
duration_ms). Nothing else from the record is copied: extra attributes that libraries attach
stay out, so what reaches the log is what the relay chose to write (and the relay writes no
secret, code, token or cookie value).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, Literal

from relay.observability.context import REQUEST_ID, SESSION_ID

LogFormat = Literal["json", "text"]
LOG_FORMATS: tuple[LogFormat, ...] = ("json", "text")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Structured fields a record may carry (`log.info(..., extra={"http": {...}})`), copied as they are.
STRUCTURED = ("http",)


class JSONFormatter(logging.Formatter):
    """One JSON object per line. The request and session ids come from the record when it
    carries them (`extra=`), otherwise from the context of the code that logged."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id:
            line["request_id"] = request_id
        session_id = getattr(record, "session_id", None) or SESSION_ID.get()
        if session_id:
            line["session_id"] = session_id
        for name in STRUCTURED:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        # default=str: a message argument of any type still gives a line, never an error.
        return json.dumps(line, default=str)


def formatter(log_format: LogFormat) -> logging.Formatter:
    return JSONFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
