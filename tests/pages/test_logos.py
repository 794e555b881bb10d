"""The relying party's logo on its login page (relay/pages/logos.py): served from the relay's own
origin, checked to be an image, never run; and a slow logo host never holds up a login page."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from relay.app import create_app
from relay.errors import ConfigError
from relay.oidc.keys import SigningKey
from relay.pages.logos import KEEP, MAX_LOGO_BYTES, PAGE_WAIT, RETRY
from relay.settings import parse_settings
from tests.conftest import make_settings
from tests.flows import Internet, Relay, Started

T = TypeVar("T")

# The smallest PNG there is: one transparent pixel.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGBgAAAABQABpfZFQAAAAABJRU5ErkJggg=="
)
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><script>alert(1)</script></svg>'


class BrandSite:
    """The relying party's web site, where its logo lives; counts what the relay asks it."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.delay = 0.0  # seconds before each answer
        self.down = False  # every answer a 503
        self.app = Starlette(routes=[Route("/{name}", self.serve)])

    async def serve(self, request: Request) -> Response:
        name = request.path_params["name"]
        self.asked.append(name)
        await asyncio.sleep(self.delay)
        if self.down:
            return Response("down for maintenance", status_code=503)
        if name == "logo.png":
            return Response(PNG, media_type="image/png")
        if name == "logo.svg":
            return Response(SVG, media_type="image/svg+xml")
        if name == "mislabelled.png":  # a page sent as an image
            return Response(b"<html><body>hello</body></html>", media_type="image/png")
        if name == "huge.png":
            return Response(PNG + b"\0" * MAX_LOGO_BYTES, media_type="image/png")
        if name == "moved.png":
            return Response(status_code=302, headers={"Location": "/logo.png"})
        return Response("not found", status_code=404)


@pytest.fixture
async def relay_with_logo(
    signing_key: SigningKey,
) -> AsyncIterator[Callable[[str], tuple[Relay, BrandSite]]]:
    made: list[Relay] = []

    def make(logo_uri: str) -> tuple[Relay, BrandSite]:
        settings = make_settings()
        clients = dict(settings.clients)
        clients["rp"] = replace(clients["rp"], logo_uri=logo_uri)
        settings = replace(settings, clients=clients)
        site = BrandSite()
        internet = Internet()
        app = create_app(settings, keys=signing_key, http_transport=internet)
        internet.route(settings.issuer, app)
        internet.route("https://brand.example", site.app)
        relay = Relay(app, settings)
        made.append(relay)
        return relay, site

    yield make
    for relay in made:
        await relay.__aexit__()


async def test_a_fetched_logo_is_shown_from_the_relays_origin_and_fetched_once(
    relay_with_logo: Callable[[str], tuple[Relay, BrandSite]],
) -> None:
    relay, site = relay_with_logo("https://brand.example/logo.png")
    first = await relay.start()
    second = await relay.start()
    for started in (first, second):
        assert 'src="/clients/rp/logo"' in started.page.text
        assert "brand.example" not in started.page.text  # nothing third-party on the page
    served = await relay.desktop.get("/clients/rp/logo")
    assert served.status_code == 200
    assert served.content == PNG
    assert served.headers["content-type"] == "image/png"
    assert "sandbox" in served.headers["content-security-policy"]
    assert site.asked == ["logo.png"]


async def test_a_data_uri_logo_needs_no_fetch(
    relay_with_logo: Callable[[str], tuple[Relay, BrandSite]],
) -> None:
    relay, site = relay_with_logo("data:image/png;base64," + base64.b64encode(PNG).decode())
    started = await relay.start()
    assert 'src="/clients/rp/logo"' in started.page.text
    assert (await relay.desktop.get("/clients/rp/logo")).content == PNG
    assert site.asked == []


async def test_an_svg_logo_is_served_under_a_policy_that_runs_nothing(
    relay_with_logo: Callable[[str], tuple[Relay, BrandSite]],
) -> None:
    relay, _ = relay_with_logo("https://brand.example/logo.svg")
    served = await relay.desktop.get("/clients/rp/logo")
    assert served.headers["content-type"].startswith("image/svg+xml")
    policy = served.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy
    assert served.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("name", ["mislabelled.png", "huge.png", "gone.png"])
async def test_no_usable_image_means_the_name_without_a_logo(
    relay_with_logo: Callable[[str], tuple[Relay, BrandSite]], name: str
) -> None:
    relay, site = relay_with_logo(f"https://brand.example/{name}")
    started = await relay.start()
    assert started.page.status_code == 200
    assert "client-logo" not in started.page.text
    assert "Sign in to Example RP" in started.page.text
    assert (await relay.desktop.get("/clients/rp/logo")).status_code == 404
    await relay.start()
    assert site.asked == [name]  # tried again only after a while, not on every page


async def test_a_client_without_a_logo_or_an_unknown_client_has_none(relay: Relay) -> None:
    started = await relay.start()
    assert "client-logo" not in started.page.text
    assert (await relay.desktop.get("/clients/rp/logo")).status_code == 404
    assert (await relay.desktop.get("/clients/nobody/logo")).status_code == 404


def settings_with_logo(logo_uri: Any) -> None:
    parse_settings(
        {
            "issuer": "https://login.example",
            "providers": {"sandbox": {"kind": "sandbox"}},
            "clients": {
                "rp": {
                    "secret": "s",
                    "redirect_uris": ["https://rp.example/cb"],
                    "providers": ["sandbox"],
                    "logo_uri": logo_uri,
                }
            },
        }
    )


@pytest.mark.parametrize(
    "logo_uri",
    [
        "javascript:alert(1)",
        "http://brand.example/logo.png",  # plain http off this machine
        "data:text/html;base64,PGI+aGk8L2I+",
        "data:image/png,not-base64",
        "",
        42,
    ],
)
def test_a_logo_uri_that_is_not_an_image_address_is_a_configuration_error(
    logo_uri: Any,
) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_with_logo(logo_uri)
    assert "logo_uri" in str(caught.value)


def test_https_and_data_logo_uris_are_accepted() -> None:
    settings_with_logo("https://brand.example/logo.png")
    settings_with_logo("data:image/png;base64," + base64.b64encode(PNG).decode())


def has_logo(started: Started) -> bool:
    return 'src="/clients/rp/logo"' in started.page.text


async def timed(work: Awaitable[T]) -> tuple[float, T]:
    began = time.monotonic()
    result = await work
    return time.monotonic() - began, result


async def test_a_redirect_from_the_logo_host_is_not_followed(
    relay_with_logo: Callable[[str], tuple[Relay, BrandSite]],
) -> None:
    relay, site = relay_with_logo("https://brand.example/moved.png")
    started = await relay.start()
    assert not has_logo(started)
    assert site.asked == ["moved.png"]


class LogoHost:
    """A logo host on a real local port that answers slowly or never: `silent` accepts and says
    nothing; otherwise it sends the headers of a large PNG, then one byte every `trickle` seconds
    (each read well within the relay's per-read timeout). Counts the connections it gets."""

    def __init__(self, *, silent: bool = False, trickle: float = 0.05) -> None:
        self.silent, self.trickle = silent, trickle
        self.connections = 0
        self.handlers: set[asyncio.Task[None]] = set()
        self.server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def __aenter__(self) -> LogoHost:
        self.server = await asyncio.start_server(self.answer, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for handler in self.handlers:
            handler.cancel()
        await asyncio.gather(*self.handlers, return_exceptions=True)

    async def answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        self.connections += 1
        try:
            await reader.readuntil(b"\r\n\r\n")
            if self.silent:
                await asyncio.Event().wait()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n"
                + PNG
            )
            while True:
                await writer.drain()
                await asyncio.sleep(self.trickle)
                writer.write(b"\0")
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the relay gave up and hung up
        finally:
            writer.close()


# Signed, as on a CDN: the query must stay out of the logs.
SIGNED = "/brand/logo.png?X-Amz-Signature=0123456789abcdef"


async def test_a_silent_logo_host_does_not_hold_up_the_login_pages(
    relay_with_logo: Callable[[str], tuple[Relay, BrandSite]],
) -> None:
    async with LogoHost(silent=True) as host:
        relay, _ = relay_with_logo(f"http://127.0.0.1:{host.port}{SIGNED}")
        elapsed, pages = await timed(asyncio.gather(relay.start(), relay.start(), relay.start()))
        assert elapsed < PAGE_WAIT + 2.5  # waiting on the host: 5 s (its read timeout)
        for started in pages:
            assert not has_logo(started)  # the name alone, the QR code as usual
            assert "Sign in to Example RP" in started.page.text
        assert host.connections == 1  # the pages shared one fetch
        # Nothing held yet: the logo's address says so within the same short wait.
        elapsed, served = await timed(relay.desktop.get("/clients/rp/logo"))
        assert served.status_code == 404
        assert served.headers["cache-control"] == "no-store"
        assert elapsed < PAGE_WAIT + 2.5
        assert host.connections == 1


async def test_a_trickling_logo_host_is_given_up_at_the_fetchs_deadline(
    relay_with_logo: Callable[[str], tuple[Relay, BrandSite]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with LogoHost(trickle=0.05) as host:
        relay, _ = relay_with_logo(f"http://127.0.0.1:{host.port}{SIGNED}")
        logos = relay.core.logos
        # The page would wait long for the fetch: what ends it is the fetch's own deadline,
        # although every byte comes well within the per-read timeout.
        logos.page_wait, logos.deadline = 30.0, 0.5
        with caplog.at_level(logging.WARNING):
            elapsed, started = await timed(relay.start())
        assert 0.5 <= elapsed < 5.0  # the page itself would wait 30 s
        assert not has_logo(started)
        assert f"127.0.0.1:{host.port}" in caplog.text
        assert "within 0.5 s" in caplog.text
        for private in ("brand", "logo.png", "X-Amz-Signature", "0123456789abcdef"):
            assert private not in caplog.text
        # Failed: not tried again by every page, only after a while.
        await relay.start()
        assert host.connections == 1


async def test_concurrent_pages_share_one_fetch_of_the_logo(
    relay_with_logo: Callable[[str], tuple[Relay, BrandSite]],
) -> None:
    relay, site = relay_with_logo("https://brand.example/logo.png")
    site.delay = 0.2
    pages = await asyncio.gather(*(relay.start() for _ in range(4)))
    assert all(has_logo(started) for started in pages)
    assert site.asked == ["logo.png"]


async def test_an_old_logo_is_shown_at_once_while_a_fresh_one_is_fetched(
    relay_with_logo: Callable[[str], tuple[Relay, BrandSite]],
) -> None:
    relay, site = relay_with_logo("https://brand.example/logo.png")
    now = [1000.0]
    relay.core.logos.clock = lambda: now[0]
    assert has_logo(await relay.start())
    now[0] += KEEP + 1
    site.delay = 60.0  # the host has become slow
    elapsed, started = await timed(relay.start())
    assert elapsed < 5.0  # waiting on the host: 60 s
    assert has_logo(started)
    assert (await relay.desktop.get("/clients/rp/logo")).content == PNG
    await asyncio.sleep(0)
    assert site.asked == ["logo.png", "logo.png"]  # refreshed once, behind the pages


async def test_a_failed_refresh_keeps_the_logo_and_tries_again_later(
    relay_with_logo: Callable[[str], tuple[Relay, BrandSite]],
) -> None:
    relay, site = relay_with_logo("https://brand.example/logo.png")
    now = [1000.0]
    logos = relay.core.logos
    logos.clock = lambda: now[0]
    await relay.start()
    now[0] += KEEP + 1
    site.down = True
    await relay.start()  # starts the refresh, which fails
    await asyncio.gather(*logos.fetching.values())
    assert has_logo(await relay.start())
    assert (await relay.desktop.get("/clients/rp/logo")).content == PNG
    assert site.asked == ["logo.png", "logo.png"]
    now[0] += RETRY + 1
    site.down = False
    await relay.start()
    await asyncio.gather(*logos.fetching.values())
    assert site.asked == ["logo.png", "logo.png", "logo.png"]


async def test_the_logos_are_fetched_when_the_app_starts_without_holding_it_up(
    relay_with_logo: Callable[[str], tuple[Relay, BrandSite]],
) -> None:
    relay, site = relay_with_logo("https://brand.example/logo.png")
    site.delay = 0.2
    began = time.monotonic()
    relay.core.on_startup()  # the app's lifespan: returns at once, the fetch runs behind it
    assert time.monotonic() - began < site.delay  # before the host could have answered
    await asyncio.gather(*relay.core.logos.fetching.values())
    assert site.asked == ["logo.png"]
    assert has_logo(await relay.start())
    assert site.asked == ["logo.png"]  # the page needed no fetch of its own


async def test_the_log_names_the_logo_host_not_its_address(
    relay_with_logo: Callable[[str], tuple[Relay, BrandSite]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    relay, _ = relay_with_logo("https://brand.example/gone.png?X-Amz-Signature=0123456789abcdef")
    with caplog.at_level(logging.WARNING):
        await relay.start()
    assert "brand.example answered HTTP 404" in caplog.text
    for private in ("gone.png", "X-Amz-Signature", "0123456789abcdef"):
        assert private not in caplog.text
