"""The relying party's logo on its login page (relay/pages/logos.py): served from the relay's own
origin, checked to be an image, never run."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from relay.app import create_app
from relay.errors import ConfigError
from relay.oidc.keys import SigningKey
from relay.pages.logos import MAX_LOGO_BYTES
from relay.settings import parse_settings
from tests.conftest import make_settings
from tests.flows import Internet, Relay

# The smallest PNG there is: one transparent pixel.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGBgAAAABQABpfZFQAAAAABJRU5ErkJggg=="
)
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><script>alert(1)</script></svg>'


class BrandSite:
    """The relying party's web site, where its logo lives; counts what the relay asks it."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.app = Starlette(routes=[Route("/{name}", self.serve)])

    async def serve(self, request: Request) -> Response:
        name = request.path_params["name"]
        self.asked.append(name)
        if name == "logo.png":
            return Response(PNG, media_type="image/png")
        if name == "logo.svg":
            return Response(SVG, media_type="image/svg+xml")
        if name == "mislabelled.png":  # a page sent as an image
            return Response(b"<html><body>hello</body></html>", media_type="image/png")
        if name == "huge.png":
            return Response(PNG + b"\0" * MAX_LOGO_BYTES, media_type="image/png")
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
