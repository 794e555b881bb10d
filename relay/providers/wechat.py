"""The WeChat adapter: Official Account webpage authorization (网页授权), WeChat's in-app OAuth.

::

    phone    https://open.weixin.qq.com/connect/oauth2/authorize?appid=&redirect_uri=
                 &response_type=code&scope=&state=#wechat_redirect
    token    GET https://api.weixin.qq.com/sns/oauth2/access_token?appid=&secret=&code=
                 &grant_type=authorization_code
    profile  GET https://api.weixin.qq.com/sns/userinfo?access_token=&openid=&lang=zh_CN

Where WeChat departs from RFC 6749: the client is `appid`/`secret`, both in the query string of
a GET (so no URL is ever put into a message or a log line); the authorize parameters must come in
the documented order with the `#wechat_redirect` suffix; state is letters and digits, at most
128 bytes; no PKCE; a user who refuses comes back with the state alone (no code, no error); and
errors arrive with HTTP 200 as `{"errcode": N, "errmsg": "..."}`, often served as text/plain.
The authorize page works only inside WeChat's own browser.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import httpx

from relay.errors import ConfigError, ProviderError
from relay.providers.base import (
    AppOnly,
    Trip,
    Upstream,
    UpstreamGrant,
    number,
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

AUTHORIZE_URL = "https://open.weixin.qq.com/connect/oauth2/authorize"
TOKEN_URL = "https://api.weixin.qq.com/sns/oauth2/access_token"  # noqa: S105 - a URL
USERINFO_URL = "https://api.weixin.qq.com/sns/userinfo"

SCOPES = ("snsapi_userinfo", "snsapi_base")  # the first is the default
SUBJECTS = ("unionid", "openid")  # unionid: when WeChat gives one, else openid
STATE = re.compile(r"[A-Za-z0-9]{1,128}")  # WeChat: a-zA-Z0-9, at most 128 bytes

# errcodes that say what went wrong in words every adapter shares; any other is errcode_N.
REASONS = {
    40029: "invalid_code",  # invalid code
    40163: "invalid_code",  # code been used
    42003: "invalid_code",  # code expired (a code lives 5 minutes)
    40013: "invalid_client",  # invalid appid
    40125: "invalid_client",  # invalid appsecret
}


class WeChatProvider:
    kind = "wechat"
    app_only: AppOnly | None = AppOnly(app_name="WeChat", user_agent_marker="MicroMessenger")
    denial_without_code = True  # a refusal returns to redirect_uri with only the state

    def __init__(self, config: ProviderConfig, http: httpx.AsyncClient, issuer: str) -> None:
        self.name = config.name
        self.display_name = config.display_name
        self._config = config
        self._http = http
        self._timeout = timeout_of(config)
        self.scope = config.scope or SCOPES[0]
        if self.scope not in SCOPES:
            raise ConfigError(
                f"providers.{config.name}.scope",
                f'must be "snsapi_userinfo" or "snsapi_base", not "{self.scope}"',
            )
        subject = config.options.get("subject", SUBJECTS[0])
        if subject not in SUBJECTS:
            raise ConfigError(f"providers.{config.name}.subject", 'must be "unionid" or "openid"')
        self.subject: str = subject
        self.authorize_endpoint = config.authorize_url or AUTHORIZE_URL
        self.token_endpoint = config.token_url or TOKEN_URL
        self.userinfo_endpoint = config.userinfo_url or USERINFO_URL

    async def authorization_url(self, trip: Trip) -> str:
        if not STATE.fullmatch(trip.state):
            # WeChat would mangle or refuse it, and the callback could not find the trip again.
            raise ProviderError(
                "invalid_state", "the relay's state is not 1 to 128 letters and digits"
            )
        # Built by hand: WeChat wants exactly this order, and redirect_uri fully URL-encoded.
        query = "&".join(
            f"{key}={quote(value, safe='')}"
            for key, value in (
                ("appid", self._config.client_id),
                ("redirect_uri", trip.redirect_uri),
                ("response_type", "code"),
                ("scope", self.scope),
                ("state", trip.state),
            )
        )
        return f"{with_query(self.authorize_endpoint, query)}#wechat_redirect"

    async def exchange_code(self, code: str, trip: Trip) -> UpstreamGrant:
        secret = self._config.client_secret
        status, body = await request_json(
            self._http,
            "GET",
            self.token_endpoint,
            timeouts=self._timeout,  # never retried: a code is single use
            upstream=Upstream(self.name, "token"),
            params=[
                ("appid", self._config.client_id),
                ("secret", secret),
                ("code", code),
                ("grant_type", "authorization_code"),
            ],
        )
        refuse_errcode(body, status, "token response", hide=(secret, code))
        required_str(body, "access_token", "token response")
        required_str(body, "openid", "token response")
        if body.get("is_snapshotuser") == 1:
            # A "snapshot page" visitor is a virtual account with its own openid, not the user.
            raise ProviderError(
                "snapshot_user", "WeChat gave a virtual snapshot-page account, not a signed-in user"
            )
        return body

    async def fetch_identity(self, grant: UpstreamGrant, trip: Trip) -> Identity:
        openid = required_str(grant, "openid", "token response")
        unionid = optional_str(grant, "unionid")
        name = picture = None
        if self._reads_profile(grant):
            access_token = required_str(grant, "access_token", "token response")
            status, profile = await read_profile(
                self._http,
                self.userinfo_endpoint,
                self.name,
                self._timeout,
                params=[("access_token", access_token), ("openid", openid), ("lang", "zh_CN")],
            )
            refuse_errcode(
                profile, status, "profile", hide=(self._config.client_secret, access_token)
            )
            if required_str(profile, "openid", "profile") != openid:
                raise ProviderError("invalid_response", "WeChat's profile is of another user")
            profile_unionid = optional_str(profile, "unionid")
            if unionid and profile_unionid and unionid != profile_unionid:
                raise ProviderError("invalid_response", "WeChat's profile is of another user")
            unionid = unionid or profile_unionid
            name = optional_str(profile, "nickname")
            picture = optional_str(profile, "headimgurl")
        subject = unionid if self.subject == "unionid" and unionid else openid
        return Identity(provider=self.name, subject=subject, name=name, picture=picture)

    def _reads_profile(self, grant: UpstreamGrant) -> bool:
        """With snsapi_base, /sns/userinfo answers 48001: the token response is all there is.
        WeChat's own `scope` in the token response (comma-separated) has the last word."""
        if self.scope != "snsapi_userinfo":
            return False
        granted = grant.get("scope")
        return not isinstance(granted, str) or "snsapi_userinfo" in granted.split(",")


def refuse_errcode(body: dict[str, Any], status: int, what: str, hide: Iterable[object]) -> None:
    """WeChat's error shape: a non-zero errcode is an error whatever the HTTP status; an HTTP
    error without one is not an answer either. `hide` are values that must not reach a message
    (the secret, the code, the token), in case an errmsg ever echoes one."""
    raw = body.get("errcode")
    errcode = 0 if raw is None else number(raw)
    if errcode is None:
        raise ProviderError(
            "invalid_response", f"WeChat's {what} has an errcode that is not a number"
        )
    if errcode != 0:
        errmsg = provider_words(body.get("errmsg"), hide) or "no errmsg"
        reason = REASONS.get(errcode, f"errcode_{errcode}")
        raise ProviderError(reason, f"errcode {errcode}: {errmsg}")
    if status != 200:
        raise ProviderError("invalid_response", f"WeChat's {what} came with HTTP {status}")
