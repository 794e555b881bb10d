"""Real relay processes (`python -m relay serve`, uvicorn) on a real Redis, and the faults of
issue 4: a websocket on one process and the phone on another; a process killed with SIGKILL while
a desktop waits on it; Redis stopping and coming back; SIGTERM with a websocket, an event stream
and a request in flight.

Two processes share one configuration (issuer = process A's URL), one signing key file and one
Redis: the database of RELAY_TEST_REDIS_URL, under a key prefix of this test run's own, removed
afterwards. Each step of a login is sent to the process a load balancer could have picked, with
the same path. Times are measured and bounded generously (ARRIVES_WITHIN); none is a target.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from joserfc.jwk import RSAKey
from redis.asyncio import Redis

from tests.cluster_support import (
    ARRIVES_WITHIN,
    CLIENT_ID,
    CLIENT_SECRET,
    Login,
    RedisServer,
    RelayProcess,
    authorize_params,
    close_code,
    delete_keys,
    eventually,
    free_port,
    next_status,
    pkce,
    redeem_and_check,
    redis_server_program,
    status_of,
    write_config,
)

SERVICE_RESTART = 1012
TRY_AGAIN_LATER = 1013
TIMINGS: dict[str, float] = {}  # seconds, printed at the end of each test (pytest -s shows them)


def with_prefix(url: str, prefix: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}prefix={prefix}"


@pytest.fixture(scope="module")
def run_prefix(redis_url: str) -> Iterator[str]:
    """This test run's keys in the test database; removed when the module is done."""
    prefix = f"test-cluster-{uuid.uuid4().hex[:12]}:"
    yield prefix
    delete_keys(redis_url, prefix)


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One signing key, shared by every process as one PEM file."""
    path = tmp_path_factory.mktemp("key") / "signing-key.pem"
    path.write_bytes(RSAKey.generate_key(2048, private=True).as_pem(private=True))
    path.chmod(0o600)
    return path


@dataclass
class Cluster:
    a: RelayProcess
    b: RelayProcess

    @property
    def issuer(self) -> str:
        return self.a.url


def show_logs(*processes: RelayProcess) -> None:
    """Printed at teardown: pytest shows them with a failing test."""
    for process in processes:
        print(f"----- relay {process.name} (port {process.port}) -----\n{process.log()}")


def assert_no_server_errors(*processes: RelayProcess) -> None:
    for process in processes:
        assert process.answered(500) == [], f"relay {process.name} answered 500"
        errors = [r for r in process.log_records() if r.get("level") in ("ERROR", "CRITICAL")]
        assert errors == [], f"relay {process.name} logged errors: {errors}"


@pytest.fixture
def cluster(redis_url: str, run_prefix: str, key_file: Path, tmp_path: Path) -> Iterator[Cluster]:
    """Relay processes A and B on one Redis. The sandbox provider is served by B, so that the
    relay's server-to-server calls to it keep working when A is stopped."""
    a_port, b_port = free_port(), free_port()
    config = write_config(
        tmp_path,
        issuer=f"http://127.0.0.1:{a_port}",
        store=with_prefix(redis_url, run_prefix),
        key=key_file,
        sandbox=f"http://127.0.0.1:{b_port}",
    )
    a = RelayProcess("A", config, a_port, tmp_path)
    b = RelayProcess("B", config, b_port, tmp_path)
    try:
        a.start()
        b.start()
        TIMINGS["started A"] = a.wait_healthy()
        TIMINGS["started B"] = b.wait_healthy()
        yield Cluster(a, b)
    finally:
        a.stop()
        b.stop()
        show_logs(a, b)
        print("timings (s):", {k: round(v, 4) for k, v in TIMINGS.items()})
        TIMINGS.clear()


async def test_cluster_websocket_on_a_phone_on_b(cluster: Cluster) -> None:
    """The desktop waits on A; the phone's scan, Continue and callback land on B; A's websocket is
    told each change; resume on B, /token on A, /userinfo on B."""
    a, b = cluster.a, cluster.b
    login = Login.new()
    try:
        await login.start(a)
        socket = await login.live(a)
        try:
            assert await next_status(socket) == "pending"
            sent = time.monotonic()
            await login.scan(b)
            assert await next_status(socket) == "scanned"
            TIMINGS["scan on B to scanned on A's websocket (incl. the context page)"] = (
                time.monotonic() - sent
            )
            sent = await login.approve(b, "Ada Lovelace")
            assert await next_status(socket) == "confirmed"
            TIMINGS["callback on B to confirmed on A's websocket"] = time.monotonic() - sent

            code = await login.resume(b)
            assert await next_status(socket) == "completed"
            assert await close_code(socket) == 1000  # final: the stream ends normally
        finally:
            await socket.close()
        claims = await redeem_and_check(
            code, login.verifier, token_at=a, userinfo_at=b, issuer=cluster.issuer
        )
        assert claims["name"] == "Ada Lovelace"
        assert claims["sub"].startswith("sandbox:")
    finally:
        await login.aclose()
    assert_no_server_errors(a, b)


async def test_cluster_sigkill_desktop_reconnects_to_the_other_process(cluster: Cluster) -> None:
    """A dies with SIGKILL while the desktop waits on it: the page reconnects to B, gets the
    current state first, and the login completes there. Nothing lost."""
    a, b = cluster.a, cluster.b
    login = Login.new()
    try:
        await login.start(a)
        socket = await login.live(a)
        assert await next_status(socket) == "pending"
        await login.scan(b)
        assert await next_status(socket) == "scanned"

        a.signal(signal.SIGKILL)
        assert a.wait_exit() == -signal.SIGKILL
        assert await close_code(socket) is None  # no close frame: the process just vanished

        socket = await login.live(b)  # the page reconnects; the load balancer picks B
        try:
            assert await next_status(socket) == "scanned"  # the current state, first
            sent = await login.approve(b, "Grace Hopper")
            assert await next_status(socket) == "confirmed"
            TIMINGS["callback on B to confirmed on B's websocket"] = time.monotonic() - sent
            code = await login.resume(b)
            assert await next_status(socket) == "completed"
        finally:
            await socket.close()
        claims = await redeem_and_check(
            code, login.verifier, token_at=b, userinfo_at=b, issuer=cluster.issuer
        )
        assert claims["name"] == "Grace Hopper"
    finally:
        await login.aclose()
    assert_no_server_errors(a, b)


async def next_data(lines: AsyncIterator[str]) -> str:
    """The next `data:` line of an event stream."""
    async with asyncio.timeout(ARRIVES_WITHIN):
        async for line in lines:
            if line.startswith("data:"):
                return line
    raise AssertionError("the event stream ended")


async def slow_request(
    url: str, path: str, body: bytes
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A POST of which the headers and the first half of the body are sent: the request is in
    flight (the app has it and waits for the rest) until the caller writes the other half."""
    parts = httpx.URL(url)
    reader, writer = await asyncio.open_connection(parts.host, parts.port)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {parts.host}:{parts.port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    writer.write(head + body[: len(body) // 2])
    await writer.drain()
    return reader, writer


async def test_cluster_sigterm_websocket_told_to_reconnect_request_in_flight_finishes(
    cluster: Cluster,
) -> None:
    """SIGTERM to A with a websocket, an event stream and a request in flight: the websocket is
    closed with 1012 (service restart), the event stream ends, the request gets its whole answer,
    and A exits. The desktop reconnects to B and the login completes there."""
    a, b = cluster.a, cluster.b
    login = Login.new()
    try:
        await login.start(a)
        socket = await login.live(a)
        assert await next_status(socket) == "pending"
        events_url = f"{a.url}/sessions/{login.session_id}/events"
        async with login.desktop.stream("GET", events_url) as events:
            assert events.status_code == 200
            lines = events.aiter_lines()
            assert '"status":"pending"' in await next_data(lines)
            await login.scan(b)
            assert await next_status(socket) == "scanned"
            assert '"status":"scanned"' in await next_data(lines)

            _, challenge = pkce()
            body = urlencode(authorize_params(challenge)).encode()
            reader, writer = await slow_request(a.url, "/authorize", body)
            await asyncio.sleep(0.3)  # the app has the request and waits for the rest of its body

            sent = time.monotonic()
            a.signal(signal.SIGTERM)
            assert await close_code(socket) == SERVICE_RESTART
            TIMINGS["SIGTERM to the websocket's 1012"] = time.monotonic() - sent
            async with asyncio.timeout(ARRIVES_WITHIN):
                rest = [line async for line in lines]  # the stream ends, cleanly
            assert not any(line.startswith("data:") for line in rest), rest
            TIMINGS["SIGTERM to the event stream's end"] = time.monotonic() - sent

        await asyncio.sleep(0.3)
        assert a.alive(), "A exited with a request in flight"
        writer.write(body[len(body) // 2 :])
        await writer.drain()
        async with asyncio.timeout(ARRIVES_WITHIN):
            answer = await reader.read()  # to the end: the server closes after answering
        writer.close()
        head = answer.split(b"\r\n\r\n", 1)[0].decode()
        assert head.startswith("HTTP/1.1 303"), head
        assert "location: /sessions/" in head.lower()
        assert "connection: close" in head.lower()

        status = await asyncio.to_thread(a.wait_exit, ARRIVES_WITHIN)
        TIMINGS["SIGTERM to exit"] = time.monotonic() - sent
        TIMINGS["exit status"] = status
        assert status == 0  # a clean stop, after the shutdown its log shows
        log = a.log()
        assert "Application shutdown complete." in log
        assert "Finished server process" in log

        socket = await login.live(b)  # the page reconnects; the load balancer picks B
        try:
            assert await next_status(socket) == "scanned"
            await login.approve(b, "Alan Turing")
            assert await next_status(socket) == "confirmed"
            code = await login.resume(b)
        finally:
            await socket.close()
        claims = await redeem_and_check(
            code, login.verifier, token_at=b, userinfo_at=b, issuer=cluster.issuer
        )
        assert claims["name"] == "Alan Turing"
    finally:
        await login.aclose()
    assert_no_server_errors(a, b)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, which the test stops and starts again."""
    folder = tmp_path / "redis"
    folder.mkdir()
    server = RedisServer(redis_server_program(), folder)
    try:
        TIMINGS["redis-server started"] = server.start()
        yield server
    finally:
        server.stop()


async def test_cluster_redis_outage_503_then_recovers_and_the_login_continues(
    own_redis: RedisServer, key_file: Path, tmp_path: Path
) -> None:
    port = free_port()
    config = write_config(
        tmp_path,
        issuer=f"http://127.0.0.1:{port}",
        store=with_prefix(own_redis.url, "test-outage:"),
        key=key_file,
    )
    relay = RelayProcess("R", config, port, tmp_path).start()
    login = Login.new()
    try:
        relay.wait_healthy()
        # A burst first: the relay's pool then holds several Redis connections, which the
        # outage leaves dead; none may be handed out broken once Redis is back.
        assert set(await burst(f"{relay.url}/readyz")) == {200}
        await login.start(relay)
        waiting = await login.live(relay)
        assert await next_status(waiting) == "pending"

        own_redis.stop()
        # The desktop's open websocket is told to try again later.
        assert await close_code(waiting) == TRY_AGAIN_LATER
        TIMINGS["Redis stopped to /readyz 503"] = await eventually(
            lambda: _is(f"{relay.url}/readyz", 503), ARRIVES_WITHIN, "/readyz answering 503"
        )
        assert (await status_of(f"{relay.url}/healthz")) == 200  # alive, just not ready

        # Pages: 503, a clear page, Retry-After.
        page = await login.desktop.get(f"{relay.url}/sessions/{login.session_id}")
        assert page.status_code == 503
        assert "Temporarily unavailable" in page.text
        assert page.headers["retry-after"] == "5"
        for url in (
            f"{relay.url}/authorize?{urlencode(authorize_params(pkce()[1]))}",
            login.scan_url,
            f"{relay.url}/sessions/{login.session_id}/events",
        ):
            answer = await login.desktop.get(url)
            assert answer.status_code == 503, (url, answer.status_code)
            assert "Temporarily unavailable" in answer.text
        # The API: 503 JSON temporarily_unavailable.
        async with httpx.AsyncClient(timeout=ARRIVES_WITHIN) as rp:
            token = await rp.post(
                f"{relay.url}/token",
                data={"grant_type": "authorization_code", "code": "x" * 43},
                auth=(CLIENT_ID, CLIENT_SECRET),
            )
            userinfo = await rp.get(
                f"{relay.url}/userinfo", headers={"Authorization": "Bearer " + "y" * 43}
            )
        for answer in (token, userinfo):
            assert answer.status_code == 503
            assert answer.json()["error"] == "temporarily_unavailable"
            assert answer.headers["retry-after"] == "5"
        # A websocket opened now: closed with 1013, try again later.
        refused = await login.live(relay)
        assert await close_code(refused) == TRY_AGAIN_LATER

        # Alive, and not spinning: CPU time over two seconds stays small.
        before = relay.cpu_seconds()
        await asyncio.sleep(2.0)
        used = relay.cpu_seconds() - before
        TIMINGS["CPU seconds used over 2 s of outage"] = used
        assert relay.alive()
        assert used < 0.3, f"{used:.2f} s of CPU in 2 s while Redis is down"

        TIMINGS["redis-server restarted"] = own_redis.start()
        TIMINGS["Redis back to /readyz 200"] = await eventually(
            lambda: _is(f"{relay.url}/readyz", 200), 15.0, "/readyz answering 200 again"
        )
        assert set(await burst(f"{relay.url}/readyz")) == {200}
        page = await login.desktop.get(f"{relay.url}/sessions/{login.session_id}")
        assert page.status_code == 200
        # The pub/sub connection is back too (it reconnects with back-off, at most 5 s apart),
        # subscribed again to the waiting desktop's channel.
        TIMINGS["Redis back to the relay subscribed again"] = await eventually(
            lambda: subscribed(own_redis, "test-outage:events:*"),
            15.0,
            "the relay's pub/sub subscribed again",
        )

        # The session, still inside its TTL, continues: the page's retry gets it first.
        socket = await login.live(relay)
        assert await next_status(socket) == "pending"
        await login.scan(relay)
        assert await next_status(socket) == "scanned"
        await login.approve(relay, "Barbara Liskov")
        assert await next_status(socket) == "confirmed"
        code = await login.resume(relay)
        await socket.close()
        claims = await redeem_and_check(
            code, login.verifier, token_at=relay, userinfo_at=relay, issuer=relay.url
        )
        assert claims["name"] == "Barbara Liskov"
        assert relay.alive()
        assert_no_server_errors(relay)
        # The process's one pub/sub reader said it lost Redis, under no request's ids.
        said = [r for r in relay.log_records() if r.get("logger") == "relay.events"]
        assert said and all(r["level"] == "WARNING" for r in said)
        assert not any("request_id" in r or "session_id" in r for r in said), said[0]
    finally:
        await login.aclose()
        relay.stop()
        show_logs(relay)
        print("timings (s):", {k: round(v, 4) for k, v in TIMINGS.items()})
        TIMINGS.clear()


async def _is(url: str, status: int) -> bool:
    return await status_of(url) == status


async def burst(url: str, size: int = 16) -> list[int]:
    """`size` GETs of `url` at once; their status codes."""
    async with httpx.AsyncClient(timeout=ARRIVES_WITHIN) as client:
        answers = await asyncio.gather(*(client.get(url) for _ in range(size)))
    return [answer.status_code for answer in answers]


async def subscribed(server: RedisServer, pattern: str) -> bool:
    """Whether some connection is subscribed to a channel matching `pattern`."""
    async with Redis(port=server.port) as client:
        return bool(await client.pubsub_channels(pattern))
