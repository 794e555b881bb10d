"""The relying party's logo on its login page (`logo_uri` per client), served from the relay's own
origin: the pages load nothing from third parties (Content-Security-Policy `default-src 'self'`),
and a logo host does not learn who opens a login page, or when.

A data: URI is decoded once. An https URL is fetched by the relay the first time a login page
needs it, checked (at most 512 KiB, a PNG, JPEG, GIF, WebP or SVG by its first bytes, whatever
the server calls it) and kept in memory for an hour; a failed fetch is retried after five
minutes, and meanwhile the page shows the name without a logo. GET /clients/{client_id}/logo
answers with the image under a policy that runs nothing in it (an SVG may hold scripts).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from dataclasses import dataclass, field

import httpx
from starlette.requests import Request
from starlette.responses import Response

from relay.settings import ClientConfig

log = logging.getLogger("relay.logos")

MAX_LOGO_BYTES = 512 * 1024
KEEP = 3600.0  # seconds a fetched logo is served before it is fetched again
RETRY = 300.0  # seconds before a failed fetch is tried again
FETCH_TIMEOUT = httpx.Timeout(5.0, connect=3.0)
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


@dataclass
class Logos:
    """The logos of the configured clients, each fetched at most once at a time."""

    http: httpx.AsyncClient
    cache: dict[str, tuple[float, Logo | None]] = field(default_factory=dict)
    locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    async def get(self, client: ClientConfig) -> Logo | None:
        uri = client.logo_uri
        if uri is None:
            return None
        kept = self.cache.get(client.client_id)
        if kept is not None and kept[0] > time.monotonic():
            return kept[1]
        lock = self.locks.setdefault(client.client_id, asyncio.Lock())
        async with lock:
            kept = self.cache.get(client.client_id)
            if kept is not None and kept[0] > time.monotonic():
                return kept[1]
            logo = from_data_uri(uri) if uri.startswith("data:") else await self.fetch(uri)
            if logo is None:
                log.warning("client %s: its logo_uri gave no usable image", client.client_id)
            keep = float("inf") if uri.startswith("data:") else KEEP if logo else RETRY
            self.cache[client.client_id] = (time.monotonic() + keep, logo)
            return logo

    async def fetch(self, url: str) -> Logo | None:
        try:
            async with self.http.stream("GET", url, timeout=FETCH_TIMEOUT) as response:
                if response.status_code != 200:
                    log.warning("logo %s answered HTTP %s", url, response.status_code)
                    return None
                content = b""
                async for chunk in response.aiter_bytes():
                    content += chunk
                    if len(content) > MAX_LOGO_BYTES:
                        log.warning("logo %s is larger than %d bytes", url, MAX_LOGO_BYTES)
                        return None
        except httpx.HTTPError as exc:
            log.warning("logo %s: %s", url, type(exc).__name__)
            return None
        kind = sniff(content)
        if kind is None:
            log.warning("logo %s is not a PNG, JPEG, GIF, WebP or SVG image", url)
            return None
        return Logo(content, kind)


async def logo(request: Request) -> Response:
    """GET /clients/{client_id}/logo"""
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
