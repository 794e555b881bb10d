"""Security headers on every page and API answer."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from relay.settings import Settings
from tests.flows import Relay

MULTI = "https://multi.example/a"


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


RESOURCE = re.compile(r"<(script|link|img|iframe|object|embed|source|audio|video)\b[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)


def check_page(html: str, issuer: str, where: str) -> None:
    """No inline script or style, no event-handler attribute, and every script, stylesheet,
    image or frame from the relay itself (a relative URL or the issuer)."""
    for tag in RESOURCE.finditer(html):
        text = tag.group(0)
        if tag.group(1).lower() == "script":
            assert re.search(r'\ssrc="/static/', text), f"{where}: inline or foreign {text}"
        for url in re.findall(r'\s(?:src|href)="([^"]*)"', text):
            assert url.startswith("/") or url.startswith(issuer + "/"), f"{where}: {text}"
            assert not url.startswith("//"), f"{where}: {text}"
    assert "<style" not in html.lower(), f"{where}: inline <style>"
    assert " style=" not in html.lower(), f"{where}: inline style attribute"
    assert not INLINE_HANDLER.search(html), f"{where}: inline event handler"


async def test_every_page_loads_only_the_relays_own_resources(relay: Relay) -> None:
    """Under the CSP above a page that broke these rules would break, not leak; this finds it
    first, on every kind of page: home, demo, picker, login, phone, sandbox, callback outcome,
    error and message pages."""
    pages: dict[str, str] = {}
    started = await relay.start()
    pages["login"] = started.page.text
    scanned = await relay.scan(started.scan_url)
    pages["phone"] = (await relay.phone.get(scanned.headers["location"])).text
    going = await relay.continue_to_provider(started.session_id)
    pages["sandbox"] = (await relay.phone.get(going.headers["location"])).text
    pages["demo"] = (await relay.desktop.get("/demo")).text
    pages["picker"] = (await relay.authorize(client_id="multi", redirect_uri=MULTI)).text
    pages["authorize error"] = (await relay.desktop.get("/authorize")).text
    pages["not found"] = (await relay.desktop.get("/nowhere")).text
    pages["stale QR"] = (await relay.phone.get("/s/" + "A" * 44)).text
    for where, html in pages.items():
        if html:
            check_page(html, relay.issuer, where)
    assert len([h for h in pages.values() if "<html" in h]) >= 8


async def test_csp_allows_no_inline_script_or_style(relay: Relay) -> None:
    csp = (await relay.desktop.get("/demo")).headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "script-src" not in directives and "style-src" not in directives  # 'self' only


async def test_no_cross_origin_reads_are_granted(relay: Relay) -> None:
    """RFC 9700 §4.2.4 and the pages' binding rest on the browser's same-origin rule: the relay
    grants no CORS on the authorization endpoint, the pages or the token endpoint, so a foreign
    page cannot read their answers; a preflight gets no grant either."""
    evil = {"Origin": "https://evil.example"}
    started = await relay.start()
    for response in (
        await relay.desktop.get("/authorize", params=relay.authorize_params(), headers=evil),
        await relay.desktop.get(f"/sessions/{started.session_id}", headers=evil),
        await relay.desktop.post("/token", data={"grant_type": "authorization_code"}, headers=evil),
        await relay.desktop.request(
            "OPTIONS", "/token", headers={**evil, "Access-Control-Request-Method": "POST"}
        ),
    ):
        assert not any(h.startswith("access-control-") for h in response.headers), response
