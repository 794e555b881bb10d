"""Security headers on every page and API answer."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from relay.settings import Settings
from tests.flows import Relay


async def test_headers_on_pages_and_api(relay: Relay) -> None:
    started = await relay.start()
    for response in (
        started.page,
        await relay.desktop.get("/.well-known/openid-configuration"),
        await relay.desktop.get("/authorize"),  # the error page
        await relay.desktop.get("/no-such-page"),
    ):
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "strict-transport-security" not in response.headers  # http issuer


async def test_headers_hsts_only_for_https_issuer(settings: Settings, app_factory: Any) -> None:
    https = replace(settings, issuer="https://relay.test")
    async with Relay(app_factory(https), https) as relay:
        response = await relay.desktop.get("/healthz")
        assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_pages_use_no_inline_script_or_third_party_resource(relay: Relay) -> None:
    started = await relay.start()
    page = started.page.text
    assert "<script>" not in page and "<script " in page
    assert 'src="/static/login.js"' in page
    assert "http://" not in page.replace(relay.issuer, "").replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
