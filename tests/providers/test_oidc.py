"""The OpenID Connect adapter against a fake provider: discovery, the whole login through the
relay, the exact requests, and every way an id_token can fail its checks."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest

from relay.digests import new_verifier
from relay.errors import ConfigError, ProviderError
from relay.providers import Trip, build_provider
from relay.providers.oidc import OIDCProvider
from relay.sessions.model import Identity
from relay.settings import ProviderConfig, parse_settings
from tests.conftest import RelayFactory
from tests.flows import Relay, query_of
from tests.providers.fakes.oidc import FakeOIDC, b64url, ec_key, rsa_key

IDP = "https://idp.example.com"
RELAY = "http://relay.test"
CALLBACK = f"{RELAY}/callback/acme"
USER = "248289761001"


def config(**options: Any) -> ProviderConfig:
    fields = {k: options.pop(k) for k in ("scope", "authorize_url") if k in options}
    return ProviderConfig(
        name="acme",
        kind="oidc",
        display_name="Acme ID",
        client_id="relay-client",
        client_secret="relay-secret",
        options={"issuer": IDP, **options},
        **fields,
    )


@pytest.fixture
def fake() -> FakeOIDC:
    fake = FakeOIDC(IDP, auth_methods=["client_secret_basic", "client_secret_post"])
    fake.pkce_methods = ["S256"]
    fake.register_client("relay-client", "relay-secret", [CALLBACK])
    fake.add_user(
        USER,
        name="Jane Doe",
        picture="https://idp.example.com/jane.png",
        preferred_username="j.doe",
        email="jane@example.com",
    )
    return fake


def new_trip() -> Trip:
    return Trip(
        state=secrets.token_hex(20),
        redirect_uri=CALLBACK,
        code_verifier=new_verifier(),
        nonce=secrets.token_hex(16),
    )


@dataclass
class Rig:
    """The adapter on its own, its HTTP client reaching the fake."""

    fake: FakeOIDC
    http: httpx.AsyncClient

    def provider(self, **options: Any) -> OIDCProvider:
        return OIDCProvider(config(**options), self.http, RELAY)

    async def sign_in(self, provider: OIDCProvider | None = None) -> Identity:
        provider = provider or self.provider()
        trip = new_trip()
        location = (await self.http.get(await provider.authorization_url(trip))).headers["location"]
        grant = await provider.exchange_code(query_of(location)["code"], trip)
        return await provider.fetch_identity(grant, trip)

    async def refused(self, provider: OIDCProvider | None = None) -> ProviderError:
        with pytest.raises(ProviderError) as caught:
            await self.sign_in(provider)
        return caught.value


@pytest.fixture
async def rig(fake: FakeOIDC) -> AsyncIterator[Rig]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake)) as http:
        yield Rig(fake, http)


async def through_relay(
    relay_with: RelayFactory, fake: FakeOIDC, **options: Any
) -> tuple[Relay, str, httpx.Response]:
    relay = await relay_with(providers={"acme": config(**options)}, fakes={fake.host: fake})
    started = await relay.start(provider="acme")
    await relay.scan(started.scan_url)
    done = await relay.through_provider(started.session_id)
    return relay, started.session_id, done


async def failed(
    relay_with: RelayFactory, fake: FakeOIDC, reason: str, status: str = "failed"
) -> httpx.Response:
    relay, session_id, page = await through_relay(relay_with, fake)
    session = await relay.core.sessions.get(session_id)
    assert (session.status, session.reason) == (status, reason)
    assert page.status_code == 200
    return page


# --- the whole loop ---------------------------------------------------------------------------


async def test_oidc_login_loop_through_the_relay(relay_with: RelayFactory, fake: FakeOIDC) -> None:
    relay, session_id, done = await through_relay(relay_with, fake)
    assert "Done. Return to your computer" in done.text
    back = await relay.resume(session_id)
    assert back.status_code == 302, back.text
    tokens = await relay.token(code=query_of(back.headers["location"])["code"])
    assert tokens.status_code == 200, tokens.text
    async with relay.browser() as rp:
        profile = await rp.get(
            "/userinfo", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"}
        )
    assert profile.json() == {
        "sub": f"acme:{USER}",
        "idp": "acme",
        "name": "Jane Doe",
        "picture": "https://idp.example.com/jane.png",
        "preferred_username": "j.doe",
    }


async def test_oidc_sends_exact_requests(relay_with: RelayFactory, fake: FakeOIDC) -> None:
    await through_relay(relay_with, fake)
    assert [r.path for r in fake.requests] == [
        "/.well-known/openid-configuration",
        "/authorize",
        "/token",
        "/jwks",
        "/userinfo",
    ]
    authorize = fake.received("/authorize")[0]
    assert [k for k, _ in authorize.query] == [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
    ]
    query = authorize.params
    assert query["response_type"] == "code" and query["client_id"] == "relay-client"
    assert query["redirect_uri"] == CALLBACK and query["scope"] == "openid profile"
    assert query["code_challenge_method"] == "S256" and len(query["nonce"]) == 32

    token = fake.received("/token")[0]
    assert token.headers["content-type"] == "application/x-www-form-urlencoded"
    assert token.headers["authorization"] == "Basic cmVsYXktY2xpZW50OnJlbGF5LXNlY3JldA=="
    assert [k for k, _ in token.form] == ["grant_type", "code", "redirect_uri", "code_verifier"]
    assert token.params["redirect_uri"] == CALLBACK
    assert fake.received("/userinfo")[0].headers["authorization"].startswith("Bearer ")


async def test_oidc_reads_discovery_and_keys_once(rig: Rig) -> None:
    provider = rig.provider()
    first = await rig.sign_in(provider)
    second = await rig.sign_in(provider)
    assert (
        first
        == second
        == Identity(
            provider="acme",
            subject=USER,
            name="Jane Doe",
            picture="https://idp.example.com/jane.png",
            preferred_username="j.doe",
        )
    )
    assert len(rig.fake.received("/.well-known/openid-configuration")) == 1
    assert len(rig.fake.received("/jwks")) == 1


# --- what discovery decides -------------------------------------------------------------------


async def test_oidc_uses_client_secret_post_when_basic_is_not_listed(rig: Rig) -> None:
    rig.fake.auth_methods = ["client_secret_post", "private_key_jwt"]
    await rig.sign_in()
    token = rig.fake.received("/token")[0]
    assert "authorization" not in token.headers
    assert token.params["client_id"] == "relay-client"
    assert token.params["client_secret"] == "relay-secret"


async def test_oidc_uses_basic_when_no_methods_are_listed(rig: Rig) -> None:
    rig.fake.auth_methods = None
    await rig.sign_in()
    token = rig.fake.received("/token")[0]
    assert token.headers["authorization"].startswith("Basic ")
    assert "client_secret" not in token.params


@pytest.mark.parametrize(("methods", "sent"), [(None, True), (["plain"], False)])
async def test_oidc_pkce_follows_the_advertised_methods(
    rig: Rig, methods: list[str] | None, sent: bool
) -> None:
    rig.fake.pkce_methods = methods
    await rig.sign_in()
    assert ("code_challenge" in rig.fake.received("/authorize")[0].params) is sent
    assert ("code_verifier" in rig.fake.received("/token")[0].params) is sent


async def test_oidc_configured_urls_override_discovery(rig: Rig) -> None:
    provider = rig.provider(authorize_url="https://login.acme.example/oauth/authorize")
    url = await provider.authorization_url(new_trip())
    assert url.startswith("https://login.acme.example/oauth/authorize?response_type=code&")


async def test_oidc_without_userinfo_endpoint_reads_the_id_token_only(rig: Rig) -> None:
    rig.fake.discovery = {"userinfo_endpoint": None}
    identity = await rig.sign_in()
    assert identity.name == "Jane Doe"
    assert rig.fake.received("/userinfo") == []


async def test_oidc_profile_is_completed_from_userinfo(rig: Rig) -> None:
    identity = await rig.sign_in(rig.provider(scope="openid"))  # no profile claims in id_token
    assert rig.fake.received("/authorize")[0].params["scope"] == "openid"
    assert identity.name == "Jane Doe" and identity.preferred_username == "j.doe"


async def test_oidc_scope_always_includes_openid(rig: Rig) -> None:
    await rig.sign_in(rig.provider(scope="profile  email"))
    assert rig.fake.received("/authorize")[0].params["scope"] == "openid profile email"


async def test_oidc_subject_and_claims_options(rig: Rig) -> None:
    rig.fake.id_token_claims = {"oid": "00000000-aaaa"}
    provider = rig.provider(subject="oid", claims={"preferred_username": "email"})
    identity = await rig.sign_in(provider)
    assert identity.subject == "00000000-aaaa"
    assert identity.preferred_username == "jane@example.com"


async def test_oidc_discovery_unreachable_fails_the_session(
    relay_with: RelayFactory, fake: FakeOIDC
) -> None:
    fake.unreachable = {"/.well-known/openid-configuration"}
    relay = await relay_with(providers={"acme": config()}, fakes={fake.host: fake})
    started = await relay.start(provider="acme")
    await relay.scan(started.scan_url)
    page = await relay.phone.post(f"/phone/{started.session_id}/continue")
    assert page.status_code == 200
    assert "The sign-in failed" in page.text and "discovery_failed" in page.text
    session = await relay.core.sessions.get(started.session_id)
    assert (session.status, session.reason) == ("failed", "discovery_failed")

    fake.unreachable.clear()  # a failure is not kept: the next login reads it again
    again = await relay.start(provider="acme")
    await relay.scan(again.scan_url)
    done = await relay.through_provider(again.session_id)
    assert "Return to your computer" in done.text


@pytest.mark.parametrize(
    ("discovery", "words"),
    [
        ({"issuer": "https://evil.example.com"}, "another issuer"),
        ({"issuer": f"{IDP}/"}, "another issuer"),
        ({"jwks_uri": None}, "no valid jwks_uri"),
        ({"token_endpoint": "http://idp.example.com/token"}, "token_endpoint is not https"),
        ({"authorization_endpoint": 42}, "no valid authorization_endpoint"),
    ],
)
async def test_oidc_invalid_discovery_document(
    rig: Rig, discovery: dict[str, Any], words: str
) -> None:
    rig.fake.discovery = discovery
    with pytest.raises(ProviderError) as caught:
        await rig.provider().authorization_url(new_trip())
    assert caught.value.code == "discovery_failed"
    assert words in caught.value.message


async def test_oidc_discovery_not_json() -> None:
    provider = OIDCProvider(
        config(issuer="https://broken.example.com"),
        httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200, text="<"))),
        RELAY,
    )
    with pytest.raises(ProviderError) as caught:
        await provider.authorization_url(new_trip())
    assert caught.value.code == "discovery_failed"


# --- the id_token -----------------------------------------------------------------------------


async def test_oidc_id_token_signed_by_another_key(
    relay_with: RelayFactory, fake: FakeOIDC
) -> None:
    fake.id_token_key = rsa_key(2)
    fake.id_token_header = {"kid": fake.key.kid}  # claims to be the published key
    page = await failed(relay_with, fake, "invalid_id_token")
    assert "The sign-in failed" in page.text


async def test_oidc_id_token_bad_signature_words(rig: Rig) -> None:
    rig.fake.id_token_key = rsa_key(2)
    rig.fake.id_token_header = {"kid": rig.fake.key.kid}
    error = await rig.refused()
    assert (error.code, error.message) == (
        "invalid_id_token",
        "the provider's id_token has a signature that does not verify",
    )


@pytest.mark.parametrize(
    ("alg", "words"),
    [("none", "is not signed (alg none)"), ("HS256", "is signed with HS256, not RS256 or ES256")],
)
async def test_oidc_id_token_forged_algorithms(rig: Rig, alg: str, words: str) -> None:
    rig.fake.id_token_alg = alg
    error = await rig.refused()
    assert error.code == "invalid_id_token"
    assert error.message.endswith(words)


async def test_oidc_id_token_unsigned_fails_the_session(
    relay_with: RelayFactory, fake: FakeOIDC
) -> None:
    fake.id_token_alg = "none"
    await failed(relay_with, fake, "invalid_id_token")


@dataclass(frozen=True)
class Now:
    """A time relative to when the test runs (not to when the module was collected: a long suite
    would otherwise age the claims past the leeway)."""

    offset: int


def resolved(claims: dict[str, Any]) -> dict[str, Any]:
    now = int(time.time())
    return {k: now + v.offset if isinstance(v, Now) else v for k, v in claims.items()}


@pytest.mark.parametrize(
    ("claims", "words"),
    [
        ({"iss": "https://evil.example.com"}, "was issued by someone else (iss)"),
        ({"aud": "another-client"}, "is meant for another client (aud)"),
        ({"aud": ["another-client", "relay-client"]}, "was handed to another client (azp)"),
        ({"azp": "another-client"}, "was handed to another client (azp)"),
        ({"exp": Now(-120)}, "has expired (exp)"),
        ({"exp": None}, "has no expiry (exp)"),
        ({"iat": None}, "has no issue time (iat)"),
        ({"iat": Now(600)}, "was issued in the future (iat)"),
        ({"nonce": None}, "does not carry this sign-in's nonce"),
        ({"nonce": "0123456789abcdef0123456789abcdef"}, "does not carry this sign-in's nonce"),
        ({"sub": None}, "has no subject (sub)"),
        ({"exp": float("inf")}, "has no expiry (exp)"),  # Python's json reads Infinity
        ({"iat": float("nan")}, "has no issue time (iat)"),
    ],
)
async def test_oidc_id_token_claims_are_checked(
    rig: Rig, claims: dict[str, Any], words: str
) -> None:
    rig.fake.id_token_claims = resolved(claims)
    error = await rig.refused()
    assert error.code == "invalid_id_token"
    assert error.message == f"the provider's id_token {words}"


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": Now(-30)},  # within the 60 s leeway
        {"aud": ["relay-client", "api.acme"], "azp": "relay-client"},
    ],
)
async def test_oidc_id_token_accepted_edges(rig: Rig, claims: dict[str, Any]) -> None:
    rig.fake.id_token_claims = resolved(claims)
    assert (await rig.sign_in()).subject == USER


async def test_oidc_id_token_wrong_iss_fails_the_session(
    relay_with: RelayFactory, fake: FakeOIDC
) -> None:
    fake.id_token_claims = {"iss": "https://evil.example.com"}
    await failed(relay_with, fake, "invalid_id_token")


async def test_oidc_key_rotation_refetches_the_jwks_once(rig: Rig) -> None:
    provider = rig.provider()
    await rig.sign_in(provider)
    rig.fake.rotate_key(1)
    assert (await rig.sign_in(provider)).subject == USER
    await rig.sign_in(provider)
    assert len(rig.fake.received("/jwks")) == 2


async def test_oidc_unknown_kid_after_refetch_is_refused(rig: Rig) -> None:
    provider = rig.provider()
    await rig.sign_in(provider)
    rig.fake.id_token_key = rsa_key(3)  # never published
    error = await rig.refused(provider)
    assert error.code == "invalid_id_token"
    assert "names a key (fake-key-3) the provider does not publish" in error.message
    assert len(rig.fake.received("/jwks")) == 2  # one refetch, not more


async def test_oidc_id_token_not_a_jwt(rig: Rig) -> None:
    provider = rig.provider()
    await provider.metadata()
    with pytest.raises(ProviderError) as caught:
        await provider.fetch_identity({"access_token": "a", "id_token": "not.a-jwt"}, new_trip())
    assert caught.value.code == "invalid_id_token"


# --- ES256, a missing kid, and odd headers and keys ------------------------------------------


async def test_oidc_es256_id_token_signs_in_through_the_relay(
    relay_with: RelayFactory, fake: FakeOIDC
) -> None:
    fake.id_token_alg = "ES256"
    relay, session_id, done = await through_relay(relay_with, fake)
    assert "Done. Return to your computer" in done.text
    identity = (await relay.core.sessions.get(session_id)).identity
    assert identity is not None and identity.subject == USER


async def test_oidc_es256_id_token_by_another_key_is_refused(rig: Rig) -> None:
    rig.fake.id_token_alg = "ES256"
    rig.fake.id_token_key = ec_key(1)  # never published
    rig.fake.id_token_header = {"kid": rig.fake.ec_key.kid}  # claims to be the published one
    error = await rig.refused()
    assert (error.code, error.message) == (
        "invalid_id_token",
        "the provider's id_token has a signature that does not verify",
    )


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
async def test_oidc_id_token_without_kid_is_checked_against_every_key_of_its_type(
    rig: Rig, alg: str
) -> None:
    rig.fake.id_token_alg = alg
    rig.fake.id_token_header = {"kid": None}
    rig.fake.rotate_key(1)  # two RSA keys published: the right one is found without a kid
    rig.fake.key = rsa_key(0)
    assert (await rig.sign_in()).subject == USER


async def test_oidc_id_token_without_kid_and_no_key_of_its_type(rig: Rig) -> None:
    rig.fake.id_token_alg = "ES256"
    rig.fake.id_token_header = {"kid": None}
    rig.fake.published = [rig.fake.key]  # RSA only
    error = await rig.refused()
    assert (error.code, error.message) == (
        "invalid_id_token",
        "the provider's id_token names no key (kid), and the provider publishes no ES256 key",
    )


def forged(header: Any, claims: dict[str, Any] | None = None) -> str:
    def part(value: Any) -> str:
        return b64url(json.dumps(value).encode())

    return f"{part(header)}.{part(claims or {'sub': USER})}.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("header", "words"),
    [
        ({"alg": ["RS256"]}, "is signed with ['RS256'], not RS256 or ES256"),
        ({"alg": {"RS256": 1}}, "is signed with {'RS256': 1}, not RS256 or ES256"),
        ({"alg": 256}, "is signed with 256, not RS256 or ES256"),
        ({"alg": "RS256", "kid": ["fake-key-0"]}, "names its key with something other than a"),
        ({"alg": "RS256", "kid": {"x": 1}}, "names its key with something other than a"),
        ([1], "is not a signed JWT"),
        ("RS256", "is not a signed JWT"),
    ],
)
async def test_oidc_odd_id_token_headers_are_invalid_id_token(
    rig: Rig, header: Any, words: str
) -> None:
    provider = rig.provider()
    await provider.metadata()
    with pytest.raises(ProviderError) as caught:
        await provider.fetch_identity({"access_token": "a", "id_token": forged(header)}, new_trip())
    assert caught.value.code == "invalid_id_token"
    assert words in caught.value.message


@pytest.mark.parametrize(
    "header",
    [{"alg": ["RS256"]}, {"alg": "RS256", "kid": ["fake-key-0"]}],
)
async def test_oidc_odd_id_token_header_fails_the_login_not_the_relay(
    relay_with: RelayFactory, fake: FakeOIDC, header: dict[str, Any]
) -> None:
    fake.token_answer = {"id_token": forged(header)}
    page = await failed(relay_with, fake, "invalid_id_token")
    assert "The sign-in failed" in page.text


BROKEN_KEYS: list[Any] = [
    {"kty": "EC", "crv": "P-999", "x": "AAAA", "y": "AAAA", "use": "sig"},  # a KeyError
    {"kty": "EC", "crv": "P-999"},
    {"kty": "RSA", "n": "!!", "e": "AQAB"},
    {"kty": "RSA"},
    {"kty": ["EC"]},
    {"kty": "oct", "k": "c2VjcmV0"},
    "not-an-object",
    None,
]


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
async def test_oidc_broken_jwks_entries_do_not_hide_the_good_keys(
    relay_with: RelayFactory, fake: FakeOIDC, alg: str
) -> None:
    fake.id_token_alg = alg
    fake.extra_jwks = BROKEN_KEYS
    _, _, done = await through_relay(relay_with, fake)
    assert "Done. Return to your computer" in done.text


async def test_oidc_jwks_of_broken_keys_only_fails_the_login_not_the_relay(
    relay_with: RelayFactory, fake: FakeOIDC
) -> None:
    fake.published = []
    fake.extra_jwks = BROKEN_KEYS
    relay, session_id, page = await through_relay(relay_with, fake)
    session = await relay.core.sessions.get(session_id)
    assert (session.status, session.reason) == ("failed", "invalid_id_token")
    assert session.message == (
        "Acme ID could not sign you in (invalid_id_token: the provider's id_token names a key "
        "(fake-key-0) the provider does not publish)."
    )
    assert page.status_code == 200 and "The sign-in failed" in page.text


@pytest.mark.parametrize("token", ["tökén", "two words"])
async def test_oidc_access_token_no_header_can_carry_fails_the_login_not_the_relay(
    relay_with: RelayFactory, fake: FakeOIDC, token: str
) -> None:
    fake.token_answer = {"access_token": token}
    page = await failed(relay_with, fake, "invalid_response")
    assert "The sign-in failed" in page.text
    assert fake.received("/userinfo") == []


# --- the other upstream answers ---------------------------------------------------------------


async def test_oidc_userinfo_about_another_user(relay_with: RelayFactory, fake: FakeOIDC) -> None:
    fake.userinfo_claims = {"sub": "someone-else"}
    await failed(relay_with, fake, "invalid_response")


async def test_oidc_user_refuses(relay_with: RelayFactory, fake: FakeOIDC) -> None:
    fake.next_decision = "deny"
    page = await failed(relay_with, fake, "access_denied", status="denied")
    assert "Sign-in declined" in page.text
    assert fake.received("/token") == []


async def test_oidc_wrong_secret_is_invalid_client(rig: Rig) -> None:
    rig.fake.register_client("relay-client", "another-secret", [CALLBACK])
    error = await rig.refused()
    assert error.code == "invalid_client"


async def test_oidc_code_is_single_use(rig: Rig) -> None:
    provider = rig.provider()
    trip = new_trip()
    location = (await rig.http.get(await provider.authorization_url(trip))).headers["location"]
    code = query_of(location)["code"]
    await provider.exchange_code(code, trip)
    with pytest.raises(ProviderError) as caught:
        await provider.exchange_code(code, trip)
    assert caught.value.code == "invalid_code"


async def test_oidc_token_endpoint_unreachable_is_not_retried(rig: Rig) -> None:
    rig.fake.unreachable = {"/token"}
    error = await rig.refused()
    assert error.code == "provider_unreachable"
    assert len(rig.fake.received("/token")) == 1


async def test_oidc_jwks_unreachable(rig: Rig) -> None:
    rig.fake.unreachable = {"/jwks"}
    error = await rig.refused()
    assert error.code == "provider_unreachable"


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (
            httpx.Response(200, json={"access_token": "a", "token_type": "Bearer"}),
            "invalid_response",
        ),
        (httpx.Response(200, json={"error": "invalid_grant"}), "invalid_code"),
        (httpx.Response(503, text="busy"), "invalid_response"),
        (httpx.Response(500, json={}), "invalid_response"),
    ],
)
async def test_oidc_token_answers(fake: FakeOIDC, answer: httpx.Response, code: str) -> None:
    inner = httpx.ASGITransport(app=fake)

    async def upstream(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            return answer
        return await inner.handle_async_request(request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(upstream)) as http:
        provider = OIDCProvider(config(), http, RELAY)
        await provider.metadata()
        with pytest.raises(ProviderError) as caught:
            await provider.exchange_code("c", new_trip())
    assert caught.value.code == code


# --- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "key", "words"),
    [
        ({"issuer": None}, "providers.acme.issuer", "is required"),
        ({"issuer": "http://idp.example.com"}, "providers.acme.issuer", "https"),
        ({"issuer": "https://idp.example.com?x=1"}, "providers.acme.issuer", "query"),
        ({"issuer": "idp.example.com"}, "providers.acme.issuer", "absolute"),
        ({"subject": ""}, "providers.acme.subject", "dotted path"),
        ({"claims": {"email": "mail"}}, "providers.acme.claims", '"email" is not one of'),
        ({"claims": "name"}, "providers.acme.claims", "table of strings"),
        ({"pkce": "S256"}, "providers.acme.pkce", 'unknown key for kind "oidc"'),
    ],
)
def test_oidc_config_errors(options: dict[str, Any], key: str, words: str) -> None:
    merged = {"issuer": IDP, **options}
    built = replace(config(), options={k: v for k, v in merged.items() if v is not None})
    with pytest.raises(ConfigError) as caught:
        OIDCProvider(built, httpx.AsyncClient(), RELAY)
    assert caught.value.key == key
    assert words in caught.value.problem


@pytest.mark.parametrize("issuer", ["http://localhost:9000", "http://127.0.0.1:8443/realms/x"])
def test_oidc_config_accepts_local_http_issuer(issuer: str) -> None:
    assert OIDCProvider(config(issuer=issuer), httpx.AsyncClient(), RELAY).issuer == issuer


def test_oidc_config_from_settings() -> None:
    settings = parse_settings(
        {
            "issuer": "https://login.example.com",
            "providers": {
                "acme": {
                    "kind": "oidc",
                    "client_id": "relay-client",
                    "client_secret": "relay-secret",
                    "issuer": "https://idp.example.com",
                    "subject": "oid",
                    "claims": {"picture": "avatar"},
                }
            },
        },
        environ={},
    )
    provider = build_provider(settings.providers["acme"], httpx.AsyncClient(), RELAY)
    assert isinstance(provider, OIDCProvider) and provider.display_name == "acme"
