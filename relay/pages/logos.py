"""The relying party's logo on its login page (`logo_uri` per client), served from the relay's own
origin: the pages load nothing from third parties (Content-Security-Policy `default-src 'self'`),
and a logo host does not learn who opens a login page, or when.

A data: URI is decoded once. An https URL is fetched by the relay in the background: when the app
starts (`Logos.prefetch`), and again once what it holds is older than an hour (a failed fetch: five
minutes). The fetch is checked (at most 512 KiB, a PNG, JPEG, GIF, WebP or SVG by its first bytes,
whatever the server calls it), follows no redirect and has ten seconds in all, however slowly the
host trickles its bytes.

A login page never waits on someone else's server: it renders with what is held, even an old logo
while a fresh one is being fetched; only when nothing was ever held does it wait for the fetch in
flight, at most a second, and otherwise shows the name without a logo (the next page will have it).
Concurrent pages share that one fetch. A failed refresh keeps the logo held before, rather than
dropping it over a hiccup of the host. GET /clients/{client_id}/logo answers the same way, 404
(not cached) when there is no logo, and the image under a policy that runs nothing in it (an SVG
may hold scripts). The log names the logo's host, never its URL, which may carry a signed query.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
from starlette.requests import Request
from starlette.responses import Response

from relay.settings import ClientConfig

log = logging.getLogger("relay.logos")

MAX_LOGO_BYTES = 512 * 1024
KEEP = 3600.0  # seconds a fetched logo is served before it is fetched again
RETRY = 300.0  # seconds before a failed fetch is tried again
PAGE_WAIT = 1.0  # seconds a page waits for a logo never fetched yet, then renders without it
FETCH_DEADLINE = 10.0  # seconds for the whole fetch: connect, headers and every byte of the body
FETCH_TIMEOUT = httpx.Timeout(5.0, connect=3.0)  # each step of it
# An image viewed on its own (someone opens the URL) still runs nothing: no script, no plugin.
LOGO_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


@dataclass(frozen=True)
class Logo:
    content: bytes
    media_type: str


def sniff(content: bytes) -> str | None:
    """The image type by its first bytes; None for anything that is not one of ours."""
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    head = content[:1024].lstrip().lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head):
        return "image/svg+xml"
    return None


def from_data_uri(uri: str) -> Logo | None:
    """A data:image/...;base64 URI (its form checked when the configuration was read)."""
    try:
        content = base64.b64decode(uri.split(",", 1)[1], validate=True)
    except ValueError:
        return None
    kind = sniff(content)
    if kind is None or len(content) > MAX_LOGO_BYTES:
        return None
    return Logo(content, kind)


def host_of(url: str) -> str:
    """What the log may say about a logo URL: its host (and port), without user info, path or
    query (a CDN's signed URL carries its signature in the query)."""
    return urlsplit(url).netloc.rpartition("@")[2]


@dataclass
class Logos:
    """The logos of the configured clients: what is held for each (until when, and the logo or
    None for a failed fetch), and the one fetch in flight per client."""

    http: httpx.AsyncClient
    page_wait: float = PAGE_WAIT
    deadline: float = FETCH_DEADLINE
    clock: Callable[[], float] = time.monotonic
    cache: dict[str, tuple[float, Logo | None]] = field(default_factory=dict)
    fetching: dict[str, asyncio.Task[Logo | None]] = field(default_factory=dict)

    async def get(self, client: ClientConfig) -> Logo | None:
        """The client's logo for a page, without waiting on its host: what is held (a fresh fetch
        started behind it once it is old), or, when nothing is held yet, the fetch in flight if
        it ends within `page_wait`."""
        uri = client.logo_uri
        if uri is None:
            return None
        kept = self.cache.get(client.client_id) or self.decoded(client)
        if kept is None:
            return await self.wait(self.refreshing(client.client_id, uri))
        until, logo = kept
        if until <= self.clock():
            self.refreshing(client.client_id, uri)
        return logo

    def prefetch(self, clients: Iterable[ClientConfig]) -> None:
        """Starts fetching every client's logo, in the background (the app's startup does not
        wait for it), so that the first login pages already have them."""
        for client in clients:
            if client.logo_uri is not None and self.decoded(client) is None:
                self.refreshing(client.client_id, client.logo_uri)

    async def aclose(self) -> None:
        """Stops the fetches in flight, before the HTTP client they use is closed."""
        tasks = list(self.fetching.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def decoded(self, client: ClientConfig) -> tuple[float, Logo | None] | None:
        """A data: URI's logo, decoded once and held for good; None for an https URL."""
        uri = client.logo_uri
        if uri is None or not uri.startswith("data:"):
            return None
        kept = self.cache.get(client.client_id)
        if kept is None:
            logo = from_data_uri(uri)
            if logo is None:
                log.warning("client %s: its logo_uri is not a usable image", client.client_id)
            kept = self.cache[client.client_id] = (float("inf"), logo)
        return kept

    def refreshing(self, client_id: str, url: str) -> asyncio.Task[Logo | None]:
        """The fetch in flight for this client, started if there is none: one at a time, however
        many pages ask."""
        task = self.fetching.get(client_id)
        if task is None:
            task = asyncio.create_task(self.refresh(client_id, url))
            self.fetching[client_id] = task

            def done(_: asyncio.Task[Logo | None]) -> None:
                self.fetching.pop(client_id, None)  # this task: the only one for the client

            task.add_done_callback(done)
        return task

    async def wait(self, task: asyncio.Task[Logo | None]) -> Logo | None:
        """The task's logo if it comes within `page_wait`; the task goes on either way (shielded:
        a page that stops waiting does not cancel the fetch the other pages share)."""
        try:
            async with asyncio.timeout(self.page_wait):
                return await asyncio.shield(task)
        except TimeoutError:
            return None

    async def refresh(self, client_id: str, url: str) -> Logo | None:
        """Fetches the logo and holds the outcome: a logo for KEEP; a failure for RETRY, during
        which the logo held before (if any) is still served."""
        try:
            logo = await self.fetch(client_id, url)
        except Exception as exc:  # a background task: nobody else would hear of it
            log.error(
                "client %s: fetching its logo from %s failed: %s",
                client_id,
                host_of(url),
                type(exc).__name__,
            )
            logo = None
        if logo is not None:
            self.cache[client_id] = (self.clock() + KEEP, logo)
            return logo
        kept = self.cache.get(client_id)
        previous = kept[1] if kept is not None else None
        self.cache[client_id] = (self.clock() + RETRY, previous)
        return previous

    async def fetch(self, client_id: str, url: str) -> Logo | None:
        """The image at `url`, or None (logged, by host) when there is no usable one within the
        deadline."""
        host = host_of(url)
        try:
            async with asyncio.timeout(self.deadline):
                content = await self.download(client_id, url, host)
        except TimeoutError:
            log.warning(
                "client %s: its logo host %s sent no whole image within %g s",
                client_id,
                host,
                self.deadline,
            )
            return None
        except httpx.HTTPError as exc:
            log.warning("client %s: its logo host %s: %s", client_id, host, type(exc).__name__)
            return None
        if content is None:
            return None
        kind = sniff(content)
        if kind is None:
            log.warning(
                "client %s: its logo from %s is not a PNG, JPEG, GIF, WebP or SVG image",
                client_id,
                host,
            )
            return None
        return Logo(content, kind)

    async def download(self, client_id: str, url: str, host: str) -> bytes | None:
        """The body of a 200 answer, at most MAX_LOGO_BYTES; None (logged, by `host`) otherwise."""
        async with self.http.stream(
            "GET", url, timeout=FETCH_TIMEOUT, follow_redirects=False
        ) as response:
            if response.status_code != 200:
                log.warning(
                    "client %s: its logo host %s answered HTTP %s",
                    client_id,
                    host,
                    response.status_code,
                )
                return None
            content = b""
            async for chunk in response.aiter_bytes():
                content += chunk
                if len(content) > MAX_LOGO_BYTES:
                    log.warning(
                        "client %s: its logo from %s is larger than %d bytes",
                        client_id,
                        host,
                        MAX_LOGO_BYTES,
                    )
                    return None
        return content


async def logo(request: Request) -> Response:
    """GET /clients/{client_id}/logo: the image, or 404 while there is none (never fetched yet
    and not within the page's wait, failed, or no logo_uri), not to be cached, so that the browser
    asks again later."""
    relay = request.app.state.relay
    client = relay.settings.clients.get(request.path_params["client_id"])
    found = await relay.logos.get(client) if client is not None else None
    if found is None:
        return Response(status_code=404, headers={"Cache-Control": "no-store"})
    return Response(
        found.content,
        media_type=found.media_type,
        headers={
            "Cache-Control": "public, max-age=3600",
            "Content-Security-Policy": LOGO_POLICY,
        },
    )
