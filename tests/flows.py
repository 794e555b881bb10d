"""A test driver for the relay: a desktop browser, a phone, and the steps of one login.

Each step goes through HTTP exactly as the real parties would: the desktop follows /authorize to
the login page, the phone opens the QR's URL, presses Continue, signs in at the sandbox and comes
back to the callback; the relying party posts to /token.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from dataclasses import dataclass
from typing import Self
from urllib.parse import parse_qs, urlsplit

import httpx
import websockets
from starlette.applications import Starlette
from starlette.types import ASGIApp
from websockets.asyncio.client import ClientConnection

from relay.core import Relay as RelayCore
from relay.digests import sha256_hex
from relay.settings import Settings
from tests.store.raw import memory_store_of


class Internet(httpx.AsyncBaseTransport):
    """A small internet for one test: each host is an ASGI app (the relay itself, fakes of the
    identity providers), reached over HTTP without a socket. Both the relay's upstream client
    and the test's browsers use it, so a phone can follow the relay's redirect to a fake
    provider's authorize page and back. Any other host goes to the real network (in these
    tests: only local ports)."""

    def __init__(self) -> None:
        self._hosts: dict[str, httpx.ASGITransport] = {}
        self._network = httpx.AsyncHTTPTransport()

    def route(self, url_or_host: str, app: ASGIApp) -> None:
        host = urlsplit(url_or_host).netloc if "://" in url_or_host else url_or_host
        self._hosts[host] = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        inner = self._hosts.get(request.url.netloc.decode())
        if inner is not None:
            return await inner.handle_async_request(request)
        return await self._network.handle_async_request(request)

    async def aclose(self) -> None:
        await self._network.aclose()


def browser_at(relay: Relay, ip: str, **headers: str) -> httpx.AsyncClient:
    """A browser whose requests come from `ip` (the ASGI scope's client address, as uvicorn
    reports it), in-process."""
    transport = httpx.ASGITransport(app=relay.app, client=(ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url=relay.issuer, headers=headers)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def form_fields(page: str) -> dict[str, str]:
    return {k: html.unescape(v) for k, v in re.findall(r'name="([^"]+)" value="([^"]*)"', page)}


@dataclass
class Started:
    session_id: str
    scan_url: str
    page: httpx.Response


class Relay:
    """The relay under test plus the clients that talk to it."""

    def __init__(
        self,
        app: Starlette,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.app = app
        self.settings = settings
        self.issuer = settings.issuer
        self._transport = transport
        self.desktop = self.browser()
        self.phone = self.browser()

    @property
    def core(self) -> RelayCore:
        core: RelayCore = self.app.state.relay
        return core

    def stored_keys(self, prefix: str) -> list[str]:
        """Keys in the relay's store (the memory store) starting with `prefix`."""
        return memory_store_of(self.core.store).keys(prefix)

    def browser(self) -> httpx.AsyncClient:
        transport = self._transport or httpx.ASGITransport(app=self.app)
        return httpx.AsyncClient(transport=transport, base_url=self.issuer)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.desktop.aclose()
        await self.phone.aclose()
        await self.core.aclose()

    # --- the relying party's side ------------------------------------------------------------

    def authorize_params(self, **params: str | None) -> dict[str, str]:
        defaults: dict[str, str | None] = {
            "client_id": "rp",
            "redirect_uri": "https://rp.example/callback",
            "response_type": "code",
            "scope": "openid profile",
            "state": "rp-state-123",
            "nonce": "rp-nonce-456",
        }
        defaults.update(params)
        return {k: v for k, v in defaults.items() if v is not None}

    async def authorize(
        self, browser: httpx.AsyncClient | None = None, **params: str | None
    ) -> httpx.Response:
        return await (browser or self.desktop).get(
            "/authorize", params=self.authorize_params(**params)
        )

    async def token(self, **form: str) -> httpx.Response:
        body = {"grant_type": "authorization_code", "redirect_uri": "https://rp.example/callback"}
        body.update(form)
        auth = None
        if "client_secret" not in body:
            auth = httpx.BasicAuth("rp", "rp-secret")
        async with self.browser() as rp:
            return await rp.post("/token", data={k: v for k, v in body.items() if v}, auth=auth)

    # --- the desktop -------------------------------------------------------------------------

    async def start(
        self, browser: httpx.AsyncClient | None = None, **params: str | None
    ) -> Started:
        browser = browser or self.desktop
        response = await self.authorize(browser, **params)
        assert response.status_code == 303, response.text
        location = response.headers["location"]
        assert location.startswith("/sessions/")
        page = await browser.get(location)
        assert page.status_code == 200, page.text
        found = re.search(r'data-scan-url="(http[^"]+/s/[^"]+)"', page.text)
        assert found, "the login page shows no scan URL"
        return Started(location.rsplit("/", 1)[1], found.group(1), page)

    async def resume(
        self, session_id: str, browser: httpx.AsyncClient | None = None
    ) -> httpx.Response:
        return await (browser or self.desktop).get(f"/sessions/{session_id}/resume")

    def desktop_cookie_name(self, session_id: str) -> str:
        prefix = "__Host-" if self.settings.secure_cookies else ""
        return f"{prefix}relay_bind_{sha256_hex(session_id)[:16]}"

    def desktop_cookie(self, session_id: str, browser: httpx.AsyncClient | None = None) -> str:
        name = self.desktop_cookie_name(session_id)
        for cookie in (browser or self.desktop).cookies.jar:
            if cookie.name == name:
                return f"{name}={cookie.value}"
        raise AssertionError("no binding cookie for this session")

    async def live(self, session_id: str, cookie: str | None = None) -> ClientConnection:
        """A websocket on /sessions/{id}/live (needs the real server: the `served` fixture)."""
        url = self.issuer.replace("http://", "ws://") + f"/sessions/{session_id}/live"
        headers = {"Cookie": cookie} if cookie else {}
        return await websockets.connect(url, additional_headers=headers, open_timeout=5)

    # --- the phone ---------------------------------------------------------------------------

    async def scan(self, scan_url: str) -> httpx.Response:
        return await self.phone.get(urlsplit(scan_url).path)

    async def continue_to_provider(self, session_id: str) -> httpx.Response:
        response = await self.phone.post(f"/phone/{session_id}/continue")
        assert response.status_code == 303, response.text
        return response

    async def at_sandbox(
        self, session_id: str, decision: str = "approve", name: str = "Ada Lovelace"
    ) -> httpx.Response:
        """Continue, then decide at the sandbox; returns the sandbox's redirect to the callback."""
        going = await self.continue_to_provider(session_id)
        page = await self.phone.get(going.headers["location"])
        assert page.status_code == 200, page.text
        fields = form_fields(page.text)
        fields.update(decision=decision, name=name)
        return await self.phone.post("/sandbox/authorize", data=fields)

    async def through_provider(self, session_id: str, max_hops: int = 5) -> httpx.Response:
        """Continue on the phone, then follow the provider's redirects (a fake provider that
        signs the user in and sends the phone back) until the relay's callback answers."""
        response = await self.continue_to_provider(session_id)
        for _ in range(max_hops):
            location = response.headers.get("location")
            if location is None:
                return response
            target = httpx.URL(self.issuer).join(location)
            response = await self.phone.get(str(target.copy_with(fragment=None)))
            if target.path.startswith("/callback/"):
                return response
        raise AssertionError("the provider did not send the phone back to the relay")

    async def approve(self, session_id: str, name: str = "Ada Lovelace") -> httpx.Response:
        """Continue, approve at the sandbox, and land on the relay's callback."""
        back = await self.at_sandbox(session_id, "approve", name)
        assert back.status_code == 303, back.text
        return await self.phone.get(back.headers["location"])

    # --- everything ----------------------------------------------------------------------------

    async def login(self, name: str = "Ada Lovelace", **params: str | None) -> dict[str, str]:
        """A whole login up to the relying party's redirect; the redirect's query."""
        started = await self.start(**params)
        scanned = await self.scan(started.scan_url)
        assert scanned.status_code == 303, scanned.text
        done = await self.approve(started.session_id, name)
        assert "Return to your computer" in done.text, done.text
        back = await self.resume(started.session_id)
        assert back.status_code == 302, back.text
        return query_of(back.headers["location"])
