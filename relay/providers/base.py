"""The Provider protocol, and the HTTP plumbing every adapter shares.

An adapter builds the provider's authorization URL for the phone, exchanges the code the phone
brings back, and reads the identity. It is given an `httpx.AsyncClient`; tests give it one whose
transport is a fake of that provider. Every upstream failure, including an HTTP 200 body that
carries an error, becomes a `ProviderError(code, message)`.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

import httpx

from relay.errors import ProviderError
from relay.sessions.model import Identity

UpstreamGrant = dict[str, Any]  # the provider's token response, as it sent it


class Provider(Protocol):
    name: str  # the [providers.NAME] key; the first half of every `sub`
    kind: str
    display_name: str

    def authorization_url(self, *, state: str, redirect_uri: str, code_challenge: str) -> str:
        """Where the phone goes to sign in. `code_challenge` is S256 (adapters whose provider
        lacks PKCE leave it out)."""

    async def exchange_code(
        self, *, code: str, redirect_uri: str, code_verifier: str
    ) -> UpstreamGrant:
        """Trade the code from the callback for the provider's tokens."""

    async def fetch_identity(self, grant: UpstreamGrant) -> Identity:
        """Who signed in: a stable subject and the profile the provider gives."""


async def request_json(
    http: httpx.AsyncClient, method: str, url: str, **kwargs: Any
) -> tuple[int, dict[str, Any]]:
    """Send one upstream request; (status, JSON object), or ProviderError when the provider
    cannot be reached or does not answer with a JSON object (whatever its Content-Type says)."""
    try:
        response = await http.request(method, url, **kwargs)
    except httpx.TimeoutException:
        raise ProviderError("provider_timeout", f"{url} did not answer in time") from None
    except httpx.HTTPError as exc:
        raise ProviderError("provider_unreachable", f"{url}: {type(exc).__name__}") from None
    try:
        body = json.loads(response.content)
    except ValueError:
        raise ProviderError(
            "invalid_response", f"{url} answered HTTP {response.status_code} without JSON"
        ) from None
    if not isinstance(body, dict):
        raise ProviderError("invalid_response", f"{url} answered JSON that is not an object")
    return response.status_code, body
