"""The Mixin Messenger adapter: Mixin's OAuth, which differs from RFC 6749 in three ways.

- No redirect_uri: Mixin sends the phone to the "OAuth URL" set for the app in Mixin's developer
  dashboard, which must be `{issuer}/callback/NAME`.
- The token request is a JSON body `{client_id, code, client_secret, code_verifier}`, and the
  answers are wrapped: `{"data": {...}}` on success, `{"error": {"status", "code",
  "description"}}` on failure, usually with HTTP 202. The body decides, never the status.
- Scopes are Mixin's own words (`PROFILE:READ ASSETS:READ`); PROFILE:READ is always needed.

PKCE goes along as `code_challenge` (RFC 7636 S256, the Trip's challenge) with
`code_challenge_method=SHA256`, the value Mixin's OAuth page asks for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote_plus, urlencode

import httpx

from relay.errors import ConfigError, ProviderError
from relay.providers.base import (
    AppOnly,
    Trip,
    Upstream,
    UpstreamGrant,
    bearer,
    dig,
    number,
    provider_words,
    read_profile,
    request_json,
    required_str,
    timeout_of,
    with_query,
)
from relay.sessions.model import Identity
from relay.settings import ProviderConfig

AUTHORIZE_URL = "https://mixin.one/oauth/authorize"
TOKEN_URL = "https://api.mixin.one/oauth/token"  # noqa: S105 - a URL, not a secret
USERINFO_URL = "https://api.mixin.one/me"
DEFAULT_SCOPE = "PROFILE:READ"  # Mixin requires it; it is also what /me needs

SCOPE_WORD = re.compile(r"[A-Z]+:[A-Z]+")  # PROFILE:READ, MESSAGES:REPRESENT
APP_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
REFUSED_CODE = {401, 403}  # Unauthorized / Forbidden on the token exchange: the code was refused


class MixinProvider:
    kind = "mixin"
    app_only: AppOnly | None = None  # Mixin's page opens in any browser; the app hands it on
    # Mixin does not document how a refusal comes back. A return with neither code nor error
    # can only mean that nothing was granted, so it counts as a refusal.
    denial_without_code = True

    def __init__(self, config: ProviderConfig, http: httpx.AsyncClient, issuer: str) -> None:
        self.name = config.name
        self.display_name = config.display_name
        self._config = config
        self._http = http
        self._timeout = timeout_of(config)
        self.scope = scope_of(config)
        if not APP_ID.fullmatch(config.client_id.lower()):
            raise ConfigError(
                f"providers.{config.name}.client_id",
                "must be the Mixin app's ID, a UUID such as 9f1b5c3e-8d2a-4c6b-a1e0-5b7d3f2c9e84",
            )
        self.authorize_endpoint = config.authorize_url or AUTHORIZE_URL
        self.token_endpoint = config.token_url or TOKEN_URL
        self.userinfo_endpoint = config.userinfo_url or USERINFO_URL
        # Mixin takes no redirect_uri: the dashboard's OAuth URL must be {issuer}/callback/NAME,
        # which `qr-relay check-config` prints for every provider.

    async def authorization_url(self, trip: Trip) -> str:
        query = {
            "client_id": self._config.client_id,
            "scope": self.scope,
            "response_type": "code",
            "state": trip.state,
            "code_challenge": trip.code_challenge,
            "code_challenge_method": "SHA256",
        }
        # Spaces as "+" and ":" kept as is: PROFILE:READ+ASSETS:READ, as Mixin's examples read.
        return with_query(self.authorize_endpoint, urlencode(query, safe=":", quote_via=quote_plus))

    async def exchange_code(self, code: str, trip: Trip) -> UpstreamGrant:
        # Never retried: a Mixin code is single use.
        status, body = await request_json(
            self._http,
            "POST",
            self.token_endpoint,
            timeouts=self._timeout,
            upstream=Upstream(self.name, "token"),
            json={
                "client_id": self._config.client_id,
                "code": code,
                "client_secret": self._config.client_secret,
                "code_verifier": trip.code_verifier,
            },
        )
        error = mixin_error(body, hide=(self._config.client_secret, code, trip.code_verifier))
        if error is not None:
            numeric, description = error
            reason = "invalid_code" if numeric in REFUSED_CODE else f"mixin_error_{numeric}"
            raise ProviderError(reason, f"error {numeric}: {description}")
        data = unwrap(status, body, "token response")
        required_str(data, "access_token", "token response")
        return data

    async def fetch_identity(self, grant: UpstreamGrant, trip: Trip) -> Identity:
        status, body = await read_profile(
            self._http,
            self.userinfo_endpoint,
            self.name,
            self._timeout,
            headers={"Authorization": bearer(grant.get("access_token"))},
        )
        error = mixin_error(body, hide=(self._config.client_secret, grant.get("access_token")))
        if error is not None:
            numeric, description = error
            raise ProviderError(
                f"mixin_error_{numeric}", f"reading the profile: error {numeric}: {description}"
            )
        user = unwrap(status, body, "profile")
        return Identity(
            provider=self.name,
            subject=required_str(user, "user_id", "profile"),
            name=text(user, "full_name"),
            picture=text(user, "avatar_url"),
            preferred_username=text(user, "identity_number"),  # the Mixin ID people type
        )


def scope_of(config: ProviderConfig) -> str:
    """The configured scope, checked: Mixin's words, space-separated, PROFILE:READ among them."""
    key = f"providers.{config.name}.scope"
    if config.scope is None:
        return DEFAULT_SCOPE
    words = config.scope.split()
    for word in words:
        if not SCOPE_WORD.fullmatch(word):
            raise ConfigError(
                key,
                f'"{word}" is not a Mixin scope; write them separated by spaces, '
                'such as "PROFILE:READ ASSETS:READ"',
            )
    if DEFAULT_SCOPE not in words:
        raise ConfigError(key, "must include PROFILE:READ (Mixin requires it for every app)")
    return " ".join(dict.fromkeys(words))


def mixin_error(body: dict[str, Any], hide: Iterable[str | None]) -> tuple[int, str] | None:
    """(code, description) when the body is Mixin's error shape, None when it carries none."""
    error = body.get("error")
    if error is None:
        return None
    code = dig(error, "code")
    numeric = number(code) if isinstance(code, int) else None
    if numeric is None:
        raise ProviderError("invalid_response", "Mixin answered an error without a code")
    return numeric, provider_words(dig(error, "description"), hide) or "no description"


def unwrap(status: int, body: dict[str, Any], what: str) -> dict[str, Any]:
    """The object under "data" of a successful answer."""
    if not 200 <= status < 300:
        raise ProviderError("invalid_response", f"Mixin's {what} came with HTTP {status}")
    data = body.get("data")
    if not isinstance(data, dict):
        raise ProviderError("invalid_response", f"Mixin's {what} has no data")
    return data


def text(body: dict[str, Any], field: str) -> str | None:
    value = body.get(field)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return value if isinstance(value, str) and value else None
