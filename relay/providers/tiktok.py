"""The TikTok adapter: Login Kit v2 for the web.

Sources, on developers.tiktok.com: /doc/login-kit-web (authorize),
/doc/login-kit-manage-user-access-tokens (token), /doc/tiktok-api-v2-get-user-info (profile),
/doc/oauth-error-handling (error words).

TikTok's dialect, against plain OAuth 2.0 (RFC 6749):
- the app is named `client_key`, in the authorize URL and in the token body;
- scopes are separated by commas, not spaces;
- the web flow takes no PKCE (the desktop flow's PKCE is said to want a hex SHA-256 challenge:
  unverified, and not used here);
- a token error is `{"error", "error_description", "log_id"}` with whatever HTTP status, so the
  body decides;
- the profile is wrapped, `{"data": {"user": {...}}, "error": {"code": "ok", ...}}`, and any
  `error.code` other than "ok" is an error, whatever the HTTP status.
Every message keeps TikTok's `log_id`: it is what TikTok's support asks for.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import httpx

from relay.errors import ConfigError, ProviderError
from relay.providers.base import (
    AppOnly,
    Trip,
    Upstream,
    UpstreamGrant,
    bearer,
    dig,
    optional_str,
    provider_words,
    read_profile,
    request_json,
    required_str,
    timeout_of,
    with_query,
)
from relay.sessions.model import Identity
from relay.settings import ProviderConfig

AUTHORIZE_URL = "https://www.tiktok.com/v2/auth/authorize/"
TOKEN_URL = "https://open.tiktokapis.com/v2/oauth/token/"  # noqa: S105 - a URL, no secret
USERINFO_URL = "https://open.tiktokapis.com/v2/user/info/"
BASIC_SCOPE = "user.info.basic"  # the default, and always needed: it grants the four fields below
PROFILE_FIELDS = "open_id,union_id,avatar_url,display_name"

# TikTok's token error words that the relay names in its own vocabulary; others are kept.
TOKEN_REASONS = {"invalid_grant": "invalid_code", "invalid_client": "invalid_client"}
ERROR_WORD = re.compile(r"[a-z][a-z0-9_]{0,63}")  # a word fit to be a session's reason
LOG_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class TikTokProvider:
    kind = "tiktok"
    app_only: AppOnly | None = None  # the web flow runs in any phone browser
    denial_without_code = False  # a refusal comes back as error=access_denied

    def __init__(self, config: ProviderConfig, http: httpx.AsyncClient, issuer: str) -> None:
        if config.options:
            key = sorted(config.options)[0]
            raise ConfigError(f"providers.{config.name}.{key}", 'unknown key for kind "tiktok"')
        self.name = config.name
        self.display_name = config.display_name
        self._config = config
        self._http = http
        self._timeout = timeout_of(config)
        self.scope = comma_scope(config)
        self.authorize_endpoint = config.authorize_url or AUTHORIZE_URL
        self.token_endpoint = config.token_url or TOKEN_URL
        self.userinfo_endpoint = config.userinfo_url or USERINFO_URL

    async def authorization_url(self, trip: Trip) -> str:
        # The order of TikTok's own example; commas left as they are, as TikTok writes them.
        query = urlencode(
            {
                "client_key": self._config.client_id,
                "scope": self.scope,
                "response_type": "code",
                "redirect_uri": trip.redirect_uri,
                "state": trip.state,
            },
            safe=",",
        )
        return with_query(self.authorize_endpoint, query)

    async def exchange_code(self, code: str, trip: Trip) -> UpstreamGrant:
        status, body = await request_json(
            self._http,
            "POST",
            self.token_endpoint,
            timeouts=self._timeout,
            upstream=Upstream(self.name, "token"),
            data={
                "client_key": self._config.client_id,
                "client_secret": self._config.client_secret,
                "code": code,
                "grant_type": "authorization_code",
                "redirect_uri": trip.redirect_uri,
            },
            headers={"Cache-Control": "no-cache"},  # as in TikTok's example request
        )
        error = body.get("error")
        if error:
            word = error if isinstance(error, str) else ""
            reason = TOKEN_REASONS.get(word, reason_of(word))
            # TikTok may quote the code back; it stays out of messages, and so does the secret.
            description = provider_words(
                body.get("error_description"), hide=(code, self._config.client_secret)
            )
            raise ProviderError(
                reason,
                with_log_id(f"TikTok's token endpoint said {shown(word)}", description, body),
            )
        if not 200 <= status < 300:
            raise ProviderError(
                "invalid_response",
                with_log_id(f"TikTok's token endpoint answered HTTP {status}", "", body),
            )
        required_str(body, "access_token", "token response")
        required_str(body, "open_id", "token response")
        return body

    async def fetch_identity(self, grant: UpstreamGrant, trip: Trip) -> Identity:
        status, body = await read_profile(
            self._http,
            self.userinfo_endpoint,
            self.name,
            self._timeout,
            params={"fields": PROFILE_FIELDS},
            headers={"Authorization": bearer(grant.get("access_token"))},
        )
        error = body.get("error")
        outcome = dig(error, "code") if isinstance(error, dict) else None
        if outcome is not None and outcome != "ok":
            word = outcome if isinstance(outcome, str) else ""
            raise ProviderError(
                reason_of(word),
                with_log_id(
                    f"TikTok's profile endpoint said {shown(word)}",
                    provider_words(
                        dig(error, "message"),
                        hide=(grant.get("access_token"), self._config.client_secret),
                    ),
                    error,
                ),
            )
        if not 200 <= status < 300:
            raise ProviderError(
                "invalid_response",
                with_log_id(f"TikTok's profile endpoint answered HTTP {status}", "", error),
            )
        user = dig(body, "data.user")
        open_id = required_str(user, "open_id", "profile (data.user)")
        if open_id != grant.get("open_id"):
            # The token says who signed in; a profile of someone else is not to be trusted.
            raise ProviderError("invalid_response", "TikTok's profile is not the token's user")
        return Identity(
            provider=self.name,
            # union_id is the same for one person across a developer's apps; open_id per app.
            subject=optional_str(user, "union_id") or open_id,
            name=optional_str(user, "display_name"),
            picture=optional_str(user, "avatar_url"),
        )


def comma_scope(config: ProviderConfig) -> str:
    """The configured scope, written with spaces or commas, as TikTok wants it: with commas."""
    where = f"providers.{config.name}.scope"
    scopes = list(dict.fromkeys(s for s in re.split(r"[\s,]+", config.scope or BASIC_SCOPE) if s))
    if not scopes:
        raise ConfigError(where, "names no scope")
    if BASIC_SCOPE not in scopes:
        raise ConfigError(where, f"must include {BASIC_SCOPE}: the relay reads the profile")
    return ",".join(scopes)


def reason_of(word: str) -> str:
    """TikTok's error word as a session reason; anything that is not a plain word is a broken
    answer, not a reason."""
    return word if ERROR_WORD.fullmatch(word) else "invalid_response"


def shown(word: str) -> str:
    return word if ERROR_WORD.fullmatch(word) else "an unknown error"


def with_log_id(summary: str, description: str, body: Any) -> str:
    message = f"{summary} ({description})" if description else summary
    log_id = dig(body, "log_id")
    if isinstance(log_id, str) and LOG_ID.fullmatch(log_id):
        message += f"; TikTok log_id {log_id}"
    return message
