"""uvicorn's and websockets' records rewritten: paths without queries or tickets, handshake headers
without cookie values, frames without content; in the shape uvicorn's own formatters unpack."""

from __future__ import annotations

import logging

import pytest
from uvicorn.logging import AccessFormatter
from websockets.frames import Close, Frame, Opcode

from relay.core import build_relay
from relay.observability.server_logs import GUARDED_LOGGERS, ServerLogs
from tests.conftest import make_settings

SECRET = "6UvjnIr0tYJFyqyhjupC8k95C0TSHSjkLF_JGmgZa8o"


def record(name: str, msg: str, *args: object) -> logging.LogRecord:
    made = logging.LogRecord(name, logging.DEBUG, __file__, 1, msg, args, None)
    assert ServerLogs().filter(made) is True
    return made


@pytest.mark.parametrize(
    ("target", "shown"),
    [
        (f"/callback/wechat?code={SECRET}&state=s1", "/callback/wechat"),
        (f"/s/{SECRET}", "/s/…"),
        ("/sessions/abc/live", "/sessions/abc/live"),
    ],
)
def test_server_logs_access_line_without_query_or_ticket(target: str, shown: str) -> None:
    made = record(
        "uvicorn.access", '%s - "%s %s HTTP/%s" %d', "10.0.0.1:5000", "GET", target, "1.1", 200
    )
    line = AccessFormatter("%(message)s", use_colors=False).format(made)  # it unpacks 5 args
    assert line == f'10.0.0.1:5000 - "GET {shown} HTTP/1.1" 200'


def test_server_logs_websocket_lines_without_query() -> None:
    made = record(
        "uvicorn.error", '%s - "WebSocket %s" [accepted]', "10.0.0.1:5000", f"/x?t={SECRET}"
    )
    assert made.getMessage() == '10.0.0.1:5000 - "WebSocket /x" [accepted]'


@pytest.mark.parametrize("header", ["cookie", "Set-Cookie", "authorization", "Proxy-Authorization"])
def test_server_logs_handshake_header_keeps_its_name_not_its_value(header: str) -> None:
    made = record("uvicorn.error", "< %s: %s", header, f"relay_bind_0123={SECRET}")
    assert made.getMessage() == f"< {header}: [redacted]"


def test_server_logs_other_headers_as_they_are() -> None:
    assert record("uvicorn.error", "> %s: %s", "host", "relay.example").getMessage() == (
        "> host: relay.example"
    )


def test_server_logs_data_frames_without_their_content() -> None:
    text = Frame(Opcode.TEXT, f'{{"scan_url": "https://relay.example/s/{SECRET}"}}'.encode())
    assert record("uvicorn.error", "> %s", text).getMessage() == f"> TEXT [{len(text.data)} bytes]"
    close = Frame(Opcode.CLOSE, Close(1000, "").serialize())
    assert record("uvicorn.error", "< %s", close).getMessage() == "< CLOSE 1000 (OK) [2 bytes]"


@pytest.fixture
def unguarded(monkeypatch: pytest.MonkeyPatch) -> list[logging.Logger]:
    """uvicorn's loggers as a fresh process has them: no filter (earlier tests built relays)."""
    loggers = [logging.getLogger(name) for name in GUARDED_LOGGERS]
    for logger in loggers:
        monkeypatch.setattr(logger, "filters", [])
    return loggers


async def test_server_logs_guarded_once_by_every_relay_built(
    unguarded: list[logging.Logger],
) -> None:
    """An application that embeds the relay under its own uvicorn gets the filters too."""
    for _ in range(2):
        await build_relay(make_settings()).aclose()
    for logger in unguarded:
        assert sum(isinstance(f, ServerLogs) for f in logger.filters) == 1, logger.name
