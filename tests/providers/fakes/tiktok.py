"""A fake of TikTok Login Kit v2 for the web, on TikTok's own two hosts.

    www.tiktok.com       GET  /v2/auth/authorize/   the page the phone opens
    open.tiktokapis.com  POST /v2/oauth/token/      the code for tokens
                         GET  /v2/user/info/        the profile

It behaves as TikTok documents (developers.tiktok.com: login-kit-web,
login-kit-manage-user-access-tokens, tiktok-api-v2-get-user-info, oauth-error-handling), not as
the relay would like:

- authorize: `client_key` of a registered app, `response_type=code`, `scope` separated by commas,
  `redirect_uri` registered for the app character for character, `state`. An unknown client_key
  or redirect_uri gets TikTok's error page, never a redirect. Then the signed-in user decides:
  approve -> 302 to redirect_uri with `code`, `scopes` (granted, comma-separated) and `state`;
  deny -> 302 with `error=access_denied`, `error_description` and `state`. A scope the app was not
  granted comes back as `error=invalid_scope` (assumed: TikTok shows it, its web redirect is not
  documented). Codes carry `*` and `!` as TikTok's are reported to, so a client that does not
  decode the callback's query sends a code that does not match.
- token: a POST with a form body (`application/x-www-form-urlencoded`): `client_key`,
  `client_secret`, `code`, `grant_type=authorization_code`, `redirect_uri`. A code is single use
  and bound to its app and redirect_uri. Errors are `{"error", "error_description", "log_id"}`;
  TikTok does not document each one's HTTP status, so this fake answers `invalid_grant` with
  HTTP 200 and the others with 4xx: only the body tells.
- user info: `Authorization: Bearer`, `fields` required; only the requested fields come back, in
  `{"data": {"user": {...}}, "error": {"code": "ok", "message": "", "log_id": ...}}`. Errors with
  the statuses TikTok lists: access_token_invalid 401, scope_not_authorized 401, invalid_params
  400, rate_limit_exceeded 429.

For tests: `add_user`, `signed_in` and `decision` (who is signed in on the phone and what they
answer), `fail_token` / `fail_profile` (TikTok's error shapes), `answer_next` (any raw answer),
`break_next` (the connection fails), `expire_codes` / `revoke_tokens`, and `seen` / `attempts`
(what reached each endpoint).
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

WEB_HOST = "www.tiktok.com"
API_HOST = "open.tiktokapis.com"
AUTHORIZE_PATH = "/v2/auth/authorize/"
TOKEN_PATH = "/v2/oauth/token/"
USERINFO_PATH = "/v2/user/info/"

# Which scope each user info field needs (tiktok-api-v2-get-user-info).
FIELD_SCOPES = {
    "open_id": "user.info.basic",
    "union_id": "user.info.basic",
    "avatar_url": "user.info.basic",
    "avatar_url_100": "user.info.basic",
    "avatar_large_url": "user.info.basic",
    "display_name": "user.info.basic",
    "bio_description": "user.info.profile",
    "profile_deep_link": "user.info.profile",
    "is_verified": "user.info.profile",
    "username": "user.info.profile",
    "follower_count": "user.info.stats",
    "following_count": "user.info.stats",
    "likes_count": "user.info.stats",
    "video_count": "user.info.stats",
}
TOKEN_ERROR_STATUS = {
    "invalid_request": 400,
    "invalid_client": 401,
    "unsupported_grant_type": 400,
    "invalid_grant": 200,  # an error with HTTP 200: the body decides
}


def log_id() -> str:
    """Shaped like TikTok's: a timestamp, then hex."""
    return time.strftime("%Y%m%d%H%M%S") + secrets.token_hex(10).upper()


@dataclass
class TikTokUser:
    open_id: str
    union_id: str | None
    display_name: str
    avatar_url: str


@dataclass(frozen=True)
class Seen:
    """One request as it reached the fake."""

    host: str
    method: str
    path: str
    query: str  # raw, as sent
    headers: dict[str, str]  # lowercase names
    body: bytes

    @property
    def params(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query, keep_blank_values=True)

    @property
    def form(self) -> list[tuple[str, str]]:
        return parse_qsl(self.body.decode(), keep_blank_values=True)


@dataclass
class IssuedCode:
    client_key: str
    redirect_uri: str
    user: TikTokUser
    scopes: tuple[str, ...]
    used: bool = False
    expired: bool = False


@dataclass
class IssuedToken:
    user: TikTokUser
    scopes: tuple[str, ...]
    revoked: bool = False


@dataclass
class FakeTikTok:
    client_key: str = "tiktok-client-key"
    client_secret: str = "tiktok-client-secret"
    redirect_uris: tuple[str, ...] = ("https://relay.test/callback/tiktok",)
    app_scopes: tuple[str, ...] = ("user.info.basic", "user.info.profile", "video.list")
    decision: Literal["approve", "deny"] = "approve"
    granted: tuple[str, ...] | None = None  # scopes the user leaves ticked; None: all asked
    signed_in: TikTokUser | None = None
    users: list[TikTokUser] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    attempts: Counter[str] = field(default_factory=Counter)  # path -> requests, broken included
    codes: dict[str, IssuedCode] = field(default_factory=dict)
    tokens: dict[str, IssuedToken] = field(default_factory=dict)
    _answers: dict[str, list[Response]] = field(default_factory=dict)
    _breaks: dict[str, list[Exception]] = field(default_factory=dict)

    # --- the test's controls -------------------------------------------------------------------

    def add_user(self, display_name: str, *, with_union_id: bool = True) -> TikTokUser:
        """A TikTok account; the first one added is signed in on the phone."""
        user = TikTokUser(
            open_id="-000" + secrets.token_urlsafe(24),
            union_id=f"{secrets.token_hex(4)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}-"
            f"{secrets.token_hex(2)}-{secrets.token_hex(6)}"
            if with_union_id
            else None,
            display_name=display_name,
            avatar_url=f"https://p16-sign.tiktokcdn-us.com/{secrets.token_hex(8)}~c5_168x168.jpeg",
        )
        self.users.append(user)
        if self.signed_in is None:
            self.signed_in = user
        return user

    def fail_token(self, error: str, description: str, *, status: int | None = None) -> str:
        """The next token request gets TikTok's error body; its log_id is returned."""
        ident = log_id()
        body = {"error": error, "error_description": description, "log_id": ident}
        status = TOKEN_ERROR_STATUS.get(error, 400) if status is None else status
        self.answer_next(TOKEN_PATH, JSONResponse(body, status_code=status))
        return ident

    def fail_profile(self, code: str, message: str, *, status: int) -> str:
        """The next user info request gets TikTok's error body; its log_id is returned."""
        ident = log_id()
        self.answer_next(USERINFO_PATH, profile_error(code, message, status, ident))
        return ident

    def answer_next(self, path: str, response: Response) -> None:
        """The next request to `path` gets exactly `response`."""
        self._answers.setdefault(path, []).append(response)

    def break_next(self, path: str, failure: Exception) -> None:
        """The next request to `path` fails in the transport with `failure` (an httpx error),
        as a refused connection or a timeout would."""
        self._breaks.setdefault(path, []).append(failure)

    def expire_codes(self) -> None:
        for issued in self.codes.values():
            issued.expired = True

    def revoke_tokens(self) -> None:
        for issued in self.tokens.values():
            issued.revoked = True

    def requests_to(self, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path == path]

    @property
    def hosts(self) -> dict[str, ASGIApp]:
        """For `relay_with(fakes=...)`: TikTok's hostnames and their apps."""
        return {WEB_HOST: self.web, API_HOST: self.api}

    @property
    def web(self) -> ASGIApp:
        return Wire(self, Starlette(routes=[Route(AUTHORIZE_PATH, self.authorize)]))

    @property
    def api(self) -> ASGIApp:
        routes = [
            Route(TOKEN_PATH, self.token, methods=["POST"]),
            Route(USERINFO_PATH, self.user_info, methods=["GET"]),
        ]
        return Wire(self, Starlette(routes=routes))

    # --- www.tiktok.com ------------------------------------------------------------------------

    async def authorize(self, request: Request) -> Response:
        await self.record(request)
        query = request.query_params
        if query.get("client_key") != self.client_key:
            return error_page("client_key", "This app is not registered with TikTok.")
        redirect_uri = query.get("redirect_uri", "")
        if redirect_uri not in self.redirect_uris:
            return error_page("redirect_uri", "The redirect_uri does not match the app's.")
        state = query.get("state", "")

        def back(**params: str) -> Response:
            target = f"{redirect_uri}?{urlencode({**params, 'state': state})}"
            return RedirectResponse(target, status_code=302)

        if query.get("response_type") != "code":
            return back(error="unsupported_response_type", error_description="Use code.")
        asked = tuple(s for s in query.get("scope", "").split(",") if s)
        if not asked:
            return back(error="invalid_request", error_description="scope is required.")
        if any(scope not in self.app_scopes for scope in asked):
            return back(error="invalid_scope", error_description="The scope is not authorized.")
        if self.signed_in is None:
            return HTMLResponse("<h1>Log in to TikTok</h1>")
        if self.decision == "deny":
            return back(error="access_denied", error_description="The user denied the request.")
        granted = asked if self.granted is None else tuple(s for s in asked if s in self.granted)
        code = f"{secrets.token_urlsafe(48)}*3!{secrets.randbelow(10_000)}"
        self.codes[code] = IssuedCode(self.client_key, redirect_uri, self.signed_in, granted)
        return back(code=code, scopes=",".join(granted))

    # --- open.tiktokapis.com -------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        await self.record(request)
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        if content_type != "application/x-www-form-urlencoded":
            return token_error("invalid_request", "Content-Type must be form-urlencoded.")
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        names = ("client_key", "client_secret", "code", "grant_type", "redirect_uri")
        missing = [name for name in names if not form.get(name)]
        if missing:
            return token_error("invalid_request", f"Missing parameter: {missing[0]}.")
        if form["client_key"] != self.client_key or form["client_secret"] != self.client_secret:
            return token_error("invalid_client", "Client key or secret is incorrect.")
        if form["grant_type"] != "authorization_code":
            return token_error("unsupported_grant_type", "The grant type is not supported.")
        issued = self.codes.get(form["code"])
        if issued is None or issued.client_key != form["client_key"]:
            return token_error("invalid_grant", "Authorization code is invalid.")
        if issued.used:
            return token_error("invalid_grant", "Authorization code has been used.")
        if issued.expired:
            return token_error("invalid_grant", "Authorization code is expired.")
        if issued.redirect_uri != form["redirect_uri"]:
            return token_error("invalid_grant", "Redirect URI does not match.")
        issued.used = True
        access_token = "act." + secrets.token_urlsafe(48)
        self.tokens[access_token] = IssuedToken(issued.user, issued.scopes)
        return JSONResponse(
            {
                "access_token": access_token,
                "expires_in": 86400,
                "open_id": issued.user.open_id,
                "refresh_expires_in": 31536000,
                "refresh_token": "rft." + secrets.token_urlsafe(48),
                "scope": ",".join(issued.scopes),
                "token_type": "Bearer",
            }
        )

    async def user_info(self, request: Request) -> Response:
        await self.record(request)
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        issued = self.tokens.get(value) if scheme == "Bearer" else None
        if issued is None or issued.revoked:
            return profile_error(
                "access_token_invalid",
                "The access token is invalid or not found in the request.",
                401,
            )
        fields = [f for f in request.query_params.get("fields", "").split(",") if f]
        if not fields or any(f not in FIELD_SCOPES for f in fields):
            return profile_error("invalid_params", "The fields are invalid.", 400)
        if any(FIELD_SCOPES[f] not in issued.scopes for f in fields):
            return profile_error(
                "scope_not_authorized", "The user did not authorize the scope.", 401
            )
        known: dict[str, Any] = {
            "open_id": issued.user.open_id,
            "union_id": issued.user.union_id,
            "avatar_url": issued.user.avatar_url,
            "display_name": issued.user.display_name,
        }
        user = {f: known[f] for f in fields if known.get(f) is not None}
        return JSONResponse(
            {"data": {"user": user}, "error": {"code": "ok", "message": "", "log_id": log_id()}}
        )

    async def record(self, request: Request) -> None:
        self.seen.append(
            Seen(
                host=request.headers.get("host", ""),
                method=request.method,
                path=request.url.path,
                query=request.url.query,
                headers={k.lower(): v for k, v in request.headers.items()},
                body=await request.body(),
            )
        )


class Wire:
    """What happens before TikTok's code runs: a failing connection, or a canned answer."""

    def __init__(self, fake: FakeTikTok, app: ASGIApp) -> None:
        self.fake = fake
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            self.fake.attempts[path] += 1
            breaks = self.fake._breaks.get(path)
            if breaks:
                raise breaks.pop(0)
            answers = self.fake._answers.get(path)
            if answers:
                await answers.pop(0)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def error_page(what: str, text: str) -> Response:
    return HTMLResponse(f"<h1>Something went wrong</h1><p>{what}: {text}</p>", status_code=400)


def token_error(error: str, description: str) -> Response:
    body = {"error": error, "error_description": description, "log_id": log_id()}
    return JSONResponse(body, status_code=TOKEN_ERROR_STATUS[error])


def profile_error(code: str, message: str, status: int, ident: str | None = None) -> Response:
    error = {"code": code, "message": message, "log_id": ident or log_id()}
    return JSONResponse({"data": {}, "error": error}, status_code=status)
