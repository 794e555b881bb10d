"""The OpenID Foundation's basic OP certification plan (oidcc-basic-certification-test-plan) for
the parts that apply to the relay (code flow, static client), plus RFC 9700's PKCE downgrade
defence and RFC 9207's `iss` on every authorization response.

Each test is named after its module in the conformance suite, says in its docstring what that
module checks, and checks the same thing through whole logins (the sandbox provider, driven by
tests/flows.py), reading the endpoints from discovery and validating the id_token as the suite
does: with joserfc, against the keys at the advertised jwks_uri.

Modules of the plan not reproduced: the email, address, phone and all scopes (not in
scopes_supported: the suite skips them), oidcc-idtoken-unsigned (RS256 only), refresh tokens (none
issued), request-object follow-ups (objects are refused), and those whose parameters a QR login
ignores as RFC 6749 §3.1 asks (display, prompt=login, max_age, id_token_hint, login_hint,
ui_locales, claims_locales, acr_values): every login is a fresh one with the user.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from relay.app import create_app
from relay.oidc.keys import SigningKey
from relay.settings import Settings
from relay.store import MemoryStore
from relay.store.sealed import SealedStore
from tests.flows import Internet, Relay, pkce, query_of

RP_REDIRECT = "https://rp.example/callback"
RP_BASIC = httpx.BasicAuth("rp", "rp-secret")
STATE = "rp-state-123"  # the driver's default state and nonce
NONCE = "rp-nonce-456"
LEEWAY = 5  # seconds of clock difference allowed when checking iat and exp


# --- the suite's side: discovery, keys, the authorization response ------------------------------


async def discover(relay: Relay) -> dict[str, Any]:
    """GetDynamicServerConfiguration and CheckServerConfiguration: the metadata the suite reads
    every endpoint from."""
    async with relay.browser() as rp:
        response = await rp.get("/.well-known/openid-configuration")
    assert response.status_code == 200, response.text
    metadata: dict[str, Any] = response.json()
    assert metadata["issuer"] == relay.issuer
    for name in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"):
        assert metadata[name].startswith(relay.issuer + "/"), name
    assert "code" in metadata["response_types_supported"]
    return metadata


async def server_keys(relay: Relay, metadata: dict[str, Any]) -> KeySet:
    """FetchServerKeys, ValidateServerJWKs and CheckForKeyIdInServerJWKs (OIDC Core §10.1)."""
    async with relay.browser() as rp:
        response = await rp.get(metadata["jwks_uri"])
    assert response.status_code == 200, response.text
    published = response.json()
    assert published["keys"], "the JWKS holds no key"
    for key in published["keys"]:
        assert key.get("kid"), "every published key needs a kid"
        assert "d" not in key, "a private key part is published"
    return KeySet.import_key_set(published)


async def sign_in(
    relay: Relay, pairs: list[tuple[str, str]] | None = None, *, method: str = "GET", **params: Any
) -> str:
    """A whole login the way the suite's browser makes it: the authorization request (these
    `pairs` in this order, or the driver's defaults with `params`), the QR scanned, approval at
    the sandbox, back on the desktop. The Location sent to the relying party's redirect_uri."""
    if pairs is None:
        pairs = list(relay.authorize_params(**params).items())
    if method == "POST":
        started = await relay.desktop.post(
            "/authorize",
            content=urlencode(pairs),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    else:
        started = await relay.desktop.get("/authorize", params=pairs)
    assert started.status_code == 303, started.text
    page_path = started.headers["location"]
    assert page_path.startswith("/sessions/")
    session_id = page_path.rsplit("/", 1)[1]
    page = await relay.desktop.get(page_path)
    found = re.search(r'data-scan-url="(http[^"]+/s/[^"]+)"', page.text)
    assert found, "the login page shows no scan URL"
    assert (await relay.scan(found.group(1))).status_code == 303
    await relay.approve(session_id)
    back = await relay.resume(session_id)
    assert back.status_code == 302, back.text
    location: str = back.headers["location"]
    return location


def callback_params(location: str, issuer: str) -> dict[str, str]:
    """The query the redirect_uri receives, each parameter once, iss among them (RFC 9207 §2)."""
    assert location.startswith(RP_REDIRECT + "?"), location
    repeated = parse_qs(urlsplit(location).query)
    assert all(len(values) == 1 for values in repeated.values()), repeated
    answer = query_of(location)
    assert answer["iss"] == issuer  # compared as a string, exactly (RFC 9207 §2.4)
    return answer


def authorization_code(location: str, issuer: str, state: str | None = STATE) -> str:
    """CheckMatchingCallbackParameters, CheckIfAuthorizationEndpointError,
    CheckMatchingStateParameter, ExtractAuthorizationCodeFromAuthorizationResponse and
    EnsureMinimumAuthorizationCodeLength (128 bits, RFC 6749 §10.10)."""
    answer = callback_params(location, issuer)
    assert "error" not in answer, answer
    assert answer.get("state") == state
    code = answer["code"]
    assert len(code) >= 22, "an authorization code needs at least 128 bits"
    return code


def authorization_error(location: str, issuer: str) -> dict[str, str]:
    """An error response at the redirect_uri (RFC 6749 §4.1.2.1): error, a description, iss,
    and never a code."""
    answer = callback_params(location, issuer)
    assert "code" not in answer, answer
    assert answer["error"]
    assert answer["error_description"]
    return answer


# --- the token endpoint and the id_token --------------------------------------------------------


async def token_request(
    relay: Relay,
    metadata: dict[str, Any],
    code: str,
    *,
    auth: str = "client_secret_basic",
    **extra: str,
) -> httpx.Response:
    """CreateTokenEndpointRequestForAuthorizationCodeGrant with the client's authentication."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": RP_REDIRECT, **extra}
    async with relay.browser() as rp:
        if auth == "client_secret_post":
            form.update(client_id="rp", client_secret="rp-secret")
            return await rp.post(metadata["token_endpoint"], data=form)
        return await rp.post(metadata["token_endpoint"], data=form, auth=RP_BASIC)


def token_response(response: httpx.Response) -> dict[str, Any]:
    """CheckIfTokenEndpointResponseError, CheckForAccessTokenValue, ValidateExpiresIn, and OIDC
    Core §3.1.3.3: JSON, Cache-Control no-store, a Bearer token and an id_token."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    assert "error" not in body
    assert body["token_type"].lower() == "bearer"
    assert isinstance(body["access_token"], str) and body["access_token"]
    assert isinstance(body["expires_in"], int) and body["expires_in"] > 0
    assert isinstance(body["id_token"], str)
    return body


def token_error(response: httpx.Response, error: str) -> None:
    """RFC 6749 §5.2: 400, JSON, the error code; no token."""
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"] == error, body
    assert "access_token" not in body and "id_token" not in body


def left_half_hash(value: str) -> str:
    """at_hash for RS256 (OIDC Core §3.1.3.6): the left half of SHA-256, base64url."""
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


async def validated_id_token(
    relay: Relay,
    metadata: dict[str, Any],
    tokens: dict[str, Any],
    *,
    nonce: str | None = NONCE,
) -> dict[str, Any]:
    """ValidateIdToken, ValidateIdTokenNonce, ValidateIdTokenSignature(UsingKid),
    CheckForSubjectInIdToken, ValidateAtHash (OIDC Core §3.1.3.7): the signature by the key
    its kid names, RS256, iss, aud, exp, iat, sub, nonce when one was sent, at_hash."""
    keys = await server_keys(relay, metadata)
    token = jwt.decode(tokens["id_token"], keys, algorithms=["RS256"])
    assert token.header["alg"] == "RS256"
    assert token.header["kid"] in {key.kid for key in keys}
    claims: dict[str, Any] = token.claims
    now = int(time.time())
    jwt.JWTClaimsRegistry(
        now=now,
        leeway=LEEWAY,
        iss={"essential": True, "value": metadata["issuer"]},
        aud={"essential": True, "value": "rp"},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
    ).validate(claims)
    assert claims["iat"] <= now + LEEWAY and claims["exp"] > now
    assert 0 < len(claims["sub"]) <= 255 and claims["sub"].isascii()  # OIDC Core §2
    if nonce is None:
        assert "nonce" not in claims
    else:
        assert claims["nonce"] == nonce
    assert claims["at_hash"] == left_half_hash(tokens["access_token"])
    return claims


async def userinfo(
    relay: Relay, metadata: dict[str, Any], access_token: str, how: str = "get"
) -> httpx.Response:
    """CallUserInfoEndpointWithBearerToken (GET or POST) or ...WithBearerTokenInBody."""
    async with relay.browser() as rp:
        if how == "post-body":
            return await rp.post(metadata["userinfo_endpoint"], data={"access_token": access_token})
        headers = {"Authorization": f"Bearer {access_token}"}
        method = "POST" if how == "post-header" else "GET"
        return await rp.request(method, metadata["userinfo_endpoint"], headers=headers)


def userinfo_claims(response: httpx.Response, id_token_claims: dict[str, Any]) -> dict[str, Any]:
    """EnsureUserInfoContainsSub and VerifyUserInfoAndIdTokenInTokenEndpointSameSub
    (OIDC Core §5.3.2): JSON, and the same sub as the id_token."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    claims: dict[str, Any] = response.json()
    assert claims["sub"] == id_token_claims["sub"]
    return claims


async def happy_flow(
    relay: Relay,
    *,
    auth: str = "client_secret_basic",
    nonce: str | None = NONCE,
    verifier: str | None = None,
    **params: Any,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """AbstractOIDCCServerTest's flow: discovery, login, code, token, id_token validation.
    The metadata, the token response and the id_token's claims."""
    metadata = await discover(relay)
    location = await sign_in(relay, nonce=nonce, **params)
    code = authorization_code(location, metadata["issuer"])
    extra = {"code_verifier": verifier} if verifier else {}
    tokens = token_response(await token_request(relay, metadata, code, auth=auth, **extra))
    claims = await validated_id_token(relay, metadata, tokens, nonce=nonce)
    return metadata, tokens, claims


# --- the basic OP plan ----------------------------------------------------------------------------


async def test_oidcc_server(relay: Relay) -> None:
    """oidcc-server: the happy flow with client_secret_basic and the suite's default scope,
    openid. Discovery and JWKS pass the sanity checks (keys with kids), the authorization
    response carries a code of at least 128 bits and the same state, the token endpoint answers
    a Bearer token with expires_in and an id_token that validates (signature by kid, iss, aud,
    exp, iat, sub, nonce, at_hash) and holds no claim that was not asked for
    (EnsureIdTokenDoesNotContainName, ...NonRequestedClaims), and the access token opens the
    protected resource (the UserInfo endpoint)."""
    metadata, tokens, claims = await happy_flow(relay, scope="openid")
    profile = {"name", "given_name", "family_name", "preferred_username", "picture"}
    assert not profile & set(claims), claims
    userinfo_claims(await userinfo(relay, metadata, tokens["access_token"]), claims)


async def test_oidcc_response_type_missing(relay: Relay) -> None:
    """oidcc-response-type-missing: an authorization request without response_type. The
    server must redirect back with invalid_request or unsupported_response_type, or show an
    error page; the relay redirects (the client and redirect_uri are trusted), with the state
    and iss, and starts no login."""
    metadata = await discover(relay)
    response = await relay.authorize(response_type=None)
    assert response.status_code == 302, response.text
    answer = authorization_error(response.headers["location"], metadata["issuer"])
    assert answer["error"] in ("invalid_request", "unsupported_response_type")
    assert answer["state"] == STATE
    assert relay.stored_keys("session:") == []


async def test_oidcc_idtoken_signature(relay: Relay) -> None:
    """oidcc-idtoken-signature: an id_token requested without naming an algorithm comes signed
    with RS256 (the default, OIDC Core §3.1.3.7) and carries a kid (OIDC Core §10.1,
    EnsureIdTokenContainsKid) naming a key of the JWKS; the signature verifies with that key,
    and a token altered after signing does not. (The suite runs this module with a dynamically
    registered client; for a static one the checks are the same.)"""
    metadata, tokens, _ = await happy_flow(relay)
    assert "RS256" in metadata["id_token_signing_alg_values_supported"]
    keys = await server_keys(relay, metadata)
    header_b64, payload_b64, signature = tokens["id_token"].split(".")
    header = json.loads(base64.urlsafe_b64decode(header_b64 + "=" * (-len(header_b64) % 4)))
    assert header["alg"] == "RS256"
    assert keys.get_by_kid(header["kid"]).key_type == "RSA"

    payload = json.loads(base64.urlsafe_b64decode(payload_b64 + "=" * (-len(payload_b64) % 4)))
    payload["sub"] = "someone-else"
    forged_payload = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    with pytest.raises(BadSignatureError):
        jwt.decode(f"{header_b64}.{forged_payload}.{signature}", keys, algorithms=["RS256"])


async def test_oidcc_userinfo_get(relay: Relay) -> None:
    """oidcc-userinfo-get: an authenticated GET to the UserInfo endpoint, the access token in
    the Authorization header; the answer holds the sub of the id_token (OIDC Core §5.3.1)."""
    metadata, tokens, claims = await happy_flow(relay)
    userinfo_claims(await userinfo(relay, metadata, tokens["access_token"], "get"), claims)


async def test_oidcc_userinfo_post_header(relay: Relay) -> None:
    """oidcc-userinfo-post-header: the same as a POST, the token in the Authorization header."""
    metadata, tokens, claims = await happy_flow(relay)
    userinfo_claims(await userinfo(relay, metadata, tokens["access_token"], "post-header"), claims)


async def test_oidcc_userinfo_post_body(relay: Relay) -> None:
    """oidcc-userinfo-post-body: a POST with the token in the form body (RFC 6750 §2.2). The
    suite only warns when a server refuses this; the relay supports it, so it must work."""
    metadata, tokens, claims = await happy_flow(relay)
    userinfo_claims(await userinfo(relay, metadata, tokens["access_token"], "post-body"), claims)


async def test_oidcc_ensure_request_without_nonce_succeeds_for_code_flow(relay: Relay) -> None:
    """oidcc-ensure-request-without-nonce-succeeds-for-code-flow: nonce is optional in the code
    flow (OIDC Core §3.1.2.1); the login completes and the id_token carries no nonce."""
    metadata, tokens, claims = await happy_flow(relay, nonce=None)
    assert "nonce" not in claims
    userinfo_claims(await userinfo(relay, metadata, tokens["access_token"]), claims)


async def test_oidcc_scope_profile(relay: Relay) -> None:
    """oidcc-scope-profile: scope "openid profile", profile being in scopes_supported. The
    UserInfo answer has the sub of the id_token, its standard claims have their types (OIDC
    Core §5.1), and profile claims come back (VerifyScopesReturnedInUserInfoClaims)."""
    metadata, tokens, claims = await happy_flow(relay, scope="openid profile")
    assert "profile" in metadata["scopes_supported"]
    info = userinfo_claims(await userinfo(relay, metadata, tokens["access_token"]), claims)
    assert info["name"] == "Ada Lovelace"
    assert isinstance(info["preferred_username"], str) and info["preferred_username"]
    profile = {"name", "given_name", "family_name", "nickname", "preferred_username", "picture"}
    assert {k for k in info if k in profile} <= set(metadata["claims_supported"])


async def test_oidcc_alternate_happy_flow(relay: Relay) -> None:
    """oidcc-alternate-happy-flow: a happy flow with the scope values reversed and the query
    parameters in another order; RFC 6749 §3.3: the order of scope values does not matter. (The
    suite builds it on scope email, which the relay does not offer; profile plays its part.)"""
    metadata = await discover(relay)
    params = relay.authorize_params(scope="profile openid")
    pairs = sorted(params.items(), reverse=True)  # BuildPlain...ReorderedParams
    location = await sign_in(relay, pairs)
    code = authorization_code(location, metadata["issuer"])
    tokens = token_response(await token_request(relay, metadata, code))
    assert set(tokens["scope"].split()) == {"openid", "profile"}
    claims = await validated_id_token(relay, metadata, tokens)
    info = userinfo_claims(await userinfo(relay, metadata, tokens["access_token"]), claims)
    assert info["name"] == "Ada Lovelace"


async def test_oidcc_ensure_request_with_unknown_parameter_succeeds(relay: Relay) -> None:
    """oidcc-ensure-request-with-unknown-parameter-succeeds: extra=foobar, defined by no
    specification, is ignored and the login completes (RFC 6749 §3.1)."""
    metadata, tokens, claims = await happy_flow(relay, extra="foobar")
    userinfo_claims(await userinfo(relay, metadata, tokens["access_token"]), claims)


async def test_oidcc_codereuse(relay: Relay) -> None:
    """oidcc-codereuse: the code is redeemed, then sent again at once. The second use must get
    invalid_grant; the access token issued from the first should be revoked (RFC 6749 §4.1.2;
    the suite warns if it still works, the relay revokes it)."""
    metadata = await discover(relay)
    code = authorization_code(await sign_in(relay), metadata["issuer"])
    tokens = token_response(await token_request(relay, metadata, code))
    claims = await validated_id_token(relay, metadata, tokens)
    userinfo_claims(await userinfo(relay, metadata, tokens["access_token"]), claims)

    token_error(await token_request(relay, metadata, code), "invalid_grant")
    revoked = await userinfo(relay, metadata, tokens["access_token"])
    assert revoked.status_code == 401
    assert 'error="invalid_token"' in revoked.headers["www-authenticate"]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def keep_records_on(relay: Relay, clock: Clock) -> None:
    """The relay's records on a memory store that reads `clock` for every TTL (the store's own
    clock injection, relay/store/memory.py), under the same sealing; done before the relay has
    stored anything."""
    sealed = relay.core.store
    assert isinstance(sealed, SealedStore)
    assert isinstance(sealed.inner, MemoryStore) and len(sealed.inner) == 0
    sealed.inner = MemoryStore(clock=clock)


@pytest.mark.parametrize(
    "code_ttl", [pytest.param(60, id="default-code_ttl"), pytest.param(10, id="code_ttl-10")]
)
async def test_oidcc_codereuse_30seconds(
    settings: Settings, app_factory: Callable[[Settings], Starlette], code_ttl: int
) -> None:
    """oidcc-codereuse-30seconds: the code is redeemed, then sent again 30 seconds later. It
    must get invalid_grant, and the access token from the first use should be revoked (RFC 6749
    §4.1.2). The store's clock is moved instead of waiting; with a code_ttl of 10 the code itself
    is long gone by then, and the replay is still known for one and still revokes."""
    settings = replace(settings, code_ttl=code_ttl)
    clock = Clock()
    async with Relay(app_factory(settings), settings) as relay:
        keep_records_on(relay, clock)
        metadata = await discover(relay)
        code = authorization_code(await sign_in(relay), metadata["issuer"])
        unused = authorization_code(await sign_in(relay), metadata["issuer"])
        tokens = token_response(await token_request(relay, metadata, code))
        claims = await validated_id_token(relay, metadata, tokens)
        userinfo_claims(await userinfo(relay, metadata, tokens["access_token"]), claims)

        clock.advance(30)
        token_error(await token_request(relay, metadata, code), "invalid_grant")
        revoked = await userinfo(relay, metadata, tokens["access_token"])
        assert revoked.status_code == 401
        assert 'error="invalid_token"' in revoked.headers["www-authenticate"]

        # The clock did move the store: a code nobody redeemed lived exactly code_ttl.
        late = await token_request(relay, metadata, unused)
        if code_ttl > 30:
            token_response(late)
        else:
            token_error(late, "invalid_grant")
            assert "expired" in late.json()["error_description"]


async def test_oidcc_ensure_registered_redirect_uri(relay: Relay) -> None:
    """oidcc-ensure-registered-redirect-uri: a random redirect_uri that was never registered.
    The server must show an error page saying the redirect URI is invalid, and never redirect
    there (OIDC Core §3.1.2.1, RFC 9700 §4.1)."""
    bad = f"https://{secrets.token_hex(4)}.rp.example/callback"
    response = await relay.authorize(redirect_uri=bad)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert "redirect_uri is not registered" in response.text
    assert f'href="{bad}' not in response.text
    assert relay.stored_keys("session:") == []


async def test_oidcc_ensure_post_request_succeeds(relay: Relay) -> None:
    """oidcc-ensure-post-request-succeeds: the authorization request is sent as a POST form
    (OIDC Core §3.1.2.1: GET and POST must both be supported); the login completes and the
    redirect_uri is called."""
    metadata = await discover(relay)
    location = await sign_in(relay, method="POST")
    code = authorization_code(location, metadata["issuer"])
    tokens = token_response(await token_request(relay, metadata, code))
    await validated_id_token(relay, metadata, tokens)


async def test_oidcc_server_client_secret_post(relay: Relay) -> None:
    """oidcc-server-client-secret-post (OIDCCServerTestClientSecretPost): oidcc-server with the
    client authenticating by client_id and client_secret in the token request's body."""
    metadata, tokens, claims = await happy_flow(relay, auth="client_secret_post")
    assert "client_secret_post" in metadata["token_endpoint_auth_methods_supported"]
    userinfo_claims(await userinfo(relay, metadata, tokens["access_token"]), claims)


async def test_oidcc_ensure_request_with_valid_pkce_succeeds(relay: Relay) -> None:
    """oidcc-ensure-request-with-valid-pkce-succeeds: an authorization request with an S256
    code_challenge and the token request with its code_verifier (RFC 7636 §4.5) must succeed."""
    verifier, challenge = pkce()
    metadata, tokens, claims = await happy_flow(
        relay, verifier=verifier, code_challenge=challenge, code_challenge_method="S256"
    )
    assert "S256" in metadata["code_challenge_methods_supported"]
    userinfo_claims(await userinfo(relay, metadata, tokens["access_token"]), claims)


async def test_oidcc_prompt_none_not_logged_in(relay: Relay) -> None:
    """oidcc-prompt-none-not-logged-in: prompt=none without a session to reuse; the server
    redirects back with an error that asks for a user interface (OIDC Core §3.1.2.6; here
    login_required: a QR login always needs the user). A 128-character state comes back
    unchanged."""
    metadata = await discover(relay)
    state = secrets.token_urlsafe(96)
    assert len(state) == 128
    response = await relay.authorize(prompt="none", state=state)
    assert response.status_code == 302, response.text
    answer = authorization_error(response.headers["location"], metadata["issuer"])
    assert answer["error"] == "login_required"
    assert answer["state"] == state
    assert relay.stored_keys("session:") == []


def unsigned_request_object(relay: Relay) -> str:
    """ConvertAuthorizationEndpointRequestToRequestObject and
    SerializeRequestObjectWithNullAlgorithm: the request as an unsigned JWT (alg none)."""

    def part(value: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    claims = {"iss": "rp", "aud": relay.issuer, **relay.authorize_params()}
    return f"{part({'alg': 'none'})}.{part(claims)}."


def outer_params(relay: Relay, *, duplicates: bool) -> list[tuple[str, str]]:
    """What the suite leaves outside the request object: response_type, client_id, scope and
    redirect_uri (OIDC Core §6.1, RFC 6749 §3.1.2.3); state and nonce travel inside only. Without
    duplicates (JAR, RFC 9101 §5), only client_id."""
    params = relay.authorize_params()
    names = (
        ("response_type", "client_id", "scope", "redirect_uri") if duplicates else ("client_id",)
    )
    return [(name, params[name]) for name in names]


class RequestObjectHost:
    """The relying party's web server holding the request object at its request_uri."""

    def __init__(self, request_object: str) -> None:
        self.request_object = request_object
        self.fetched = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.fetched += 1
        response = Response(self.request_object, media_type="application/oauth-authz-req+jwt")
        await response(scope, receive, send)


@pytest.mark.parametrize("duplicates", [True, False], ids=["with-duplicates", "jar-style"])
async def test_oidcc_request_uri_unsigned_supported_correctly_or_rejected_as_unsupported(
    settings: Settings, signing_key: SigningKey, duplicates: bool
) -> None:
    """oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported: the request
    passed by reference, a request_uri pointing at an unsigned JWT. The server must complete
    the login from it or answer request_uri_not_supported (OIDC Core §6.2). The relay refuses
    it, as its discovery says (request_uri_parameter_supported false), with iss and without
    the state it never read; and it never fetches the URI (no request forgery through it).
    (The suite runs it with a registered client; "jar-style" also leaves response_type, scope
    and redirect_uri inside the object, as RFC 9101 §5 allows.)"""
    internet = Internet()
    app = create_app(settings, keys=signing_key, http_transport=internet)
    internet.route(settings.issuer, app)
    async with Relay(app, settings, transport=internet) as relay:
        host = RequestObjectHost(unsigned_request_object(relay))
        internet.route("rp.example", host)
        metadata = await discover(relay)
        assert metadata["request_uri_parameter_supported"] is False

        request_uri = "https://rp.example/requests/" + secrets.token_urlsafe(8)
        pairs = [*outer_params(relay, duplicates=duplicates), ("request_uri", request_uri)]
        response = await relay.desktop.get("/authorize", params=sorted(pairs))
        assert response.status_code == 302, response.text
        answer = authorization_error(response.headers["location"], metadata["issuer"])
        assert answer["error"] == "request_uri_not_supported"
        assert "state" not in answer
        assert host.fetched == 0
        assert relay.stored_keys("session:") == []


@pytest.mark.parametrize("duplicates", [True, False], ids=["with-duplicates", "jar-style"])
async def test_oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported(
    relay: Relay, duplicates: bool
) -> None:
    """oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported: the
    request passed by value as an unsigned request object. The server must process it or
    answer request_not_supported (OIDC Core §3.1.2.6); ignoring it is not allowed. The relay
    refuses it, as its discovery says (request_parameter_supported false), and starts nothing."""
    metadata = await discover(relay)
    assert metadata["request_parameter_supported"] is False
    pairs = [
        *outer_params(relay, duplicates=duplicates),
        ("request", unsigned_request_object(relay)),
    ]
    response = await relay.desktop.get("/authorize", params=sorted(pairs))
    assert response.status_code == 302, response.text
    answer = authorization_error(response.headers["location"], metadata["issuer"])
    assert answer["error"] == "request_not_supported"
    assert "state" not in answer
    assert relay.stored_keys("session:") == []


# --- RFC 9700: PKCE downgrade -------------------------------------------------------------------


async def test_rfc9700_pkce_downgrade_verifier_for_a_code_without_challenge_is_refused(
    relay: Relay,
) -> None:
    """RFC 9700 §4.8.2 (and §2.1.1): an attacker who strips code_challenge from the request
    must not get the code redeemed with a code_verifier: a verifier sent for a code issued
    without a challenge is refused, no token issued, and the code is spent."""
    metadata = await discover(relay)
    code = authorization_code(await sign_in(relay), metadata["issuer"])
    verifier, _ = pkce()
    token_error(await token_request(relay, metadata, code, code_verifier=verifier), "invalid_grant")
    token_error(await token_request(relay, metadata, code), "invalid_grant")
    assert relay.stored_keys("token:") == []


async def test_rfc9700_pkce_code_with_challenge_needs_its_verifier(relay: Relay) -> None:
    """RFC 7636 §4.6, RFC 9700 §2.1.1: a code issued with a code_challenge is redeemed only
    with the matching code_verifier; without one, or with another, nothing is issued."""
    metadata = await discover(relay)
    verifier, challenge = pkce()
    for attempt in ({}, {"code_verifier": pkce()[0]}):
        location = await sign_in(relay, code_challenge=challenge, code_challenge_method="S256")
        code = authorization_code(location, metadata["issuer"])
        token_error(await token_request(relay, metadata, code, **attempt), "invalid_grant")
    assert relay.stored_keys("token:") == []
    location = await sign_in(relay, code_challenge=challenge, code_challenge_method="S256")
    code = authorization_code(location, metadata["issuer"])
    token_response(await token_request(relay, metadata, code, code_verifier=verifier))


async def test_rfc9700_pkce_plain_method_is_refused_at_authorize(relay: Relay) -> None:
    """RFC 9700 §2.1.1: S256 only. A plain challenge (or one without a method, which means
    plain, RFC 7636 §4.3) is refused before any login starts."""
    metadata = await discover(relay)
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    _, challenge = pkce()
    for method in ("plain", None):
        response = await relay.authorize(code_challenge=challenge, code_challenge_method=method)
        answer = authorization_error(response.headers["location"], metadata["issuer"])
        assert answer["error"] == "invalid_request"
    assert relay.stored_keys("session:") == []


# --- RFC 9207: iss on every authorization response ----------------------------------------------


AUTHORIZE_ERRORS = [
    pytest.param([("response_type", None)], "invalid_request", id="response_type-missing"),
    pytest.param([("response_type", "token")], "unsupported_response_type", id="implicit"),
    pytest.param([("prompt", "none")], "login_required", id="prompt-none"),
    pytest.param([("request", "e30.e30.")], "request_not_supported", id="request"),
    pytest.param(
        [("request_uri", "https://rp.example/r")], "request_uri_not_supported", id="request_uri"
    ),
    pytest.param([("code_challenge_method", "plain")], "invalid_request", id="pkce-plain"),
    pytest.param([("provider", "nowhere")], "invalid_request", id="unknown-provider"),
    pytest.param([("scope", "openid"), ("scope", "profile")], "invalid_request", id="repeated"),
    pytest.param([("state", "a"), ("state", "b")], "invalid_request", id="repeated-state"),
]


def request_pairs(relay: Relay, changes: list[tuple[str, str | None]]) -> list[tuple[str, str]]:
    """The driver's default request with `changes`: a name given once replaces (None removes),
    a name given twice is sent twice."""
    changed = {name for name, _ in changes}
    pairs = [(k, v) for k, v in relay.authorize_params().items() if k not in changed]
    return pairs + [(name, value) for name, value in changes if value is not None]


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize(("changes", "error"), AUTHORIZE_ERRORS)
async def test_rfc9207_iss_on_every_authorize_error(
    relay: Relay, method: str, changes: list[tuple[str, str | None]], error: str
) -> None:
    """RFC 9207 §2: every authorization response carries iss, error responses included, so a
    client talking to several servers can tell which one answered (mix-up, RFC 9700 §4.4)."""
    metadata = await discover(relay)
    pairs = request_pairs(relay, changes)
    if method == "POST":
        response = await relay.desktop.post(
            "/authorize",
            content=urlencode(pairs),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    else:
        response = await relay.desktop.get("/authorize", params=pairs)
    assert response.status_code == (303 if method == "POST" else 302), response.text
    answer = authorization_error(response.headers["location"], metadata["issuer"])
    assert answer["error"] == error
    assert relay.stored_keys("session:") == []


async def test_rfc9207_iss_on_the_code(relay: Relay) -> None:
    """RFC 9207 §2: the successful response (from the login page's resume) carries iss."""
    metadata = await discover(relay)
    authorization_code(await sign_in(relay), metadata["issuer"])


async def test_rfc9207_iss_when_declined_on_the_phone(relay: Relay) -> None:
    """The phone's "This wasn't me": the desktop's resume answers access_denied, with iss."""
    metadata = await discover(relay)
    started = await relay.start()
    await relay.scan(started.scan_url)
    await relay.phone.post(f"/phone/{started.session_id}/decline")
    back = await relay.resume(started.session_id)
    answer = authorization_error(back.headers["location"], metadata["issuer"])
    assert answer["error"] == "access_denied"
    assert answer["state"] == STATE


async def test_rfc9207_iss_when_the_provider_fails(
    settings: Settings, app_factory: Callable[[Settings], Starlette]
) -> None:
    """A provider that cannot be reached fails the login; resume answers with iss."""
    broken = replace(settings.providers["sandbox"], token_url="http://127.0.0.1:9/token")
    settings = replace(settings, providers={**settings.providers, "sandbox": broken})
    async with Relay(app_factory(settings), settings) as relay:
        metadata = await discover(relay)
        started = await relay.start()
        await relay.scan(started.scan_url)
        back_from_sandbox = await relay.at_sandbox(started.session_id)
        await relay.phone.get(back_from_sandbox.headers["location"])
        back = await relay.resume(started.session_id)
        answer = authorization_error(back.headers["location"], metadata["issuer"])
        assert answer["error"] == "access_denied"
        assert answer["state"] == STATE


async def test_rfc9207_iss_when_cancelled_on_the_desktop(relay: Relay) -> None:
    """Cancel on the login page (a POST, so a 303): access_denied with iss."""
    metadata = await discover(relay)
    started = await relay.start()
    cancelled = await relay.desktop.post(f"/sessions/{started.session_id}/cancel")
    assert cancelled.status_code == 303
    answer = authorization_error(cancelled.headers["location"], metadata["issuer"])
    assert answer["error"] == "access_denied"
    assert answer["state"] == STATE


async def test_rfc9207_iss_when_the_login_expired(
    settings: Settings, app_factory: Callable[[Settings], Starlette]
) -> None:
    """A login left past session_ttl: resume gives up with access_denied, with iss."""
    settings = replace(settings, session_ttl=1)
    async with Relay(app_factory(settings), settings) as relay:
        metadata = await discover(relay)
        started = await relay.start()
        await asyncio.sleep(1.1)
        back = await relay.resume(started.session_id)
        answer = authorization_error(back.headers["location"], metadata["issuer"])
        assert answer["error"] == "access_denied"
        assert answer["state"] == STATE
