"""Real relay processes and a real Redis for tests/test_cluster.py.

- RelayProcess: `python -m relay serve` (uvicorn) on a port the OS chose, its log in a file, its
  CPU time read from /proc; stopped by its own pid only.
- RedisServer: a redis-server of the test's own, on a free port, with its data in a temporary
  folder and an append-only file synced on every write, so that a restart keeps the data as a
  real Redis with persistence would.
- The parties of one login, over real sockets: the desktop (httpx and a websocket), the phone
  (httpx), the relying party (/token, the JWKS, /userinfo). Each step names the relay process it
  goes to, as a load balancer would pick one; one httpx client per party, whose cookie jar holds
  for every port of 127.0.0.1 (one host name behind the load balancer).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import html
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import redis
import websockets
from joserfc import jwt
from joserfc.jwk import KeySet
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from relay.digests import sha256_hex

CLIENT_ID = "cluster-rp"
CLIENT_SECRET = "cluster-rp-secret-for-tests-only"
REDIRECT_URI = "https://rp.cluster.test/callback"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

START_WITHIN = 20.0  # seconds a relay process or a Redis has to answer after it was started
STOP_WITHIN = 10.0  # seconds a process has to exit once told to, before it is killed
ARRIVES_WITHIN = 5.0  # seconds an event, a close or an answer has to arrive (generous: no timing)


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A local port nothing listens on, and one this process has not handed out before: the
    kernel may give the same free port to two calls in a row, and two relays told to share one
    would make the second fail to bind while the first answers its health checks."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def write_config(
    folder: Path, *, issuer: str, store: str, key: Path, sandbox: str | None = None
) -> Path:
    """One configuration for every process: the issuer, the store, the shared signing key, one
    client, the sandbox provider (served by the relay process at `sandbox`, when given: the
    provider the relay calls server to server must be one that is up)."""
    lines = [
        f'issuer = "{issuer}"',
        f'store = "{store}"',
        f'signing_key = "{key}"',
        f"[clients.{CLIENT_ID}]",
        f'secret = "{CLIENT_SECRET}"',
        f'redirect_uris = ["{REDIRECT_URI}"]',
        'providers = ["sandbox"]',
        'display_name = "Cluster RP"',
        "[providers.sandbox]",
        'kind = "sandbox"',
    ]
    if sandbox is not None:
        lines += [
            f'authorize_url = "{sandbox}/sandbox/authorize"',
            f'token_url = "{sandbox}/sandbox/token"',
            f'userinfo_url = "{sandbox}/sandbox/userinfo"',
        ]
    path = folder / "relay.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def wait_until(condition: Any, within: float, what: str, every: float = 0.05) -> float:
    """Poll `condition()` until true; the seconds it took. Fails with `what` after `within`."""
    started = time.monotonic()
    while True:
        if condition():
            return time.monotonic() - started
        if time.monotonic() - started > within:
            raise AssertionError(f"{what}: not within {within} s")
        time.sleep(every)


class RelayProcess:
    """`python -m relay serve` on 127.0.0.1:port."""

    def __init__(self, name: str, config: Path, port: int, folder: Path) -> None:
        self.name = name
        self.config = config
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = folder / f"relay-{name}-{port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RelayProcess:
        with self.log_path.open("ab") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "relay",
                    "serve",
                    "--config",
                    str(self.config),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--log-format",
                    "json",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def healthy(self) -> bool:
        if not self.alive():
            raise AssertionError(f"relay {self.name} exited early:\n{self.log()}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200
        except httpx.TransportError:
            return False

    def wait_healthy(self) -> float:
        return wait_until(self.healthy, START_WITHIN, f"relay {self.name} answering /healthz")

    def ready(self) -> int:
        """/readyz's status code (0 when nothing answers)."""
        try:
            return httpx.get(f"{self.url}/readyz", timeout=3.0).status_code
        except httpx.TransportError:
            return 0

    def cpu_seconds(self) -> float:
        """User and system CPU time the process has used so far (/proc/PID/stat)."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state is fields[0]
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (14, 15)

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def wait_exit(self, within: float = STOP_WITHIN) -> int:
        assert self.process is not None
        return self.process.wait(timeout=within)

    def stop(self) -> None:
        """Stop it if it still runs: SIGTERM, then SIGKILL after STOP_WITHIN seconds."""
        if not self.alive():
            return
        self.signal(signal.SIGTERM)
        try:
            self.wait_exit()
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.wait_exit()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_records(self) -> list[dict[str, Any]]:
        records = []
        for line in self.log().splitlines():
            with contextlib.suppress(ValueError):
                records.append(json.loads(line))
        return records

    def answered(self, status: int) -> list[dict[str, Any]]:
        """Access-log records of the requests it answered with `status`."""
        return [r for r in self.log_records() if r.get("http", {}).get("status") == status]


def redis_server_program() -> str:
    """The redis-server program, by the rule of the `redis_url` fixture: missing with CI=true,
    the test fails; elsewhere it is skipped with the reason shown."""
    found = shutil.which("redis-server")
    if found is None:
        reason = "the redis-server program is not installed (scripts/ensure-redis installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {reason}")
        pytest.skip(reason)
    return found


class RedisServer:
    """A redis-server of the test's own: a free port, data in `folder`, persistence on."""

    def __init__(self, program: str, folder: Path) -> None:
        self.program = program
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        """Start it (again, on the same port and folder); the seconds until it answered."""
        self.process = subprocess.Popen(
            [
                self.program,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.folder),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
                "--daemonize",
                "no",
                "--logfile",
                str(self.folder / "redis.log"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return wait_until(self.answers, START_WITHIN, f"redis-server on port {self.port}")

    def answers(self) -> bool:
        if self.process is None or self.process.poll() is not None:
            log = (self.folder / "redis.log").read_text(errors="replace")
            raise AssertionError(f"redis-server exited:\n{log}")
        try:
            with redis.Redis(port=self.port, socket_connect_timeout=0.5) as client:
                return bool(client.ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        """SIGTERM, as `redis-cli shutdown` would: Redis syncs its append-only file and exits."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_WITHIN)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def delete_keys(url: str, prefix: str) -> int:
    """Remove what a test run left in Redis under its prefix; how many keys."""
    with redis.Redis.from_url(url) as client:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        return len(keys)


# --- the parties of one login -------------------------------------------------------------------


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def on(relay: RelayProcess, url: str) -> str:
    """The same path and query, sent to `relay` (what a load balancer would do)."""
    parts = urlsplit(url)
    return f"{relay.url}{parts.path}" + (f"?{parts.query}" if parts.query else "")


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def form_fields(page: str) -> dict[str, str]:
    return {k: html.unescape(v) for k, v in re.findall(r'name="([^"]+)" value="([^"]*)"', page)}


def authorize_params(challenge: str) -> dict[str, str]:
    return {
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": "openid profile",
        "state": "cluster-state",
        "nonce": "cluster-nonce",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }


@dataclass
class Login:
    """One login: the desktop browser, the phone, and what they learnt on the way."""

    desktop: httpx.AsyncClient
    phone: httpx.AsyncClient
    verifier: str = ""
    session_id: str = ""
    scan_url: str = ""

    @classmethod
    def new(cls) -> Login:
        timeout = httpx.Timeout(ARRIVES_WITHIN * 2)
        return cls(httpx.AsyncClient(timeout=timeout), httpx.AsyncClient(timeout=timeout))

    async def aclose(self) -> None:
        await self.desktop.aclose()
        await self.phone.aclose()

    # the desktop

    async def start(self, relay: RelayProcess) -> None:
        """The relying party sends the desktop to /authorize; it lands on the login page."""
        self.verifier, challenge = pkce()
        going = await self.desktop.get(f"{relay.url}/authorize", params=authorize_params(challenge))
        assert going.status_code == 303, going.text
        page = await self.desktop.get(on(relay, going.headers["location"]))
        assert page.status_code == 200, page.text
        found = re.search(r'data-scan-url="(http[^"]+/s/[^"]+)"', page.text)
        assert found, "the login page shows no scan URL"
        self.session_id = page.url.path.rsplit("/", 1)[1]
        self.scan_url = found.group(1)

    def cookie(self) -> str:
        name = f"relay_bind_{sha256_hex(self.session_id)[:16]}"
        for cookie in self.desktop.cookies.jar:
            if cookie.name == name:
                return f"{name}={cookie.value}"
        raise AssertionError("the desktop holds no binding cookie for this session")

    async def live(self, relay: RelayProcess) -> ClientConnection:
        """The login page's websocket, on `relay`."""
        url = relay.url.replace("http://", "ws://") + f"/sessions/{self.session_id}/live"
        return await websockets.connect(
            url, additional_headers={"Cookie": self.cookie()}, open_timeout=ARRIVES_WITHIN
        )

    async def resume(self, relay: RelayProcess) -> str:
        """After `confirmed`: the desktop goes on; the code the relying party receives."""
        back = await self.desktop.get(f"{relay.url}/sessions/{self.session_id}/resume")
        assert back.status_code == 302, back.text
        answer = query_of(back.headers["location"])
        assert back.headers["location"].startswith(REDIRECT_URI + "?")
        assert answer["state"] == "cluster-state"
        return answer["code"]

    # the phone

    async def scan(self, relay: RelayProcess) -> None:
        scanned = await self.phone.get(on(relay, self.scan_url))
        assert scanned.status_code == 303, scanned.text
        context = await self.phone.get(on(relay, scanned.headers["location"]))
        assert context.status_code == 200, context.text
        assert "Sign in to Cluster RP?" in context.text

    async def approve(self, relay: RelayProcess, name: str) -> float:
        """Continue, approve at the sandbox, come back to the relay's callback: "Done". When the
        phone sent its callback request (time.monotonic())."""
        going = await self.phone.post(f"{relay.url}/phone/{self.session_id}/continue")
        assert going.status_code == 303, going.text
        page = await self.phone.get(on(relay, going.headers["location"]))
        assert page.status_code == 200, page.text
        fields = form_fields(page.text)
        fields.update(decision="approve", name=name)
        back = await self.phone.post(f"{relay.url}/sandbox/authorize", data=fields)
        assert back.status_code in (302, 303), back.text
        sent = time.monotonic()
        done = await self.phone.get(on(relay, back.headers["location"]))
        assert done.status_code == 200, done.text
        assert "Return to your computer" in done.text, done.text
        return sent


async def next_status(socket: ClientConnection, within: float = ARRIVES_WITHIN) -> str:
    async with asyncio.timeout(within):
        event: dict[str, Any] = json.loads(await socket.recv())
    return str(event["status"])


async def close_code(socket: ClientConnection, within: float = ARRIVES_WITHIN) -> int | None:
    """Wait for the socket to close; the code the server sent (None: no close frame at all)."""
    async with asyncio.timeout(within):
        try:
            while True:
                await socket.recv()
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd is not None else None


async def redeem_and_check(
    code: str, verifier: str, *, token_at: RelayProcess, userinfo_at: RelayProcess, issuer: str
) -> dict[str, Any]:
    """The relying party: /token, the id_token against the JWKS, /userinfo. The id_token's
    claims."""
    async with httpx.AsyncClient(timeout=ARRIVES_WITHIN * 2) as rp:
        tokens = await rp.post(
            f"{token_at.url}/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "code_verifier": verifier,
            },
            auth=(CLIENT_ID, CLIENT_SECRET),
        )
        assert tokens.status_code == 200, tokens.text
        body = tokens.json()
        keys = KeySet.import_key_set((await rp.get(f"{userinfo_at.url}/jwks.json")).json())
        claims: dict[str, Any] = jwt.decode(body["id_token"], keys, algorithms=["RS256"]).claims
        assert claims["iss"] == issuer
        assert claims["aud"] == CLIENT_ID
        assert claims["nonce"] == "cluster-nonce"
        assert claims["idp"] == "sandbox"
        assert claims["exp"] > time.time()
        profile = await rp.get(
            f"{userinfo_at.url}/userinfo",
            headers={"Authorization": f"Bearer {body['access_token']}"},
        )
        assert profile.status_code == 200, profile.text
        assert profile.json()["sub"] == claims["sub"]
        assert profile.json()["name"] == claims["name"]
        return claims


async def eventually(check: Any, within: float, what: str, every: float = 0.05) -> float:
    """Await `check()` until it is true; the seconds it took. Fails with `what` after `within`."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > within:
            raise AssertionError(f"{what}: not within {within} s")
        await asyncio.sleep(every)
    return time.monotonic() - started


async def status_of(url: str) -> int:
    """The status code a GET of `url` answers (0 when nothing answers)."""
    try:
        async with httpx.AsyncClient(timeout=3.0) as client:
            return (await client.get(url)).status_code
    except httpx.TransportError:
        return 0
