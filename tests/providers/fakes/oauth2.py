"""A fake OAuth 2.0 provider whose dialect is chosen per test, each as documented:

STANDARD  RFC 6749 with PKCE (RFC 7636) and a Bearer userinfo (RFC 6750), Gitea-like:
          client_secret_basic or _post, errors with HTTP 400/401 `{"error", "error_description"}`.
TIKTOK    Login Kit v2: `client_key` for client_id in both requests, form body with the secret,
          no PKCE on the web, `open_id` in the token answer, errors `{"error",
          "error_description", "log_id"}`; /v2/user/info/ needs `fields` and answers
          `{"data": {"user": {...}}, "error": {"code": "ok", ...}}`.
GITHUB    JSON only when asked (`Accept: application/json`, form-encoded otherwise), errors with
          HTTP 200 (`bad_verification_code`), a numeric user `id`, /user with `login`.
WRAPPED   Mixin-like: a JSON token body, answers wrapped in `data`, errors as an object
          `{"error": {"status", "code", "description"}}` with HTTP 202 (Mixin itself has its own
          adapter and fake; this one is the generic adapter's test of those shapes).

Unverified details (chosen, not documented): the HTTP status of TikTok's token errors (200
here).

Tests register users, choose the next user and decision, queue canned answers or connection
failures per endpoint (`inject`), and read every request received (`requests`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send


@dataclass(frozen=True)
class Dialect:
    authorize_url: str
    token_url: str
    userinfo_url: str
    client_param: str = "client_id"  # the wire name of client_id, in both requests
    auth_methods: frozenset[str] = frozenset({"client_secret_post"})  # or _basic, none
    json_body: bool = False  # the token request is JSON, not a form
    pkce: bool = True  # checks a challenge when one is sent
    redirect_uri: bool = True  # False: the callback URL is set in a dashboard (Mixin)
    id_field: str = "sub"
    token_wrap: str | None = None  # "data": the answer is {"data": {...}}
    userinfo_wrap: str | None = None
    style: str = "rfc6749"  # how errors look: rfc6749 | tiktok | github | wrapped


STANDARD = Dialect(
    authorize_url="https://git.example.com/login/oauth/authorize",
    token_url="https://git.example.com/login/oauth/access_token",
    userinfo_url="https://git.example.com/login/oauth/userinfo",
    auth_methods=frozenset({"client_secret_post", "client_secret_basic"}),
)
TIKTOK = Dialect(
    authorize_url="https://www.tiktok.com/v2/auth/authorize/",
    token_url="https://open.tiktokapis.com/v2/oauth/token/",
    userinfo_url="https://open.tiktokapis.com/v2/user/info/",
    client_param="client_key",
    pkce=False,
    id_field="open_id",
    userinfo_wrap="data.user",
    style="tiktok",
)
GITHUB = Dialect(
    authorize_url="https://github.com/login/oauth/authorize",
    token_url="https://github.com/login/oauth/access_token",
    userinfo_url="https://api.github.com/user",
    pkce=False,
    id_field="id",
    style="github",
)
WRAPPED = Dialect(
    authorize_url="https://wallet.example.com/oauth/authorize",
    token_url="https://api.wallet.example.com/oauth/token",
    userinfo_url="https://api.wallet.example.com/me",
    json_body=True,
    redirect_uri=False,
    id_field="user_id",
    token_wrap="data",
    userinfo_wrap="data",
    style="wrapped",
)
PUBLIC = replace(STANDARD, auth_methods=frozenset({"none"}))  # a public client with PKCE


@dataclass
class Recorded:
    """One request as the provider received it."""

    method: str
    url: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes = b""

    @property
    def form(self) -> list[tuple[str, str]]:
        return parse_qsl(self.body.decode(), keep_blank_values=True)

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    user: str
    scope: str
    challenge: str | None
    expires_at: float


@dataclass
class Injected:
    status: int = 200
    body: Any = None  # JSON; bytes go out as they are
    error: Exception | None = None  # raised instead: the connection fails


@dataclass
class FakeOAuth2:
    dialect: Dialect = STANDARD
    client_id: str = "relay-app"
    client_secret: str = "relay-app-secret"
    redirect_uris: list[str] = field(default_factory=list)  # the registered callback URLs
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> profile as sent
    next_user: str | None = None  # default: the first user added
    next_decision: str = "approve"  # or "deny"
    requests: list[Recorded] = field(default_factory=list)
    injected: dict[str, list[Injected]] = field(default_factory=lambda: defaultdict(list))
    codes: dict[str, Grant] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # access token -> user id

    def __post_init__(self) -> None:
        d = self.dialect
        self.app = Starlette(
            routes=[
                Route(urlsplit(d.authorize_url).path, self.authorize),
                Route(urlsplit(d.token_url).path, self.token, methods=["POST"]),
                Route(urlsplit(d.userinfo_url).path, self.userinfo),
            ]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    @property
    def hosts(self) -> set[str]:
        d = self.dialect
        return {urlsplit(url).netloc for url in (d.authorize_url, d.token_url, d.userinfo_url)}

    # --- the tests' handles -----------------------------------------------------------------

    def add_user(self, user_id: str | int, **profile: Any) -> None:
        self.users[str(user_id)] = {self.dialect.id_field: user_id, **profile}

    def inject(self, endpoint: str, status: int = 200, body: Any = None, **kw: Any) -> None:
        """The next request to `endpoint` (authorize, token, userinfo) gets this answer."""
        self.injected[endpoint].append(Injected(status, body, **kw))

    def received(self, endpoint: str) -> list[Recorded]:
        url = getattr(self.dialect, f"{endpoint}_url")
        return [r for r in self.requests if r.url.split("?")[0] == url]

    # --- endpoints --------------------------------------------------------------------------

    async def arrive(self, request: Request, endpoint: str) -> Response | None:
        self.requests.append(
            Recorded(
                request.method,
                str(request.url),
                parse_qsl(request.url.query, keep_blank_values=True),
                dict(request.headers),
                await request.body(),
            )
        )
        if not self.injected[endpoint]:
            return None
        canned = self.injected[endpoint].pop(0)
        if canned.error is not None:
            raise canned.error
        if isinstance(canned.body, bytes):
            return Response(canned.body, status_code=canned.status, media_type="text/html")
        return JSONResponse(canned.body, status_code=canned.status)

    async def authorize(self, request: Request) -> Response:
        if (canned := await self.arrive(request, "authorize")) is not None:
            return canned
        d = self.dialect
        params = dict(request.query_params)
        if params.get(d.client_param) != self.client_id:
            return HTMLResponse("<h1>Unknown client</h1>", status_code=400)
        redirect_uri = params.get("redirect_uri", "") if d.redirect_uri else self.redirect_uris[0]
        if redirect_uri not in self.redirect_uris:
            return HTMLResponse("<h1>redirect_uri is not registered</h1>", status_code=400)

        def back(**answer: str) -> Response:
            answer["state"] = params.get("state", "")
            return RedirectResponse(f"{redirect_uri}?{urlencode(answer)}", status_code=302)

        if d.style != "github" and params.get("response_type") != "code":
            return back(error="unsupported_response_type")
        challenge = params.get("code_challenge") if d.pkce else None
        if challenge is not None and params.get("code_challenge_method", "S256") != "S256":
            return back(error="invalid_request", error_description="S256 only")
        if self.next_decision != "approve":
            return back(error="access_denied", error_description="The user denied the request")
        code = secrets.token_urlsafe(24)
        self.codes[code] = Grant(
            client_id=self.client_id,
            redirect_uri=redirect_uri,
            user=self.next_user or next(iter(self.users)),
            scope=params.get("scope", ""),
            challenge=challenge,
            expires_at=time.time() + 300,
        )
        return back(code=code)

    async def token(self, request: Request) -> Response:
        if (canned := await self.arrive(request, "token")) is not None:
            return canned
        d = self.dialect
        content_type = request.headers.get("content-type", "")
        body = await request.body()
        params: dict[str, Any]
        if d.json_body and content_type.startswith("application/json"):
            params = json.loads(body)
        elif not d.json_body and content_type.startswith("application/x-www-form-urlencoded"):
            params = dict(parse_qsl(body.decode(), keep_blank_values=True))
        else:
            return self.error("invalid_request", "The request body is malformed.")
        if not self.authenticated(request, params):
            return self.error("invalid_client", "Client authentication failed.", 401)
        if d.style != "wrapped" and params.get("grant_type") != "authorization_code":
            return self.error("unsupported_grant_type", "The grant type is not supported.")
        grant = self.codes.pop(str(params.get("code", "")), None)  # single use
        if grant is None or grant.expires_at < time.time():
            return self.error("invalid_grant", "The code is invalid, expired or used.")
        if d.redirect_uri and params.get("redirect_uri") != grant.redirect_uri:
            return self.error("invalid_grant", "redirect_uri does not match.")
        verifier = params.get("code_verifier")
        if grant.challenge is not None and (
            not isinstance(verifier, str) or s256(verifier) != grant.challenge
        ):
            return self.error("invalid_grant", "code_verifier does not match.")
        access_token = secrets.token_urlsafe(24)
        self.tokens[access_token] = grant.user
        answer: dict[str, Any] = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 86400,
            "scope": grant.scope,
        }
        if d.style == "tiktok":
            answer.update(open_id=grant.user, refresh_token="rft", refresh_expires_in=31536000)
        if d.style == "github" and "application/json" not in request.headers.get("accept", ""):
            return Response(urlencode(answer), media_type="application/x-www-form-urlencoded")
        return JSONResponse(wrap(answer, d.token_wrap))

    def authenticated(self, request: Request, params: dict[str, Any]) -> bool:
        """RFC 6749 §2.3.1 by the methods this provider accepts; exactly one method."""
        methods = self.dialect.auth_methods
        header = request.headers.get("authorization", "")
        client_id = params.get(self.dialect.client_param)
        secret = params.get("client_secret")
        if header.startswith("Basic "):
            if "client_secret_basic" not in methods or secret is not None:
                return False
            try:
                pair = base64.b64decode(header[6:], validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return False
            basic_id, _, secret = (unquote_plus(part) for part in pair.partition(":"))
            if client_id is not None and client_id != basic_id:
                return False
            client_id = basic_id
        elif secret is not None:
            if "client_secret_post" not in methods:
                return False
        else:
            return "none" in methods and client_id == self.client_id
        return client_id == self.client_id and hmac.compare_digest(
            str(secret).encode(), self.client_secret.encode()
        )

    async def userinfo(self, request: Request) -> Response:
        if (canned := await self.arrive(request, "userinfo")) is not None:
            return canned
        d = self.dialect
        header = request.headers.get("authorization", "")
        user = self.tokens.get(header[7:]) if header.startswith("Bearer ") else None
        if user is None:
            return self.token_refused()
        profile = self.users[user]
        if d.style == "tiktok":
            fields = request.query_params.get("fields")
            if not fields:
                return self.tiktok_api_error("invalid_params", "fields is required", 400)
            profile = {k: v for k, v in profile.items() if k in fields.split(",")}
            return JSONResponse(
                {"data": {"user": profile}, "error": {"code": "ok", "message": "", "log_id": "1"}}
            )
        return JSONResponse(wrap(profile, d.userinfo_wrap))

    # --- error shapes -----------------------------------------------------------------------

    def error(self, error: str, description: str, status: int = 400) -> Response:
        style = self.dialect.style
        if style == "tiktok":
            body = {"error": error, "error_description": description, "log_id": "20230814"}
            return JSONResponse(body)
        if style == "github":
            words = {"invalid_grant": "bad_verification_code"}.get(error, error)
            body = {
                "error": words,
                "error_description": description,
                "error_uri": "https://docs.github.com/apps/oauth-apps",
            }
            return JSONResponse(body)
        if style == "wrapped":
            code = {"invalid_client": 401}.get(error, 400)
            body = {"error": {"status": 202, "code": code, "description": description}}
            return JSONResponse(body, status_code=202)
        return JSONResponse({"error": error, "error_description": description}, status_code=status)

    def token_refused(self) -> Response:
        style = self.dialect.style
        if style == "tiktok":
            return self.tiktok_api_error("access_token_invalid", "The access token is invalid", 401)
        if style == "github":
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        if style == "wrapped":
            body = {"error": {"status": 202, "code": 401, "description": "Unauthorized"}}
            return JSONResponse(body, status_code=202)
        return JSONResponse(
            {"error": "invalid_token"},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )

    @staticmethod
    def tiktok_api_error(code: str, message: str, status: int) -> Response:
        body = {"data": {}, "error": {"code": code, "message": message, "log_id": "20230814"}}
        return JSONResponse(body, status_code=status)


def wrap(body: dict[str, Any], path: str | None) -> dict[str, Any]:
    for step in reversed(path.split(".") if path else []):
        body = {step: body}
    return body


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
