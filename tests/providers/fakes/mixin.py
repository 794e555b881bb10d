"""A fake of Mixin Messenger's OAuth, on its real hosts: mixin.one (the authorization page) and
api.mixin.one (the token exchange and the profile).

What it follows (Mixin's OAuth page and API error table, shared/REFERENCES.md):
- GET /oauth/authorize?client_id&scope&response_type=code[&state][&code_challenge]
  [&code_challenge_method][&return_to]: no redirect_uri; after approval the phone goes to the OAuth
  URL registered for the app (the developer dashboard) with `code`, `state` and `return_to`.
  Scopes are space-separated (`PROFILE:READ+ASSETS:READ` in the URL) and must hold PROFILE:READ.
  The user may uncheck scopes other than PROFILE:READ.
- POST /oauth/token with a JSON body {client_id, code, client_secret[, code_verifier]} answers
  HTTP 200 {"data": {"access_token", "scope"}}. Errors are
  {"error": {"status": 202, "code": N, "description": ...}} with HTTP 202 (500 for server errors).
  The code is single use (any attempt spends it); with a challenge, base64url(SHA-256(verifier))
  must equal it.
- GET /me with `Authorization: Bearer` answers {"data": {"user_id", "identity_number",
  "full_name", "avatar_url", ...}}, or the same error shape.

What Mixin does not document, and the fake assumes: how a refusal comes back (`deny` returns
error=access_denied, `deny_bare` returns with only the state, `stay` never returns), how long a
code lives (ten minutes here), and which code refuses a bad code, secret or verifier (401 here).

The Python API: `register_app`, `add_user`, `decide` (the next authorization's decision),
`fail_next` / `answer_next` / `raise_next` (inject an error, a raw answer or a network failure into
the next request to "token" or "me"), `expire_codes`, and `requests` (every request received).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

Action = Literal["approve", "deny", "deny_bare", "stay"]
Endpoint = Literal["token", "me"]

UNAUTHORIZED = (401, "Unauthorized, maybe invalid token.")
FORBIDDEN = (403, "Forbidden.")
BAD_DATA = (400, "The request body can't be parsed as valid data.")
CODE_TTL = 600.0  # seconds; Mixin does not say


@dataclass
class MixinApp:
    client_id: str
    client_secret: str
    oauth_url: str | None  # the dashboard's "OAuth URL"; None: never set


@dataclass
class MixinUser:
    user_id: str
    identity_number: str
    full_name: str
    avatar_url: str = ""
    biography: str = ""

    def profile(self) -> dict[str, Any]:
        return {
            "type": "user",
            "user_id": self.user_id,
            "identity_number": self.identity_number,
            "phone": "",
            "full_name": self.full_name,
            "biography": self.biography,
            "avatar_url": self.avatar_url,
            "relationship": "ME",
            "mute_until": "0001-01-01T00:00:00Z",
            "created_at": "2019-03-04T10:20:30.000000Z",
            "is_verified": False,
            "is_scam": False,
            "is_deactivated": False,
        }


@dataclass
class Decision:
    action: Action = "approve"
    user_id: str | None = None  # None: the first user added
    uncheck: frozenset[str] = frozenset()  # scopes the user unticks on the authorization page


@dataclass
class Grant:
    client_id: str
    user_id: str
    scope: tuple[str, ...]
    challenge: str | None
    expires_at: float


@dataclass
class Recorded:
    """One request as the fake received it."""

    host: str
    method: str
    path: str
    query: list[tuple[str, str]]  # in the order sent
    raw_query: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class MixinFake:
    apps: dict[str, MixinApp] = field(default_factory=dict)
    users: dict[str, MixinUser] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    _decisions: deque[Decision] = field(default_factory=deque)
    _codes: dict[str, Grant] = field(default_factory=dict)
    _tokens: dict[str, Grant] = field(default_factory=dict)
    _injected: dict[str, deque[Response | BaseException]] = field(default_factory=dict)

    # --- the Python API for tests --------------------------------------------------------------

    def register_app(self, client_id: str, client_secret: str, oauth_url: str | None) -> MixinApp:
        app = MixinApp(client_id, client_secret, oauth_url)
        self.apps[client_id] = app
        return app

    def add_user(
        self,
        full_name: str,
        *,
        identity_number: str | None = None,
        avatar_url: str = "",
        user_id: str | None = None,
    ) -> MixinUser:
        user = MixinUser(
            user_id=user_id or _uuid(),
            identity_number=identity_number or str(7000100000 + len(self.users)),
            full_name=full_name,
            avatar_url=avatar_url,
        )
        self.users[user.user_id] = user
        return user

    def decide(
        self,
        action: Action = "approve",
        *,
        user: MixinUser | None = None,
        uncheck: Iterable[str] = (),
    ) -> None:
        """What the next person on the authorization page does (default: the first user
        approves everything)."""
        self._decisions.append(Decision(action, user.user_id if user else None, frozenset(uncheck)))

    def fail_next(
        self, endpoint: Endpoint, code: int, description: str, *, status: int = 202
    ) -> None:
        """Mixin's error shape on the next request to `endpoint`, with HTTP `status`."""
        self.answer_next(endpoint, mixin_error(code, description, status=status))

    def answer_next(self, endpoint: Endpoint, response: Response) -> None:
        self._injected.setdefault(endpoint, deque()).append(response)

    def raise_next(self, endpoint: Endpoint, failure: BaseException) -> None:
        """The next request to `endpoint` fails in the network (httpx.ConnectError, ReadTimeout)."""
        self._injected.setdefault(endpoint, deque()).append(failure)

    def expire_codes(self) -> None:
        for grant in self._codes.values():
            grant.expires_at = 0.0

    def to(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    @property
    def hosts(self) -> dict[str, Starlette]:
        """For `relay_with(fakes=...)`: the fake on Mixin's real hostnames."""
        return {"mixin.one": self.web, "api.mixin.one": self.api}

    @property
    def web(self) -> Starlette:
        return Starlette(routes=[Route("/oauth/authorize", self.authorize, methods=["GET"])])

    @property
    def api(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/oauth/token", self.token, methods=["POST"]),
                Route("/me", self.me, methods=["GET"]),
            ]
        )

    # --- mixin.one -----------------------------------------------------------------------------

    async def authorize(self, request: Request) -> Response:
        await self._record(request)
        query = dict(request.query_params)
        app = self.apps.get(query.get("client_id", ""))
        if app is None:
            return page("This app does not exist.", 404)  # never a redirect for a bad client
        if app.oauth_url is None:
            return page("This app has no OAuth URL.", 400)
        if query.get("response_type") != "code":
            return page("response_type must be code.", 400)
        scope = tuple(dict.fromkeys(query.get("scope", "").split()))
        if "PROFILE:READ" not in scope:
            return page("The scope must include PROFILE:READ.", 400)

        decision = self._decisions.popleft() if self._decisions else Decision()
        if decision.action == "stay":
            return page("Authorization cancelled. You can close this page.", 200)
        back: dict[str, str] = {}
        if decision.action == "approve":
            user_id = decision.user_id or next(iter(self.users))
            granted = tuple(s for s in scope if s == "PROFILE:READ" or s not in decision.uncheck)
            code = secrets.token_hex(32)
            self._codes[code] = Grant(
                app.client_id,
                user_id,
                granted,
                query.get("code_challenge") or None,
                time.monotonic() + CODE_TTL,
            )
            back["code"] = code
        elif decision.action == "deny":
            back["error"] = "access_denied"
        if query.get("state"):
            back["state"] = query["state"]
        back["return_to"] = query.get("return_to", "")
        joiner = "&" if "?" in app.oauth_url else "?"
        return RedirectResponse(f"{app.oauth_url}{joiner}{urlencode(back)}", status_code=302)

    # --- api.mixin.one -------------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        await self._record(request)
        injected = self._take("token")
        if injected is not None:
            return injected
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        try:
            if content_type != "application/json":
                raise ValueError(content_type)
            body = json.loads(await request.body())
        except ValueError:
            return mixin_error(*BAD_DATA)
        if not isinstance(body, dict):
            return mixin_error(*BAD_DATA)
        fields = {k: body.get(k) for k in ("client_id", "code", "client_secret", "code_verifier")}
        if not all(isinstance(v, str) for k, v in fields.items() if k != "code_verifier"):
            return mixin_error(*BAD_DATA)
        grant = self._codes.pop(str(fields["code"]), None)  # single use, whatever follows
        app = self.apps.get(str(fields["client_id"]))
        if (
            app is None
            or not hmac.compare_digest(app.client_secret, str(fields["client_secret"]))
            or grant is None
            or grant.client_id != app.client_id
            or grant.expires_at < time.monotonic()
            or not pkce_holds(grant.challenge, fields["code_verifier"])
        ):
            return mixin_error(*UNAUTHORIZED)
        access_token = secrets.token_urlsafe(32)
        self._tokens[access_token] = grant
        return JSONResponse(
            {"data": {"access_token": access_token, "scope": " ".join(grant.scope)}}
        )

    async def me(self, request: Request) -> Response:
        await self._record(request)
        injected = self._take("me")
        if injected is not None:
            return injected
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        grant = self._tokens.get(token) if scheme == "Bearer" else None
        if grant is None:
            return mixin_error(*UNAUTHORIZED)
        if "PROFILE:READ" not in grant.scope:
            return mixin_error(*FORBIDDEN)
        return JSONResponse({"data": self.users[grant.user_id].profile()})

    # --- plumbing ------------------------------------------------------------------------------

    async def _record(self, request: Request) -> None:
        self.requests.append(
            Recorded(
                host=request.url.hostname or "",
                method=request.method,
                path=request.url.path,
                query=parse_qsl(request.url.query, keep_blank_values=True),
                raw_query=request.url.query,
                headers={k.lower(): v for k, v in request.headers.items()},
                body=await request.body(),
            )
        )

    def _take(self, endpoint: Endpoint) -> Response | None:
        queue = self._injected.get(endpoint)
        if not queue:
            return None
        item = queue.popleft()
        if isinstance(item, BaseException):
            raise item  # reaches the relay's httpx client as that network failure
        return item


def mixin_error(code: int, description: str, *, status: int = 202) -> JSONResponse:
    """Mixin's error answer: HTTP 202 (500 for server errors) and the body that says what."""
    return JSONResponse(
        {"error": {"status": status, "code": code, "description": description}},
        status_code=status,
    )


def pkce_holds(challenge: str | None, verifier: object) -> bool:
    if challenge is None:
        return True  # PKCE is optional at Mixin
    if not isinstance(verifier, str):
        return False
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return hmac.compare_digest(computed, challenge)


def page(message: str, status: int) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><title>Mixin</title><p>{message}</p>", status_code=status)


def _uuid() -> str:
    raw = secrets.token_hex(16)
    return f"{raw[:8]}-{raw[8:12]}-4{raw[13:16]}-a{raw[17:20]}-{raw[20:]}"
