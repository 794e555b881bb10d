"""Shared fixtures: a relay app in-process, clients for the desktop and the phone, and a real
uvicorn server for what needs real sockets (websockets)."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.types import ASGIApp

from relay.app import create_app
from relay.oidc.keys import SigningKey
from relay.settings import ClientConfig, LimitsConfig, ProviderConfig, Settings
from tests.cluster_support import delete_keys
from tests.flows import Internet, Relay

ISSUER = "http://relay.test"
RP_REDIRECT = "https://rp.example/callback"
# The suite starts many logins from one address (127.0.0.1, "testclient"): rate limits off, size
# limits as configured by default. tests/abuse/ proves each limit with low values of its own.
NO_RATE_LIMITS = LimitsConfig(
    authorize="off", scan="off", token="off", token_per_client="off", live="off", waiting_per_ip=0
)


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    return SigningKey.generate()  # RSA key generation is slow: once per test run


def make_settings(issuer: str = ISSUER, **overrides: Any) -> Settings:
    providers = {
        "sandbox": ProviderConfig(
            name="sandbox",
            kind="sandbox",
            display_name="Sandbox",
            client_id="relay",
            client_secret="sandbox-secret",
        ),
        "sandbox2": ProviderConfig(
            name="sandbox2",
            kind="sandbox",
            display_name="Second sandbox",
            client_id="relay2",
            client_secret="sandbox2-secret",
        ),
    }
    clients = {
        "rp": ClientConfig(
            client_id="rp",
            secret="rp-secret",
            redirect_uris=(RP_REDIRECT,),
            providers=("sandbox",),
            display_name="Example RP",
        ),
        "multi": ClientConfig(
            client_id="multi",
            secret="multi-secret",
            redirect_uris=("https://multi.example/a", "https://multi.example/b?x=1"),
            providers=("sandbox", "sandbox2"),
            display_name="Multi RP",
        ),
        "demo": ClientConfig(
            client_id="demo",
            secret="demo-secret",
            redirect_uris=(f"{issuer}/demo/callback",),
            providers=("sandbox",),
            display_name="Demo app",
        ),
    }
    settings = Settings(
        issuer=issuer,
        clients=clients,
        providers=providers,
        demo=True,
        signing_key=None,
        limits=NO_RATE_LIMITS,
    )
    return replace(settings, **overrides)


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
def app_factory(
    signing_key: SigningKey,
) -> Callable[[Settings], Starlette]:
    def build(settings: Settings) -> Starlette:
        internet = Internet()
        app = create_app(settings, keys=signing_key, http_transport=internet)
        internet.route(settings.issuer, app)
        return app

    return build


@pytest.fixture
async def relay(
    settings: Settings, app_factory: Callable[[Settings], Starlette]
) -> AsyncIterator[Relay]:
    """The relay in-process; upstream calls (the sandbox, the demo) loop back into it."""
    app = app_factory(settings)
    async with Relay(app, settings) as r:
        yield r


@pytest.fixture
async def relay_from(
    app_factory: Callable[[Settings], Starlette],
) -> AsyncIterator[Callable[..., Relay]]:
    """`relay_from(rp={...}, **overrides)`: an in-process relay on `make_settings(**overrides)`,
    with the client "rp" changed by `rp` (its match_code, same_network, ...)."""
    made: list[Relay] = []

    def make(rp: dict[str, Any] | None = None, **overrides: Any) -> Relay:
        settings = make_settings(**overrides)
        if rp:
            clients = dict(settings.clients)
            clients["rp"] = replace(clients["rp"], **rp)
            settings = replace(settings, clients=clients)
        relay = Relay(app_factory(settings), settings)
        made.append(relay)
        return relay

    yield make
    for relay in made:
        await relay.__aexit__()


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
async def served(signing_key: SigningKey, request: pytest.FixtureRequest) -> AsyncIterator[Relay]:
    """The relay on a real uvicorn server on a free local port (for websockets).
    Parametrize indirectly with a dict of Settings overrides."""
    overrides = getattr(request, "param", {})
    sock = free_socket()
    port = sock.getsockname()[1]
    settings = make_settings(f"http://127.0.0.1:{port}", **overrides)
    app = create_app(settings, keys=signing_key)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(500):  # uvicorn offers no event for "started"; wait up to 5 s
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    assert server.started, "uvicorn did not start"
    try:
        async with Relay(app, settings, transport=httpx.AsyncHTTPTransport()) as r:
            yield r
    finally:
        server.should_exit = True
        await task
        sock.close()


RelayFactory = Callable[..., Awaitable[Relay]]


@pytest.fixture
async def relay_with(signing_key: SigningKey) -> AsyncIterator[RelayFactory]:
    """Build an in-process relay with other providers and clients, and fakes of those providers
    on their real hostnames: `await relay_with(providers={...}, fakes={"api.weixin.qq.com": app})`.
    Without `clients`, the client "rp" may use every given provider."""
    made: list[Relay] = []

    async def make(
        *,
        providers: dict[str, ProviderConfig],
        fakes: dict[str, ASGIApp] | None = None,
        clients: dict[str, ClientConfig] | None = None,
        **overrides: Any,
    ) -> Relay:
        if clients is None:
            clients = {
                "rp": ClientConfig(
                    client_id="rp",
                    secret="rp-secret",
                    redirect_uris=(RP_REDIRECT,),
                    providers=tuple(providers),
                    display_name="Example RP",
                )
            }
        settings = make_settings(providers=providers, clients=clients, demo=False, **overrides)
        internet = Internet()
        app = create_app(settings, keys=signing_key, http_transport=internet)
        internet.route(settings.issuer, app)
        for host, fake in (fakes or {}).items():
            internet.route(host, fake)
        relay = Relay(app, settings, transport=internet)
        made.append(relay)
        return relay

    yield make
    for relay in made:
        await relay.__aexit__()


REDIS_URL = os.environ.get("RELAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis the Redis tests use (RELAY_TEST_REDIS_URL, default database 15 on the local
    server). Unreachable: with CI=true the tests fail loudly; elsewhere they are skipped, with
    the reason shown."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        reason = f"Redis at {REDIS_URL} is not reachable ({exc}); set RELAY_TEST_REDIS_URL"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {reason}")
        pytest.skip(reason)
    return REDIS_URL


@pytest.fixture
def redis_store(redis_url: str) -> Iterator[str]:
    """A `store=` URL on the test Redis under a key prefix of this test's own, so that tests and
    runs never meet in one database; whatever the test left under it is deleted afterwards,
    passed or failed."""
    prefix = f"test:{uuid.uuid4().hex}:"
    try:
        yield f"{redis_url}{'&' if '?' in redis_url else '?'}prefix={prefix}"
    finally:
        delete_keys(redis_url, prefix)
