"""A fake OpenID Connect provider, as OpenID Connect Core 1.0 and Discovery 1.0 describe one.

It serves the discovery document, its JWKS (real RSA and P-256 keys made with joserfc), the
authorization endpoint (the user approves or refuses at once), the token endpoint (client
authentication by the methods it advertises, single-use codes bound to client and redirect_uri,
PKCE S256, an id_token it signs) and the userinfo endpoint (Bearer). Tests steer it through
attributes: the next decision and user, the id_token's claims, header, key or algorithm (RS256
or ES256, or the forgeries "none" and "HS256"), fields merged into the token answer, key
rotation, raw entries added to the JWKS, the discovery document, hosts that cannot be reached,
and they read `requests`.

    fake = FakeOIDC()
    fake.register_client("relay-client", "relay-secret", ["http://relay.test/callback/acme"])
    fake.add_user("u-1", name="Ada Lovelace")
    ... fakes={fake.host: fake}
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

PROFILE_CLAIMS = ("name", "picture", "preferred_username")


@functools.cache
def rsa_key(number: int) -> RSAKey:
    """RSA keys are slow to make: a few, shared by the whole test run."""
    key = RSAKey.generate_key(2048, private=True)
    return RSAKey.import_key({**key.as_dict(private=True), "kid": f"fake-key-{number}"})


@functools.cache
def ec_key(number: int) -> ECKey:
    """A P-256 key for ES256 id_tokens."""
    key = ECKey.generate_key("P-256", private=True)
    return ECKey.import_key({**key.as_dict(private=True), "kid": f"fake-ec-key-{number}"})


SigningKey = RSAKey | ECKey


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class Recorded:
    """One request as the provider received it."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    form: list[tuple[str, str]] = field(default_factory=list)

    @property
    def params(self) -> dict[str, str]:
        return dict(self.query or self.form)


@dataclass
class Client:
    client_id: str
    secret: str
    redirect_uris: list[str]


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    user: str
    scope: str
    nonce: str | None
    challenge: str | None
    expires_at: float


class FakeOIDC:
    def __init__(
        self,
        issuer: str = "https://idp.example.com",
        *,
        auth_methods: list[str] | None = None,
        pkce_methods: list[str] | None = None,
    ) -> None:
        self.issuer = issuer
        self.host = httpx.URL(issuer).netloc.decode()
        # Discovery §3: absent means client_secret_basic only.
        self.auth_methods = auth_methods
        self.pkce_methods = pkce_methods  # None: not advertised (and not checked)
        self.clients: dict[str, Client] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.next_user: str | None = None  # default: the first user added
        self.next_decision = "approve"  # or "deny"
        self.requests: list[Recorded] = []
        self.key = rsa_key(0)  # signs the RS256 id_tokens
        self.ec_key = ec_key(0)  # signs the ES256 ones
        self.published: list[SigningKey] = [self.key, self.ec_key]  # what the JWKS serves
        self.extra_jwks: list[Any] = []  # raw entries served after the published keys
        self.discovery: dict[str, Any] = {}  # merged into the discovery document
        self.unreachable: set[str] = set()  # paths whose connection fails
        # The next id_tokens: claims merged in (None removes one), header merged in, the key
        # that signs them, and the algorithm ("none" and "HS256" make forged tokens).
        self.id_token_claims: dict[str, Any] = {}
        self.id_token_header: dict[str, Any] = {}
        self.id_token_key: SigningKey | None = None
        self.id_token_alg = "RS256"  # or "ES256"; "none" and "HS256" make forgeries
        self.userinfo_claims: dict[str, Any] = {}  # merged into userinfo answers
        self.token_answer: dict[str, Any] = {}  # merged into token answers
        self._codes: dict[str, Grant] = {}
        self._tokens: dict[str, str] = {}  # access token -> user
        self.app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.openid_configuration),
                Route("/jwks", self.jwks),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
                Route("/userinfo", self.userinfo, methods=["GET", "POST"]),
            ]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    # --- the tests' handles -----------------------------------------------------------------

    def register_client(self, client_id: str, secret: str, redirect_uris: list[str]) -> None:
        self.clients[client_id] = Client(client_id, secret, redirect_uris)

    def add_user(self, sub: str, **claims: Any) -> None:
        self.users[sub] = {"sub": sub, **claims}

    def rotate_key(self, number: int = 1) -> RSAKey:
        """Sign with a new key from now on; the JWKS publishes it next to the old one."""
        self.key = rsa_key(number)
        self.published = [self.key, *self.published]
        return self.key

    def received(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    # --- endpoints --------------------------------------------------------------------------

    async def record(self, request: Request) -> Recorded:
        form: list[tuple[str, str]] = []
        if request.method == "POST":
            form = parse_qsl((await request.body()).decode(), keep_blank_values=True)
        recorded = Recorded(
            request.method,
            request.url.path,
            parse_qsl(request.url.query, keep_blank_values=True),
            dict(request.headers),
            form,
        )
        self.requests.append(recorded)
        if request.url.path in self.unreachable:
            raise httpx.ConnectError("connection refused")
        return recorded

    async def openid_configuration(self, request: Request) -> Response:
        await self.record(request)
        doc: dict[str, Any] = {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "scopes_supported": ["openid", "profile"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", *PROFILE_CLAIMS],
        }
        if self.auth_methods is not None:
            doc["token_endpoint_auth_methods_supported"] = self.auth_methods
        if self.pkce_methods is not None:
            doc["code_challenge_methods_supported"] = self.pkce_methods
        doc.update(self.discovery)
        return JSONResponse({k: v for k, v in doc.items() if v is not None})

    async def jwks(self, request: Request) -> Response:
        await self.record(request)
        keys = [
            {
                **key.as_dict(private=False),
                "use": "sig",
                "alg": "RS256" if isinstance(key, RSAKey) else "ES256",
            }
            for key in self.published
        ]
        return JSONResponse({"keys": [*keys, *self.extra_jwks]})

    async def authorize(self, request: Request) -> Response:
        """Core §3.1.2: errors about the client or redirect_uri are shown, never redirected."""
        params = dict((await self.record(request)).query)
        client = self.clients.get(params.get("client_id", ""))
        redirect_uri = params.get("redirect_uri", "")
        if client is None or redirect_uri not in client.redirect_uris:
            return HTMLResponse("<h1>Unknown client or redirect_uri</h1>", status_code=400)

        def back(**answer: str) -> Response:
            if "state" in params:
                answer["state"] = params["state"]
            return RedirectResponse(f"{redirect_uri}?{urlencode(answer)}", status_code=302)

        scopes = params.get("scope", "").split()
        if params.get("response_type") != "code":
            return back(error="unsupported_response_type")
        if "openid" not in scopes:
            return back(error="invalid_scope", error_description="openid is required")
        challenge = params.get("code_challenge")
        if challenge is not None and params.get("code_challenge_method") != "S256":
            return back(error="invalid_request", error_description="S256 only")
        if self.next_decision != "approve":
            return back(error="access_denied", error_description="The user said no")
        code = secrets.token_urlsafe(24)
        self._codes[code] = Grant(
            client_id=client.client_id,
            redirect_uri=redirect_uri,
            user=self.next_user or next(iter(self.users)),
            scope=" ".join(scopes),
            nonce=params.get("nonce"),
            challenge=challenge,
            expires_at=time.time() + 600,
        )
        return back(code=code)

    async def token(self, request: Request) -> Response:
        recorded = await self.record(request)
        if not request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            return oauth_error("invalid_request", "the body must be form-encoded")
        form = dict(recorded.form)
        client, problem = self.authenticate(request, form)
        if client is None:
            return oauth_error("invalid_client", problem, status_code=401)
        if form.get("grant_type") != "authorization_code":
            return oauth_error("unsupported_grant_type", "authorization_code only")
        grant = self._codes.pop(form.get("code", ""), None)  # single use, used or not
        if grant is None or grant.expires_at < time.time():
            return oauth_error("invalid_grant", "The code is invalid, expired or used")
        if grant.client_id != client.client_id or grant.redirect_uri != form.get("redirect_uri"):
            return oauth_error("invalid_grant", "The code was issued to another client or URI")
        verifier = form.get("code_verifier")
        if (grant.challenge is None) != (verifier is None) or (
            verifier is not None
            and b64url(hashlib.sha256(verifier.encode()).digest()) != grant.challenge
        ):
            return oauth_error("invalid_grant", "PKCE verification failed")
        access_token = secrets.token_urlsafe(24)
        self._tokens[access_token] = grant.user
        body = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": grant.scope,
            "id_token": self.id_token(grant),
            **self.token_answer,
        }
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    def authenticate(self, request: Request, form: dict[str, str]) -> tuple[Client | None, str]:
        """RFC 6749 §2.3.1, only by the methods the discovery document advertises."""
        methods = self.auth_methods or ["client_secret_basic"]
        header = request.headers.get("authorization", "")
        if header.startswith("Basic ") and "client_secret" in form:
            return None, "two authentication methods"
        if header.startswith("Basic "):
            if "client_secret_basic" not in methods:
                return None, "client_secret_basic is not supported"
            try:
                pair = base64.b64decode(header[6:], validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return None, "malformed Basic header"
            client_id, _, secret = pair.partition(":")
            client_id, secret = unquote_plus(client_id), unquote_plus(secret)
        elif "client_secret" in form:
            if "client_secret_post" not in methods:
                return None, "client_secret_post is not supported"
            client_id, secret = form.get("client_id", ""), form["client_secret"]
        else:
            return None, "no client authentication"
        client = self.clients.get(client_id)
        if client is None or not hmac.compare_digest(client.secret.encode(), secret.encode()):
            return None, "unknown client or wrong secret"
        return client, ""

    def id_token(self, grant: Grant) -> str:
        user = self.users[grant.user]
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": grant.user,
            "aud": grant.client_id,
            "exp": now + 300,
            "iat": now,
            "auth_time": now,
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        if "profile" in grant.scope.split():
            claims.update({k: user[k] for k in PROFILE_CLAIMS if k in user})
        claims.update(self.id_token_claims)
        claims = {k: v for k, v in claims.items() if v is not None}
        key = self.id_token_key or (self.ec_key if self.id_token_alg == "ES256" else self.key)
        header = {"alg": self.id_token_alg, "kid": key.kid, "typ": "JWT", **self.id_token_header}
        header = {k: v for k, v in header.items() if v is not None}
        if self.id_token_alg in ("RS256", "ES256"):
            return jwt.encode(header, claims, key, algorithms=[self.id_token_alg])
        # Forgeries: unsigned, or an HMAC keyed with the public key (algorithm confusion).
        signing_input = (
            f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
        )
        if self.id_token_alg == "none":
            return f"{signing_input}."
        secret = key.as_pem(private=False)  # the RSA key's, unless a test chose another
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64url(mac)}"

    async def userinfo(self, request: Request) -> Response:
        await self.record(request)
        header = request.headers.get("authorization", "")
        user = self._tokens.get(header[7:]) if header.startswith("Bearer ") else None
        if user is None:
            return JSONResponse(
                {"error": "invalid_token"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return JSONResponse({**self.users[user], **self.userinfo_claims})


def oauth_error(error: str, description: str, status_code: int = 400) -> Response:
    """RFC 6749 §5.2."""
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )
