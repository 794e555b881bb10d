"""A fake of WeChat's Official Account webpage authorization (网页授权), as WeChat documents it
(issue 3, shared/REFERENCES.md), for its real hosts:

::

    open.weixin.qq.com  GET /connect/oauth2/authorize  the page inside WeChat's browser
    api.weixin.qq.com   GET /sns/oauth2/access_token   code -> web access token
                        GET /sns/userinfo              token + openid -> profile

What it holds to, whoever calls it:
- the authorize page opens only in WeChat's browser (User-Agent "MicroMessenger"); its parameters
  come in the documented order (appid, redirect_uri, response_type, scope, state) with redirect_uri
  URL-encoded and on the registered callback domain (exact host); scope is snsapi_base (silent,
  always approved) or snsapi_userinfo (the user approves or refuses); state is a-zA-Z0-9, at most
  128 bytes. Problems show a page inside WeChat, never a redirect. Approval redirects to
  redirect_uri?code=CODE&state=STATE, refusal to redirect_uri?state=STATE (no code, no error).
- a code is single use and lives 5 minutes; a web access token lives 7200 s.
- every error is HTTP 200 with {"errcode": N, "errmsg": "..., rid: ..."}; bodies are UTF-8 JSON
  served as `content_type` (WeChat serves text/plain).
- unionid comes only when the app is bound to an Open Platform account, and in the token
  response only for scope snsapi_userinfo; /sns/userinfo answers 48001 to a snsapi_base token;
  since 2021 the profile has no gender or region (0 and empty strings).

For tests: `add_user`, `sign_in` (who is at the phone and whether they approve), `fail_next` /
`answer_next` / `break_next` (an errcode, any response, or a failed connection on the next call
of an endpoint), `advance` (the clock), and `requests`, every request received, in order.
"""

from __future__ import annotations

import json
import re
import secrets
import string
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

AUTHORIZE_ORDER = ["appid", "redirect_uri", "response_type", "scope", "state"]
SCOPES = ("snsapi_base", "snsapi_userinfo")
STATE = re.compile(r"[A-Za-z0-9]{0,128}")
CODE_TTL = 300  # seconds: a code is single use and expires after 5 minutes
TOKEN_TTL = 7200
ENDPOINTS = {
    "/connect/oauth2/authorize": "authorize",
    "/sns/oauth2/access_token": "token",
    "/sns/userinfo": "userinfo",
}
ERRMSGS = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40013: "invalid appid",
    40014: "invalid access_token",
    40029: "invalid code",
    40125: "invalid appsecret",
    40163: "code been used",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    41008: "missing code",
    41009: "missing openid",
    42001: "access_token expired",
    42003: "code expired",
    45011: "api minute-quota reach limit  mustslower  retry next minute",
    48001: "api unauthorized",
}
WECHAT_CHARS = string.ascii_letters + string.digits


def wechat_id(prefix: str = "o", length: int = 28) -> str:
    """openids and unionids look like "oYbGRs8MmU6bESxXcX2Z0rFRivjQ" (28 characters)."""
    return prefix + "".join(secrets.choice(WECHAT_CHARS + "-_") for _ in range(length - 1))


@dataclass
class WeChatUser:
    nickname: str
    openid: str  # one per user and Official Account
    unionid: str  # one per user and Open Platform account
    headimgurl: str
    snapshot: bool = False  # a "snapshot page" virtual account


@dataclass(frozen=True)
class Seen:
    """One request the fake received, as it arrived."""

    method: str
    host: str
    path: str
    raw_query: str
    headers: dict[str, str]

    @property
    def endpoint(self) -> str:
        return ENDPOINTS.get(self.path, self.path)

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(self.raw_query, keep_blank_values=True)


@dataclass
class Code:
    user: WeChatUser
    scope: str
    issued_at: float
    used: bool = False


@dataclass
class Token:
    user: WeChatUser
    scope: str
    issued_at: float


@dataclass
class Injected:
    response: Response | None = None
    failure: Exception | None = None


@dataclass
class FakeWeChat:
    appid: str = "wx0123456789abcdef"
    secret: str = "wechat-app-secret-0123456789abcd"
    callback_domain: str = "relay.test"  # 网页授权域名: an exact host
    open_platform: bool = True  # bound to an Open Platform account: unionids exist
    content_type: str = "text/plain"
    users: list[WeChatUser] = field(default_factory=list)
    requests: list[Seen] = field(default_factory=list)
    at_phone: WeChatUser | None = None  # who signs in next; default the first user
    decision: str = "approve"  # or "deny"
    _skew: float = 0.0
    _codes: dict[str, Code] = field(default_factory=dict)
    _tokens: dict[str, Token] = field(default_factory=dict)
    _injected: dict[str, list[Injected]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        self.open_app = self._recorded(
            Starlette(routes=[Route("/connect/oauth2/authorize", self.authorize)])
        )
        self.api_app = self._recorded(
            Starlette(
                routes=[
                    Route("/sns/oauth2/access_token", self.token),
                    Route("/sns/userinfo", self.userinfo),
                ]
            )
        )

    # --- for tests -----------------------------------------------------------------------------

    def hosts(
        self, open_host: str = "open.weixin.qq.com", api_host: str = "api.weixin.qq.com"
    ) -> dict[str, ASGIApp]:
        return {open_host: self.open_app, api_host: self.api_app}

    def add_user(
        self, nickname: str = "微信用户", *, headimgurl: str | None = None, snapshot: bool = False
    ) -> WeChatUser:
        user = WeChatUser(
            nickname=nickname,
            openid=wechat_id("o"),
            unionid=wechat_id("o"),
            headimgurl=headimgurl
            if headimgurl is not None
            else f"https://thirdwx.qlogo.cn/mmopen/vi_32/{secrets.token_hex(16)}/132",
            snapshot=snapshot,
        )
        self.users.append(user)
        return user

    def sign_in(self, user: WeChatUser, decision: str = "approve") -> None:
        """The person at the phone, and what they press on WeChat's consent page."""
        self.at_phone = user
        self.decision = decision

    def fail_next(
        self, endpoint: str, errcode: int, errmsg: str | None = None, *, status: int = 200
    ) -> None:
        """The next call of "token" or "userinfo" answers this errcode."""
        body = {"errcode": errcode, "errmsg": self.errmsg(errcode, errmsg)}
        self.answer_next(endpoint, self.json(body, status_code=status))

    def answer_next(self, endpoint: str, response: Response) -> None:
        self._injected[endpoint].append(Injected(response=response))

    def break_next(self, endpoint: str, failure: Exception) -> None:
        """The next call of the endpoint fails on the wire (an httpx exception reaches the
        caller: the ASGI transport passes the app's exception on)."""
        self._injected[endpoint].append(Injected(failure=failure))

    def advance(self, seconds: float) -> None:
        self._skew += seconds

    def now(self) -> float:
        return time.monotonic() + self._skew

    def seen(self, endpoint: str) -> list[Seen]:
        return [request for request in self.requests if request.endpoint == endpoint]

    def issue_code(self, user: WeChatUser, scope: str = "snsapi_userinfo") -> str:
        code = "".join(secrets.choice(WECHAT_CHARS) for _ in range(32))
        self._codes[code] = Code(user=user, scope=scope, issued_at=self.now())
        return code

    # --- wire helpers --------------------------------------------------------------------------

    def _recorded(self, app: ASGIApp) -> ASGIApp:
        async def recording(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
                seen = Seen(
                    method=scope["method"],
                    host=headers.get("host", ""),
                    path=scope["path"],
                    raw_query=scope["query_string"].decode("latin-1"),
                    headers=headers,
                )
                self.requests.append(seen)
                queue = self._injected.get(seen.endpoint)
                if queue and queue[0].failure is not None:
                    raise queue.pop(0).failure
            await app(scope, receive, send)

        return recording

    def _injected_answer(self, endpoint: str) -> Response | None:
        queue = self._injected.get(endpoint)
        if queue:
            return queue.pop(0).response
        return None

    def json(self, body: dict[str, Any], status_code: int = 200) -> Response:
        content = json.dumps(body, ensure_ascii=False).encode("utf-8")
        return Response(content, status_code=status_code, media_type=self.content_type)

    @staticmethod
    def errmsg(errcode: int, errmsg: str | None = None) -> str:
        rid = f"{secrets.token_hex(4)}-{secrets.token_hex(4)}-{secrets.token_hex(4)}"
        return f"{errmsg or ERRMSGS.get(errcode, 'unknown error')}, rid: {rid}"

    def error(self, errcode: int) -> Response:
        return self.json({"errcode": errcode, "errmsg": self.errmsg(errcode)})

    @staticmethod
    def page(title: str, detail: str = "") -> HTMLResponse:
        """What WeChat's browser shows when the authorize link is wrong: a page, no redirect."""
        return HTMLResponse(f"<html><body><h2>{title}</h2><p>{detail}</p></body></html>")

    # --- open.weixin.qq.com --------------------------------------------------------------------

    async def authorize(self, request: Request) -> Response:
        if "MicroMessenger" not in request.headers.get("user-agent", ""):
            return self.page("请在微信客户端打开链接")
        raw = request.url.query
        pairs = parse_qsl(raw, keep_blank_values=True)
        keys = [key for key, _ in pairs]
        if keys not in (AUTHORIZE_ORDER, AUTHORIZE_ORDER[:-1]):
            return self.page("Oops! Something went wrong:(", "参数错误 (parameters or their order)")
        query = dict(pairs)
        if not query["appid"]:
            return self.page("Oops! Something went wrong:(", "10012 appid不能为空")
        if query["appid"] != self.appid:
            return self.page("Oops! Something went wrong:(", "appid参数错误")
        raw_redirect = re.search(r"(?:^|&)redirect_uri=([^&]*)", raw)
        redirect_uri = query["redirect_uri"]
        if not redirect_uri:
            return self.page("Oops! Something went wrong:(", "10011 redirect_uri不能为空")
        encoded = raw_redirect is not None and not re.search(r"[:/?#]", raw_redirect.group(1))
        if not encoded or urlsplit(redirect_uri).hostname != self.callback_domain:
            return self.page(
                "Oops! Something went wrong:(", "10003 redirect_uri域名与后台配置不一致"
            )
        if query["response_type"] != "code":
            return self.page("Oops! Something went wrong:(", "response_type参数错误")
        scope = query["scope"]
        if not scope:
            return self.page("Oops! Something went wrong:(", "10010 scope不能为空")
        if scope not in SCOPES:
            return self.page("Oops! Something went wrong:(", "10005 此公众号并没有这些scope的权限")
        state = query.get("state")
        if state is not None and not (STATE.fullmatch(state) and len(state.encode()) <= 128):
            return self.page("Oops! Something went wrong:(", "state参数错误")
        user = self.at_phone or (self.users[0] if self.users else None)
        if user is None:
            return self.page("Oops! Something went wrong:(", "no WeChat user at the phone")
        back = {} if state is None else {"state": state}
        # snsapi_base is silent: no consent page, so nobody can refuse it.
        if scope == "snsapi_userinfo" and self.decision == "deny":
            return RedirectResponse(join(redirect_uri, back), status_code=302)
        code = self.issue_code(user, scope)
        return RedirectResponse(join(redirect_uri, {"code": code, **back}), status_code=302)

    # --- api.weixin.qq.com ---------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        injected = self._injected_answer("token")
        if injected is not None:
            return injected
        query = dict(parse_qsl(request.url.query, keep_blank_values=True))
        if not query.get("appid"):
            return self.error(41002)
        if query["appid"] != self.appid:
            return self.error(40013)
        if not query.get("secret"):
            return self.error(41004)
        if not secrets.compare_digest(query["secret"].encode(), self.secret.encode()):
            return self.error(40125)
        if not query.get("code"):
            return self.error(41008)
        if query.get("grant_type") != "authorization_code":
            return self.error(40002)
        code = self._codes.get(query["code"])
        if code is None:
            return self.error(40029)
        if code.used:
            return self.error(40163)
        if self.now() - code.issued_at > CODE_TTL:
            return self.error(42003)
        code.used = True
        access_token = "".join(secrets.choice(WECHAT_CHARS + "-_") for _ in range(86))
        self._tokens[access_token] = Token(user=code.user, scope=code.scope, issued_at=self.now())
        body: dict[str, Any] = {
            "access_token": access_token,
            "expires_in": TOKEN_TTL,
            "refresh_token": "".join(secrets.choice(WECHAT_CHARS + "-_") for _ in range(86)),
            "openid": code.user.openid,
            "scope": code.scope,
        }
        if code.user.snapshot:
            body["is_snapshotuser"] = 1
        if self.open_platform and code.scope == "snsapi_userinfo":
            body["unionid"] = code.user.unionid
        return self.json(body)

    async def userinfo(self, request: Request) -> Response:
        injected = self._injected_answer("userinfo")
        if injected is not None:
            return injected
        query = dict(parse_qsl(request.url.query, keep_blank_values=True))
        if not query.get("access_token"):
            return self.error(41001)
        token = self._tokens.get(query["access_token"])
        if token is None:
            return self.error(40014)
        if self.now() - token.issued_at > TOKEN_TTL:
            return self.error(42001)
        if not query.get("openid"):
            return self.error(41009)
        if query["openid"] != token.user.openid:
            return self.error(40003)
        if token.scope != "snsapi_userinfo":
            return self.error(48001)
        body: dict[str, Any] = {
            "openid": token.user.openid,
            "nickname": token.user.nickname,
            "sex": 0,
            "province": "",
            "city": "",
            "country": "",
            "headimgurl": token.user.headimgurl,
            "privilege": [],
        }
        if self.open_platform:
            body["unionid"] = token.user.unionid
        return self.json(body)


def join(url: str, params: dict[str, str]) -> str:
    if not params:
        return url
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
