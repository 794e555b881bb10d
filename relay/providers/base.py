"""The Provider protocol, and the HTTP plumbing every adapter shares.

An adapter builds the provider's authorization URL for the phone, exchanges the code the phone
brings back, and reads the identity. It is given an `httpx.AsyncClient`; tests give it one whose
transport is a fake of that provider. Every upstream failure, including an HTTP 200 body that
carries an error, becomes a `ProviderError(code, message)`.

Reason codes shared by every adapter (the provider's own error words are kept as they come,
WeChat's errcodes as `errcode_N`):

    provider_unreachable   the connection failed
    provider_timeout       no answer within the provider's timeout
    invalid_response       not JSON, not an object, or a field the login needs is missing
    invalid_code           the provider refused the code (invalid, used or expired)
    access_denied          the user said no at the provider
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, Protocol

import httpx

from relay.digests import s256
from relay.errors import ProviderError
from relay.sessions.model import Identity
from relay.settings import ProviderConfig

UpstreamGrant = dict[str, Any]  # the provider's token response, as it sent it

Endpoint = Literal["discovery", "jwks", "token", "userinfo"]


class Upstream(NamedTuple):
    """What one upstream call is, for the relay's metrics (relay/observability/metrics.py):
    the provider's configured name and a word from a fixed set for the endpoint, never a URL
    (label values must stay few, and some providers put secrets in the query string)."""

    provider: str
    endpoint: Endpoint


UPSTREAM = "relay.upstream"  # the httpx request extension that carries an Upstream


@dataclass(frozen=True)
class Trip:
    """One trip of the phone to the provider and back: what the relay sent and must check."""

    state: str  # letters and digits only (WeChat's rule), single use
    redirect_uri: str  # {issuer}/callback/{provider name}
    code_verifier: str  # PKCE, for providers that support it
    nonce: str  # OpenID Connect providers put it into their id_token

    @property
    def code_challenge(self) -> str:
        return s256(self.code_verifier)


@dataclass(frozen=True)
class AppOnly:
    """A provider whose phone step works only inside its own app's browser (WeChat)."""

    app_name: str  # shown to people: "Open this in WeChat"
    user_agent_marker: str  # found in that browser's User-Agent


class Provider(Protocol):
    name: str  # the [providers.NAME] key; the first half of every `sub`
    kind: str
    display_name: str
    app_only: AppOnly | None  # None: any phone browser will do
    denial_without_code: bool  # the provider says "no" by coming back with neither code nor error

    async def authorization_url(self, trip: Trip) -> str:
        """Where the phone goes to sign in."""

    async def exchange_code(self, code: str, trip: Trip) -> UpstreamGrant:
        """Trade the code from the callback for the provider's tokens. Never retried: codes
        are single use."""

    async def fetch_identity(self, grant: UpstreamGrant, trip: Trip) -> Identity:
        """Who signed in: a stable subject and the profile the provider gives."""


def timeout_of(config: ProviderConfig) -> httpx.Timeout:
    return httpx.Timeout(config.timeout, connect=config.connect_timeout)


async def request_json(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    timeouts: httpx.Timeout | None = None,
    retry_connect: bool = False,
    upstream: Upstream | None = None,
    **kwargs: Any,
) -> tuple[int, dict[str, Any]]:
    """Send one upstream request; (status, JSON object), or ProviderError when the provider
    cannot be reached or does not answer with a JSON object (whatever its Content-Type says:
    WeChat serves JSON as text/plain). `retry_connect` retries once when the connection could
    not be made, for idempotent reads only (a profile GET, never a token exchange).
    `upstream` names the call for the relay's metrics; the relay's client times it."""
    options: dict[str, Any] = dict(kwargs)
    if timeouts is not None:
        options["timeout"] = timeouts
    if upstream is not None:
        options["extensions"] = {UPSTREAM: upstream}
    attempts = 2 if retry_connect else 1
    for attempt in range(attempts):
        try:
            response = await http.request(method, url, **options)
            break
        except httpx.ConnectError:
            if attempt + 1 < attempts:
                continue
            raise ProviderError("provider_unreachable", f"{host(url)}: cannot connect") from None
        except httpx.TimeoutException:
            raise ProviderError("provider_timeout", f"{host(url)} did not answer in time") from None
        except httpx.HTTPError as exc:
            raise ProviderError(
                "provider_unreachable", f"{host(url)}: {type(exc).__name__}"
            ) from None
    try:
        body = json.loads(response.content)
    except ValueError:
        raise ProviderError(
            "invalid_response", f"{host(url)} answered HTTP {response.status_code} without JSON"
        ) from None
    if not isinstance(body, dict):
        raise ProviderError("invalid_response", f"{host(url)} answered JSON that is not an object")
    return response.status_code, body


def host(url: str) -> str:
    """Only the host goes into messages: some providers put secrets in the query string."""
    return httpx.URL(url).host or "the provider"


def dig(body: Any, path: str | None) -> Any:
    """The value at a dotted path ("data.user") in a JSON object; None when any step is missing."""
    if not path:
        return body
    for step in path.split("."):
        if not isinstance(body, dict):
            return None
        body = body.get(step)
    return body


def required_str(body: Any, path: str, what: str) -> str:
    value = dig(body, path)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise ProviderError("invalid_response", f"the provider's {what} has no {path}")
    return value


def optional_str(body: Any, path: str | None) -> str | None:
    value = dig(body, path) if path else None
    return value if isinstance(value, str) and value else None
