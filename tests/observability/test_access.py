"""RequestLog: X-Request-ID in and out, the ids in the log context, one access line per request."""

from __future__ import annotations

import logging

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from relay.observability.access import RequestLog, loggable_path
from relay.observability.context import REQUEST_ID, SESSION_ID, bind_session, request_id_from
from tests.flows import Relay
from tests.observability.helpers import JsonLines

SESSION = "S" * 22


def access_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "relay.access"]


@pytest.mark.parametrize(
    "given", ["abcd1234", "req-2024.05_07-x", "A" * 64, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"]
)
async def test_access_request_id_kept_and_echoed(relay: Relay, given: str) -> None:
    response = await relay.desktop.get("/healthz", headers={"X-Request-ID": given})
    assert response.headers["x-request-id"] == given


@pytest.mark.parametrize(
    "given",
    [
        "",
        "short",
        "A" * 65,
        "has space12",
        "new\\nline123",
        "<script>x",
        "ünïcode123".encode(),
        "a;b=c;d",
    ],
)
async def test_access_request_id_replaced_when_not_plain(relay: Relay, given: str | bytes) -> None:
    response = await relay.desktop.get("/healthz", headers={"X-Request-ID": given})
    echoed = response.headers["x-request-id"]
    assert echoed != given
    assert echoed == request_id_from(echoed)  # a generated id passes the rule itself


async def test_access_request_id_generated_per_request(relay: Relay) -> None:
    ids = {(await relay.desktop.get("/healthz")).headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5


async def test_access_request_id_on_errors_and_redirects(relay: Relay) -> None:
    for response in (
        await relay.desktop.get("/no-such-page", headers={"X-Request-ID": "page-404-id"}),
        await relay.desktop.post("/token", headers={"X-Request-ID": "page-404-id"}),
        await relay.authorize(),
    ):
        assert response.headers["x-request-id"]
    assert (await relay.desktop.get("/nothing", headers={"X-Request-ID": "abcdefgh"})).headers[
        "x-request-id"
    ] == "abcdefgh"


async def test_access_line_has_request_id_and_session_from_the_path(
    relay: Relay, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="relay.access")
    started = await relay.start()
    caplog.clear()
    await relay.desktop.get(
        f"/sessions/{started.session_id}?x=secret-query", headers={"X-Request-ID": "desk-00001"}
    )
    [line] = access_lines(caplog)
    assert line.getMessage().startswith(f"GET /sessions/{started.session_id} 200 ")
    http = vars(line)["http"]  # the access record's structured fields
    assert http == {
        "method": "GET",
        "path": f"/sessions/{started.session_id}",
        "status": 200,
        "duration_ms": http["duration_ms"],
    }
    assert "secret-query" not in line.getMessage()


async def test_access_probes_logged_at_debug(
    relay: Relay, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="relay.access")
    for path in ("/healthz", "/readyz", "/metrics"):
        await relay.desktop.get(path)
    assert [line.levelno for line in access_lines(caplog)] == [logging.DEBUG] * 3


def test_access_loggable_path_masks_the_ticket() -> None:
    assert loggable_path("/s/abcdefghijklmnop1234") == "/s/…"
    assert loggable_path("/sessions/abc") == "/sessions/abc"


# A tiny app: what the middleware does around handlers, without the relay.


def tiny_app(records: list[tuple[str, str | None, str | None]]) -> Starlette:
    def note(where: str) -> None:
        records.append((where, REQUEST_ID.get(), SESSION_ID.get()))

    async def outer(request: Request) -> Response:
        note("outer before")
        transport = httpx.ASGITransport(app=request.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tiny") as client:
            await client.get("/inner", headers={"X-Request-ID": "inner-request"})
        note("outer after")
        return PlainTextResponse("ok")

    async def inner(request: Request) -> Response:
        bind_session("I" * 22)
        note("inner")
        return PlainTextResponse("ok")

    async def broken(request: Request) -> Response:
        raise RuntimeError("boom")

    return Starlette(
        routes=[
            Route(f"/sessions/{SESSION}", outer),
            Route("/inner", inner),
            Route("/broken", broken),
        ],
        middleware=[Middleware(RequestLog)],
    )


async def test_access_nested_request_puts_back_the_outer_ids() -> None:
    records: list[tuple[str, str | None, str | None]] = []
    transport = httpx.ASGITransport(app=tiny_app(records))
    async with httpx.AsyncClient(transport=transport, base_url="http://tiny") as client:
        await client.get(f"/sessions/{SESSION}", headers={"X-Request-ID": "outer-request"})
    assert records == [
        ("outer before", "outer-request", SESSION),
        ("inner", "inner-request", "I" * 22),
        ("outer after", "outer-request", SESSION),
    ]
    assert REQUEST_ID.get() is None and SESSION_ID.get() is None


async def test_access_unhandled_error_logged_with_the_request_id(json_log: JsonLines) -> None:
    transport = httpx.ASGITransport(app=tiny_app([]), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://tiny") as client:
        response = await client.get("/broken", headers={"X-Request-ID": "broken-request"})
    assert response.status_code == 500
    [error] = [line for line in json_log() if line["logger"] == "relay.app"]
    assert error["message"] == "unhandled error on GET /broken"
    assert error["request_id"] == "broken-request"
    assert "RuntimeError: boom" in error["exc_info"]
    [access] = [line for line in json_log() if line["logger"] == "relay.access"]
    assert access["message"].startswith("GET /broken 500 ")
    assert access["request_id"] == "broken-request"


async def test_access_websocket_handshake_echoes_the_request_id(served: Relay) -> None:
    started = await served.start()
    socket = await served.live(started.session_id, served.desktop_cookie(started.session_id))
    try:
        assert socket.response is not None
        assert len(socket.response.headers["X-Request-ID"]) >= 8
    finally:
        await socket.close()
