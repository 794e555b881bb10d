"""Any OAuth 2.0 provider (RFC 6749, PKCE per RFC 7636), its dialect described in configuration.

What a provider does differently from the RFC is written as options instead of code: other
names for the parameters (TikTok's `client_key`), fixed extra authorize parameters, how the
client authenticates at the token endpoint, a JSON token body, answers wrapped in an object
(`{"data": {...}}`), where the user id and the profile fields sit, and errors that arrive with
HTTP 200 (`{"error": ...}`, `{"errcode": N}`).
"""

from __future__ import annotations

from typing import Any

import httpx

from relay.errors import ConfigError, ProviderError
from relay.providers._dialect import (
    basic_auth,
    check_answer,
    check_known_keys,
    choice,
    claims_option,
    path_option,
    profile,
    string_table,
)
from relay.providers.base import (
    AppOnly,
    Trip,
    Upstream,
    UpstreamGrant,
    bearer,
    dig,
    read_profile,
    request_json,
    required_str,
    timeout_of,
    with_query,
)
from relay.sessions.model import Identity
from relay.settings import ProviderConfig

# The outgoing parameters `param_names` may rename, in the authorize and token requests.
AUTHORIZE_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)
TOKEN_PARAMS = ("grant_type", "code", "redirect_uri", "client_id", "client_secret", "code_verifier")
RENAMEABLE = frozenset(AUTHORIZE_PARAMS + TOKEN_PARAMS)


class OAuth2Provider:
    kind = "oauth2"
    app_only: AppOnly | None = None
    denial_without_code = False

    def __init__(self, config: ProviderConfig, http: httpx.AsyncClient, issuer: str) -> None:
        where = f"providers.{config.name}"
        check_known_keys(config)
        if not config.authorize_url:
            raise ConfigError(f"{where}.authorize_url", 'is required for kind "oauth2"')
        if not config.token_url:
            raise ConfigError(f"{where}.token_url", 'is required for kind "oauth2"')
        self.name = config.name
        self.display_name = config.display_name
        self.authorize_endpoint = config.authorize_url
        self.token_endpoint = config.token_url
        self.userinfo_endpoint = config.userinfo_url  # None: the identity is in the token answer
        self._config = config
        self._http = http
        self._timeout = timeout_of(config)
        self._scope = " ".join((config.scope or "").split())  # empty: no scope parameter
        self._pkce = choice(config, "pkce", ("S256", "none")) == "S256"
        self._auth_method = choice(
            config, "token_auth", ("client_secret_post", "client_secret_basic", "none")
        )
        if self._auth_method != "none" and not config.client_secret:
            raise ConfigError(f"{where}.client_secret", 'is required unless token_auth = "none"')
        self._json_body = choice(config, "token_format", ("form", "json")) == "json"
        self._names = param_names(config)
        self._extra = string_table(config, "authorize_params")
        taken = sorted(self._extra.keys() & {self._wire(sent) for sent in AUTHORIZE_PARAMS})
        if taken:
            raise ConfigError(
                f"{where}.authorize_params", f'"{taken[0]}" is a parameter the relay sets itself'
            )
        self._token_path = path_option(config, "token_path")
        self._userinfo_path = path_option(config, "userinfo_path")
        if self._userinfo_path is not None and self.userinfo_endpoint is None:
            raise ConfigError(f"{where}.userinfo_path", "has no effect without userinfo_url")
        self._subject = path_option(config, "subject", "sub") or "sub"
        self._claims = claims_option(config)

    def _wire(self, name: str) -> str:
        return self._names.get(name, name)

    def _renamed(self, params: dict[str, str]) -> dict[str, str]:
        return {self._wire(name): value for name, value in params.items()}

    async def authorization_url(self, trip: Trip) -> str:
        params = {
            "response_type": "code",
            "client_id": self._config.client_id,
            "redirect_uri": trip.redirect_uri,
        }
        if self._scope:
            params["scope"] = self._scope
        params["state"] = trip.state
        if self._pkce:
            params["code_challenge"] = trip.code_challenge
            params["code_challenge_method"] = "S256"
        return with_query(self.authorize_endpoint, {**self._renamed(params), **self._extra})

    async def exchange_code(self, code: str, trip: Trip) -> UpstreamGrant:
        params = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": trip.redirect_uri,
        }
        headers = {"Accept": "application/json"}  # GitHub answers form-encoded without it
        config = self._config
        if self._auth_method == "client_secret_basic":
            headers["Authorization"] = basic_auth(config.client_id, config.client_secret)
        else:
            params["client_id"] = config.client_id
        if self._auth_method == "client_secret_post":
            params["client_secret"] = config.client_secret
        if self._pkce:
            params["code_verifier"] = trip.code_verifier
        body: dict[str, Any] = {"json" if self._json_body else "data": self._renamed(params)}
        status, answer = await request_json(
            self._http,
            "POST",
            self.token_endpoint,
            timeouts=self._timeout,
            upstream=Upstream(self.name, "token"),
            headers=headers,
            **body,
        )
        check_answer(
            status, answer, "token response", hide=(config.client_secret, code, trip.code_verifier)
        )
        required_str(dig(answer, self._token_path), "access_token", "token response")
        return answer

    async def fetch_identity(self, grant: UpstreamGrant, trip: Trip) -> Identity:
        tokens = dig(grant, self._token_path)
        if self.userinfo_endpoint is None:
            source, what = tokens, "token response"
        else:
            access_token = required_str(tokens, "access_token", "token response")
            status, answer = await read_profile(
                self._http,
                self.userinfo_endpoint,
                self.name,
                self._timeout,
                headers={"Authorization": bearer(access_token), "Accept": "application/json"},
            )
            check_answer(
                status, answer, "userinfo", hide=(self._config.client_secret, access_token)
            )
            source, what = dig(answer, self._userinfo_path), "userinfo"
        if not isinstance(source, dict):
            raise ProviderError("invalid_response", f"the provider's {what} holds no user")
        return Identity(
            provider=self.name,
            subject=required_str(source, self._subject, what),
            **profile([source], self._claims),
        )


def param_names(config: ProviderConfig) -> dict[str, str]:
    """`param_names`: the relay's parameter -> the provider's name for it."""
    where = f"providers.{config.name}.param_names"
    names = string_table(config, "param_names")
    for name, wire in names.items():
        if name not in RENAMEABLE:
            raise ConfigError(where, f'"{name}" is not a parameter the relay sends')
        if not wire:
            raise ConfigError(where, f'"{name}" is renamed to nothing')
    for request in (AUTHORIZE_PARAMS, TOKEN_PARAMS):
        wire_names = [names.get(name, name) for name in request]
        if len(set(wire_names)) != len(wire_names):
            raise ConfigError(where, "gives two parameters the same name")
    return names
