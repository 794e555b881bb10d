"""The sandbox adapter: talks to the relay's own built-in provider (relay/sandbox) over HTTP,
exactly as to any standard OAuth 2.0 provider (RFC 6749 with PKCE, RFC 7636)."""

from __future__ import annotations

import httpx

from relay.errors import ProviderError
from relay.providers._dialect import reason_of
from relay.providers.base import (
    AppOnly,
    Trip,
    Upstream,
    UpstreamGrant,
    bearer,
    optional_str,
    provider_words,
    read_profile,
    request_json,
    timeout_of,
    with_query,
)
from relay.sessions.model import Identity
from relay.settings import ProviderConfig


class SandboxProvider:
    kind = "sandbox"
    app_only: AppOnly | None = None
    denial_without_code = False

    def __init__(self, config: ProviderConfig, http: httpx.AsyncClient, issuer: str) -> None:
        self.name = config.name
        self.display_name = config.display_name
        self._config = config
        self._http = http
        self._timeout = timeout_of(config)
        self.authorize_endpoint = config.authorize_url or f"{issuer}/sandbox/authorize"
        self.token_endpoint = config.token_url or f"{issuer}/sandbox/token"
        self.userinfo_endpoint = config.userinfo_url or f"{issuer}/sandbox/userinfo"

    async def authorization_url(self, trip: Trip) -> str:
        query = {
            "response_type": "code",
            "client_id": self._config.client_id,
            "redirect_uri": trip.redirect_uri,
            "scope": self._config.scope or "profile",
            "state": trip.state,
            "code_challenge": trip.code_challenge,
            "code_challenge_method": "S256",
        }
        return with_query(self.authorize_endpoint, query)

    async def exchange_code(self, code: str, trip: Trip) -> UpstreamGrant:
        status, body = await request_json(
            self._http,
            "POST",
            self.token_endpoint,
            timeouts=self._timeout,
            upstream=Upstream(self.name, "token"),
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": trip.redirect_uri,
                "code_verifier": trip.code_verifier,
            },
            auth=(self._config.client_id, self._config.client_secret),
        )
        if status != 200 or "error" in body:
            error = body.get("error")
            reason = reason_of(error) if isinstance(error, str) else "invalid_response"
            hide = (self._config.client_secret, code, trip.code_verifier)
            words = provider_words(body.get("error_description"), hide)
            raise ProviderError(reason, words or f"HTTP {status}")
        if not isinstance(body.get("access_token"), str):
            raise ProviderError("invalid_response", "the token response has no access_token")
        return body

    async def fetch_identity(self, grant: UpstreamGrant, trip: Trip) -> Identity:
        status, body = await read_profile(
            self._http,
            self.userinfo_endpoint,
            self.name,
            self._timeout,
            headers={"Authorization": bearer(grant.get("access_token"))},
        )
        subject = optional_str(body, "sub")
        if status != 200 or subject is None:
            error = body.get("error")
            reason = reason_of(error) if isinstance(error, str) else "invalid_response"
            raise ProviderError(reason, f"userinfo answered HTTP {status}")
        return Identity(
            provider=self.name,
            subject=subject,
            name=optional_str(body, "name"),
            picture=optional_str(body, "picture"),
            preferred_username=optional_str(body, "preferred_username"),
        )
