"""The generic OAuth 2.0 adapter: each dialect is configuration only, tested against a fake
provider that speaks it (RFC 6749, TikTok-like, GitHub-like, Mixin-like), plus every error
shape, the exact requests, network failures and configuration errors."""

from __future__ import annotations

import base64
import logging
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
from relay.providers.oauth2 import OAuth2Provider
from relay.sessions.model import Identity
from relay.settings import ProviderConfig, parse_settings
from tests.conftest import RelayFactory
from tests.flows import Relay, query_of
from tests.providers.fakes.oauth2 import (
    GITHUB,
    PUBLIC,
    STANDARD,
    TIKTOK,
    WRAPPED,
    Dialect,
    FakeOAuth2,
)
from tests.providers.fakes.raw import RawProvider

RELAY = "http://relay.test"
CALLBACK = f"{RELAY}/callback/forge"


def config(dialect: Dialect = STANDARD, **options: Any) -> ProviderConfig:
    fields = {
        k: options.pop(k)
        for k in ("scope", "client_secret", "authorize_url", "token_url", "userinfo_url", "timeout")
        if k in options
    }
    return ProviderConfig(
        name="forge",
        kind="oauth2",
        display_name="Forge",
        client_id="relay-app",
        client_secret=fields.pop("client_secret", "relay-app-secret"),
        authorize_url=fields.pop("authorize_url", dialect.authorize_url),
        token_url=fields.pop("token_url", dialect.token_url),
        userinfo_url=fields.pop("userinfo_url", dialect.userinfo_url),
        options=options,
        **fields,
    )


# Each dialect written as configuration, the way docs/providers/oauth2.md shows it.
TIKTOK_OPTIONS: dict[str, Any] = {
    "scope": "user.info.basic",
    "userinfo_url": f"{TIKTOK.userinfo_url}?fields=open_id,union_id,avatar_url,display_name",
    "param_names": {"client_id": "client_key"},
    "pkce": "none",
    "userinfo_path": "data.user",
    "subject": "open_id",
    "claims": {"name": "display_name", "picture": "avatar_url"},
}
GITHUB_OPTIONS: dict[str, Any] = {
    "scope": "read:user",
    "pkce": "none",
    "subject": "id",
    "claims": {"preferred_username": "login", "picture": "avatar_url"},
}
WRAPPED_OPTIONS: dict[str, Any] = {
    "scope": "PROFILE:READ",
    "token_format": "json",
    "token_path": "data",
    "userinfo_path": "data",
    "subject": "user_id",
    "claims": {"name": "full_name", "picture": "avatar_url"},
}


def fake_for(dialect: Dialect = STANDARD) -> FakeOAuth2:
    fake = FakeOAuth2(dialect, redirect_uris=[CALLBACK])
    if dialect.style == "tiktok":
        fake.add_user("open-id-1", union_id="union-1", display_name="Tik User", avatar_url="a.png")
    elif dialect.style == "github":
        fake.add_user(583231, login="octocat", name="The Octocat", avatar_url="o.png")
    elif dialect.style == "wrapped":
        fake.add_user("7a5c-uuid", identity_number="7000", full_name="Wallet User")
    else:
        fake.add_user("u-1", name="Ada Lovelace", preferred_username="ada", picture="ada.png")
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

    fake: FakeOAuth2
    http: httpx.AsyncClient

    def provider(self, **options: Any) -> OAuth2Provider:
        return OAuth2Provider(config(self.fake.dialect, **options), self.http, RELAY)

    async def sign_in(self, provider: OAuth2Provider | None = None) -> Identity:
        provider = provider or self.provider()
        trip = new_trip()
        location = (await self.http.get(await provider.authorization_url(trip))).headers["location"]
        grant = await provider.exchange_code(query_of(location)["code"], trip)
        return await provider.fetch_identity(grant, trip)

    async def refused(self, provider: OAuth2Provider | None = None) -> ProviderError:
        with pytest.raises(ProviderError) as caught:
            await self.sign_in(provider)
        return caught.value


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    fake = fake_for()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake)) as http:
        yield Rig(fake, http)


def rig_for(dialect: Dialect) -> Rig:
    fake = fake_for(dialect)
    return Rig(fake, httpx.AsyncClient(transport=httpx.ASGITransport(app=fake)))


async def through_relay(
    relay_with: RelayFactory, fake: FakeOAuth2, **options: Any
) -> tuple[Relay, str, httpx.Response]:
    relay = await relay_with(
        providers={"forge": config(fake.dialect, **options)},
        fakes={host: fake for host in fake.hosts},
    )
    started = await relay.start(provider="forge")
    await relay.scan(started.scan_url)
    done = await relay.through_provider(started.session_id)
    return relay, started.session_id, done


async def failed(
    relay_with: RelayFactory, fake: FakeOAuth2, reason: str, status: str = "failed"
) -> httpx.Response:
    relay, session_id, page = await through_relay(relay_with, fake)
    session = await relay.core.sessions.get(session_id)
    assert (session.status, session.reason) == (status, reason)
    assert page.status_code == 200
    return page


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


# --- the whole loop ---------------------------------------------------------------------------


async def test_oauth2_login_loop_through_the_relay(relay_with: RelayFactory) -> None:
    relay, session_id, done = await through_relay(relay_with, fake_for())
    assert "Done. Return to your computer" in done.text
    back = await relay.resume(session_id)
    tokens = await relay.token(code=query_of(back.headers["location"])["code"])
    assert tokens.status_code == 200, tokens.text
    async with relay.browser() as rp:
        profile = await rp.get(
            "/userinfo", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"}
        )
    assert profile.json() == {
        "sub": "forge:u-1",
        "idp": "forge",
        "name": "Ada Lovelace",
        "picture": "ada.png",
        "preferred_username": "ada",
    }


async def test_oauth2_sends_exact_standard_requests(relay_with: RelayFactory) -> None:
    fake = fake_for()
    await through_relay(relay_with, fake)
    authorize = fake.received("authorize")[0]
    assert [k for k, _ in authorize.query] == [
        "response_type",
        "client_id",
        "redirect_uri",
        "state",
        "code_challenge",
        "code_challenge_method",
    ]  # no scope configured: none sent
    assert dict(authorize.query)["redirect_uri"] == CALLBACK
    token = fake.received("token")[0]
    assert token.headers["content-type"] == "application/x-www-form-urlencoded"
    assert token.headers["accept"] == "application/json"
    assert "authorization" not in token.headers
    assert [k for k, _ in token.form] == [
        "grant_type",
        "code",
        "redirect_uri",
        "client_id",
        "client_secret",
        "code_verifier",
    ]
    form = dict(token.form)
    assert (
        form["grant_type"] == "authorization_code" and form["client_secret"] == "relay-app-secret"
    )
    userinfo = fake.received("userinfo")[0]
    assert userinfo.method == "GET" and userinfo.headers["authorization"].startswith("Bearer ")


async def test_oauth2_scope_and_fixed_authorize_params(rig: Rig) -> None:
    provider = rig.provider(
        scope="read:user   user:email",
        authorize_url=f"{STANDARD.authorize_url}?tenant=main",
        authorize_params={"prompt": "consent", "access_type": "offline"},
    )
    url = httpx.URL(await provider.authorization_url(new_trip()))
    assert list(url.params.keys()) == [
        "tenant",
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
        "prompt",
        "access_type",
    ]
    assert url.params["scope"] == "read:user user:email"


async def test_oauth2_client_secret_basic_is_form_urlencoded_first(rig: Rig) -> None:
    """RFC 6749 §2.3.1: a secret with reserved characters is encoded before Base64."""
    rig.fake.client_secret = "s3cr:t+/=é"
    provider = rig.provider(token_auth="client_secret_basic", client_secret="s3cr:t+/=é")
    assert (await rig.sign_in(provider)).subject == "u-1"
    token = rig.fake.received("token")[0]
    assert token.headers["authorization"] == basic("relay-app", "s3cr%3At%2B%2F%3D%C3%A9")
    assert [k for k, _ in token.form] == ["grant_type", "code", "redirect_uri", "code_verifier"]


async def test_oauth2_public_client_sends_no_secret() -> None:
    rig = rig_for(PUBLIC)
    provider = rig.provider(token_auth="none", client_secret="")
    assert (await rig.sign_in(provider)).subject == "u-1"
    form = dict(rig.fake.received("token")[0].form)
    assert form["client_id"] == "relay-app" and "client_secret" not in form
    assert "code_verifier" in form


async def test_oauth2_tiktok_dialect_by_configuration(relay_with: RelayFactory) -> None:
    fake = fake_for(TIKTOK)
    relay, session_id, done = await through_relay(relay_with, fake, **TIKTOK_OPTIONS)
    assert "Return to your computer" in done.text
    identity = (await relay.core.sessions.get(session_id)).identity
    assert identity == Identity(
        provider="forge", subject="open-id-1", name="Tik User", picture="a.png"
    )
    authorize = fake.received("authorize")[0]
    assert [k for k, _ in authorize.query] == [
        "response_type",
        "client_key",
        "redirect_uri",
        "scope",
        "state",
    ]
    assert dict(authorize.query)["scope"] == "user.info.basic"
    form = dict(fake.received("token")[0].form)
    assert sorted(form) == ["client_key", "client_secret", "code", "grant_type", "redirect_uri"]
    assert dict(fake.received("userinfo")[0].query) == {
        "fields": "open_id,union_id,avatar_url,display_name"
    }


async def test_oauth2_tiktok_dialect_error_with_http_200(relay_with: RelayFactory) -> None:
    fake = fake_for(TIKTOK)
    fake.client_secret = "rotated"
    relay, session_id, page = await through_relay(relay_with, fake, **TIKTOK_OPTIONS)
    session = await relay.core.sessions.get(session_id)
    assert (session.status, session.reason) == ("failed", "invalid_client")
    assert "The sign-in failed" in page.text


async def test_oauth2_tiktok_dialect_userinfo_error_object() -> None:
    rig = rig_for(TIKTOK)
    rig.fake.inject(
        "userinfo",
        body={
            "data": {},
            "error": {"code": "scope_not_authorized", "message": "no", "log_id": "1"},
        },
    )
    error = await rig.refused(rig.provider(**TIKTOK_OPTIONS))
    assert error.code == "scope_not_authorized"


async def test_oauth2_identity_from_the_token_response() -> None:
    rig = rig_for(TIKTOK)
    options = {**TIKTOK_OPTIONS, "userinfo_url": None}
    del options["userinfo_path"]
    identity = await rig.sign_in(rig.provider(**options))
    assert identity.subject == "open-id-1" and identity.name is None
    assert rig.fake.received("userinfo") == []


async def test_oauth2_github_dialect_numeric_id(relay_with: RelayFactory) -> None:
    fake = fake_for(GITHUB)
    relay, session_id, _ = await through_relay(relay_with, fake, **GITHUB_OPTIONS)
    identity = (await relay.core.sessions.get(session_id)).identity
    assert identity == Identity(
        provider="forge",
        subject="583231",
        name="The Octocat",
        picture="o.png",
        preferred_username="octocat",
    )
    assert fake.received("token")[0].headers["accept"] == "application/json"


async def test_oauth2_github_dialect_bad_code_with_http_200_is_invalid_code() -> None:
    rig = rig_for(GITHUB)
    provider = rig.provider(**GITHUB_OPTIONS)
    with pytest.raises(ProviderError) as caught:
        await provider.exchange_code("forged", new_trip())
    assert caught.value.code == "invalid_code"
    assert caught.value.message == (
        "the provider's token response: The code is invalid, expired or used."
    )


async def test_oauth2_wrapped_json_dialect() -> None:
    rig = rig_for(WRAPPED)
    identity = await rig.sign_in(rig.provider(**WRAPPED_OPTIONS))
    assert (identity.subject, identity.name) == ("7a5c-uuid", "Wallet User")
    token = rig.fake.received("token")[0]
    assert token.headers["content-type"] == "application/json"
    assert sorted(token.json) == [
        "client_id",
        "client_secret",
        "code",
        "code_verifier",
        "grant_type",
        "redirect_uri",
    ]


async def test_oauth2_wrapped_dialect_error_object_with_http_202() -> None:
    rig = rig_for(WRAPPED)
    rig.fake.client_secret = "rotated"
    error = await rig.refused(rig.provider(**WRAPPED_OPTIONS))
    assert error.code == "error_401"
    assert "(code 401)" in error.message


async def test_oauth2_form_body_refused_by_a_json_provider() -> None:
    rig = rig_for(WRAPPED)
    options = {k: v for k, v in WRAPPED_OPTIONS.items() if k != "token_format"}
    error = await rig.refused(rig.provider(**options))
    assert error.code == "error_400"


# --- failures through the relay ---------------------------------------------------------------


async def test_oauth2_user_refuses(relay_with: RelayFactory) -> None:
    fake = fake_for()
    fake.next_decision = "deny"
    page = await failed(relay_with, fake, "access_denied", status="denied")
    assert "Sign-in declined" in page.text
    assert fake.received("token") == []


async def test_oauth2_refused_code_fails_the_session(relay_with: RelayFactory) -> None:
    fake = fake_for()
    fake.inject("token", 400, {"error": "invalid_grant", "error_description": "used"})
    page = await failed(relay_with, fake, "invalid_code")
    assert "The sign-in failed" in page.text and "invalid_code" in page.text


async def test_oauth2_timeout_fails_the_session(relay_with: RelayFactory) -> None:
    fake = fake_for()
    fake.inject("token", error=httpx.ReadTimeout("slow"))
    await failed(relay_with, fake, "provider_timeout")


async def test_oauth2_missing_subject_fails_the_session(relay_with: RelayFactory) -> None:
    fake = fake_for()
    fake.inject("userinfo", body={"name": "Nobody"})
    await failed(relay_with, fake, "invalid_response")


async def screens_and_logs(relay: Relay, session_id: str, caplog: pytest.LogCaptureFixture) -> str:
    """Everything people and operators get to read about a login: the message kept on the
    session (both screens show it), the desktop's page, the relying party's redirect, and every
    log record."""
    session = await relay.core.sessions.get(session_id)
    desktop = await relay.desktop.get(f"/sessions/{session_id}")
    to_rp = await relay.resume(session_id)
    return "\n".join([str(session.message), desktop.text, to_rp.headers["location"], caplog.text])


async def test_oauth2_description_quoting_the_secret_reaches_no_screen_and_no_log(
    relay_with: RelayFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake = fake_for()
    fake.inject(
        "token",
        400,
        {
            "error": "invalid_grant",
            "error_description": "code refused for client_id=relay-app "
            "client_secret=relay-app-secret",
        },
    )
    relay, session_id, page = await through_relay(relay_with, fake)
    session = await relay.core.sessions.get(session_id)
    assert (session.status, session.reason) == ("failed", "invalid_code")
    assert session.message == (
        "Forge could not sign you in (invalid_code: the provider's token response: code refused "
        "for client_id=relay-app client_secret=[redacted])."
    )
    seen = page.text + await screens_and_logs(relay, session_id, caplog)
    assert "relay-app-secret" not in seen


async def test_oauth2_callback_cuts_out_tokens_the_adapter_did_not_know_of(
    relay_with: RelayFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """The userinfo step knows the access token only; the refresh token the provider quotes
    back is cut out by the callback's shared step, which knows the whole grant."""
    caplog.set_level(logging.DEBUG)
    refresh = "rt-" + secrets.token_hex(16)
    fake = fake_for()
    fake.inject(
        "token", 200, {"access_token": "at-" + secrets.token_hex(16), "refresh_token": refresh}
    )
    fake.inject(
        "userinfo", 401, {"error": "invalid_token", "error_description": f"{refresh} revoked"}
    )
    relay, session_id, page = await through_relay(relay_with, fake)
    session = await relay.core.sessions.get(session_id)
    assert (session.reason, session.message) == (
        "invalid_token",
        "Forge could not sign you in (invalid_token: the provider's userinfo: [redacted] revoked).",
    )
    assert refresh not in page.text + await screens_and_logs(relay, session_id, caplog)


async def test_oauth2_whole_token_request_is_bounded_by_timeout(relay_with: RelayFactory) -> None:
    """`timeout` is for the whole request: a token endpoint dripping one byte every 0.3 s
    (each read well within any read timeout) fails the login after `timeout` seconds."""
    fake = fake_for()
    async with RawProvider("drip", body=b'{"access_token": "' + b"a" * 40 + b'"}') as slow:
        started = time.monotonic()
        relay, session_id, page = await through_relay(
            relay_with, fake, token_url=slow.url("/token"), timeout=1.0
        )
        elapsed = time.monotonic() - started
    session = await relay.core.sessions.get(session_id)
    assert (session.status, session.reason) == ("failed", "provider_timeout")
    assert "The sign-in failed" in page.text
    assert elapsed < 5  # the body alone would take 13 s


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("token", {"access_token": "tökén"}),  # no Authorization header can carry it
        ("token", {"access_token": "two words"}),
        ("token", {"access_token": "x", "errcode": "\u00b2"}),  # "²": isdigit() yes, int() no
        ("token", {"access_token": "x", "errcode": "9" * 5000}),  # int() refuses 4300+ digits
        ("token", {"access_token": "x", "errcode": "--5"}),
        ("userinfo", {"sub": "u-1", "errcode": "9" * 5000}),
    ],
)
async def test_oauth2_odd_answers_fail_the_login_not_the_relay(
    relay_with: RelayFactory, endpoint: str, body: dict[str, Any]
) -> None:
    fake = fake_for()
    fake.inject(endpoint, 200, body)
    if endpoint == "userinfo":
        fake.inject("token", 200, {"access_token": "at-1"})
    relay, session_id, page = await through_relay(relay_with, fake)
    assert page.status_code == 200 and "The sign-in failed" in page.text
    session = await relay.core.sessions.get(session_id)
    assert (session.status, session.reason) == ("failed", "invalid_response")


@pytest.mark.parametrize("endpoint", ["token", "userinfo"])
async def test_oauth2_json_nested_too_deep_fails_the_login_not_the_relay(
    relay_with: RelayFactory, endpoint: str
) -> None:
    fake = fake_for()
    fake.inject(endpoint, 200, b'{"a": ' * 100_000 + b"1" + b"}" * 100_000)
    relay, session_id, page = await through_relay(relay_with, fake)
    assert page.status_code == 200 and "The sign-in failed" in page.text
    session = await relay.core.sessions.get(session_id)
    assert (session.status, session.reason) == ("failed", "invalid_response")


async def test_oauth2_code_200_success_wrapper_is_no_error(relay_with: RelayFactory) -> None:
    """Issue 3: only a non-empty `error` or a non-zero `errcode` is an error; the common
    `{"code": 200, "msg": "success", "data": ...}` wrapper signs in."""
    fake = fake_for()
    fake.inject(
        "token",
        200,
        {
            "code": 200,
            "msg": "success",
            "data": {"access_token": "at-1", "open_id": "u-42", "display_name": "Wrapped"},
        },
    )
    relay, session_id, done = await through_relay(
        relay_with,
        fake,
        userinfo_url=None,
        token_path="data",
        subject="open_id",
        claims={"name": "display_name"},
    )
    assert "Done. Return to your computer" in done.text
    identity = (await relay.core.sessions.get(session_id)).identity
    assert identity == Identity(provider="forge", subject="u-42", name="Wrapped")


# --- every error shape ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "code", "words"),
    [
        (
            400,
            {"error": "invalid_grant", "error_description": "Code used"},
            "invalid_code",
            "Code used",
        ),
        (401, {"error": "invalid_client"}, "invalid_client", "invalid_client"),
        (400, {"error": "unauthorized_client"}, "invalid_client", "unauthorized_client"),
        (200, {"error": "invalid_grant", "access_token": "x"}, "invalid_code", "invalid_grant"),
        (200, {"error": "Bad Request!"}, "bad_request", "Bad Request!"),
        (200, {"errcode": 40029, "errmsg": "invalid code"}, "errcode_40029", "(errcode 40029)"),
        (200, {"errcode": "40029"}, "errcode_40029", "(errcode 40029)"),
        (200, {"errcode": -1, "errmsg": "system error"}, "errcode_-1", "system error"),
        # Numbers as providers write them, and strings that only look like them (isdigit()
        # accepts "²", int() refuses it; int() refuses more than 4300 digits).
        (200, {"errcode": "²"}, "invalid_response", "errcode that is not a number"),
        (200, {"errcode": "--5"}, "invalid_response", "errcode that is not a number"),
        (200, {"errcode": "9" * 5000}, "invalid_response", "errcode that is not a number"),
        (200, {"errcode": 10**30}, "invalid_response", "errcode that is not a number"),
        (200, {"error": True}, "provider_error", "an error"),
        (200, {"error": {"code": "²", "message": "m"}}, "provider_error", "m"),
        (200, {"error": {"code": "9" * 5000}}, "9" * 64, "9" * 63 + "…"),  # a word, cut short
        # Issue 3's rule is a non-empty `error` or a non-zero `errcode`: a top-level `code` or
        # `error_code` is no error, so these fail only for want of a token.
        (200, {"error_code": "20003", "error_description": "no"}, "invalid_response", "no access"),
        (200, {"code": 10003, "msg": "invalid code"}, "invalid_response", "no access_token"),
        (
            202,
            {"error": {"status": 202, "code": 20117, "description": "x"}},
            "error_20117",
            "20117",
        ),
        (
            200,
            {"error": {"code": "access_token_invalid", "message": "m"}},
            "access_token_invalid",
            "m",
        ),
        (200, {"error": {"message": "Something broke"}}, "provider_error", "Something broke"),
        (500, {}, "invalid_response", "HTTP 500"),
        (403, {"access_token": "x"}, "invalid_response", "HTTP 403"),
        (502, b"<html>Bad gateway</html>", "invalid_response", "without JSON"),
        (200, {"token_type": "Bearer"}, "invalid_response", "no access_token"),
        (200, {"access_token": ""}, "invalid_response", "no access_token"),
    ],
)
async def test_oauth2_token_error_shapes(
    rig: Rig, status: int, body: Any, code: str, words: str
) -> None:
    rig.fake.inject("token", status, body)
    with pytest.raises(ProviderError) as caught:
        await rig.provider().exchange_code("c", new_trip())
    assert caught.value.code == code
    assert words in caught.value.message


@pytest.mark.parametrize(
    "body",
    [
        {"access_token": "x", "error": ""},
        {"access_token": "x", "error": None},
        {"access_token": "x", "errcode": 0, "errmsg": "ok"},
        {"access_token": "x", "errcode": "0"},
        {"access_token": "x", "code": 0, "msg": "success"},
        {"access_token": "x", "code": 200, "msg": "success"},
        {"access_token": "x", "code": 10003, "error_code": "20003"},
        {"access_token": "x", "error": {"code": "ok", "message": "", "log_id": "1"}},
        {"access_token": "x", "error": {"code": 0, "message": "success"}},
    ],
)
async def test_oauth2_token_bodies_that_are_not_errors(rig: Rig, body: dict[str, Any]) -> None:
    rig.fake.inject("token", 200, body)
    assert await rig.provider().exchange_code("c", new_trip()) == body


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (401, {"error": "invalid_token"}, "invalid_token"),
        (200, {"errcode": 40001, "errmsg": "invalid credential"}, "errcode_40001"),
        (200, {"sub": ""}, "invalid_response"),
        (200, {"sub": True}, "invalid_response"),
        (200, {"data": {"sub": "u-1"}}, "invalid_response"),
        (200, b"not json", "invalid_response"),
    ],
)
async def test_oauth2_userinfo_error_shapes(rig: Rig, status: int, body: Any, code: str) -> None:
    rig.fake.inject("userinfo", status, body)
    error = await rig.refused()
    assert error.code == code


async def test_oauth2_userinfo_path_missing(rig: Rig) -> None:
    rig.fake.inject("userinfo", body={"error": {"code": "ok"}, "data": None})
    error = await rig.refused(rig.provider(userinfo_path="data.user"))
    assert (error.code, error.message) == (
        "invalid_response",
        "the provider's userinfo holds no user",
    )


async def test_oauth2_refused_real_code_and_replay(rig: Rig) -> None:
    provider = rig.provider()
    trip = new_trip()
    location = (await rig.http.get(await provider.authorization_url(trip))).headers["location"]
    code = query_of(location)["code"]
    await provider.exchange_code(code, trip)
    with pytest.raises(ProviderError) as caught:
        await provider.exchange_code(code, trip)
    assert caught.value.code == "invalid_code"


async def test_oauth2_wrong_pkce_verifier_is_refused(rig: Rig) -> None:
    provider = rig.provider()
    trip = new_trip()
    location = (await rig.http.get(await provider.authorization_url(trip))).headers["location"]
    with pytest.raises(ProviderError) as caught:
        await provider.exchange_code(
            query_of(location)["code"], replace(trip, code_verifier="x" * 43)
        )
    assert caught.value.code == "invalid_code"


# --- the network ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (httpx.ConnectError("refused"), "provider_unreachable"),
        (httpx.ReadTimeout("slow"), "provider_timeout"),
    ],
)
async def test_oauth2_token_request_is_never_retried(
    rig: Rig, failure: Exception, code: str
) -> None:
    rig.fake.inject("token", error=failure)
    error = await rig.refused()
    assert error.code == code
    assert len(rig.fake.received("token")) == 1


async def test_oauth2_userinfo_is_retried_once_on_connection_error(rig: Rig) -> None:
    rig.fake.inject("userinfo", error=httpx.ConnectError("refused"))
    assert (await rig.sign_in()).subject == "u-1"
    assert len(rig.fake.received("userinfo")) == 2


async def test_oauth2_userinfo_unreachable_twice(rig: Rig) -> None:
    for _ in range(2):
        rig.fake.inject("userinfo", error=httpx.ConnectError("refused"))
    error = await rig.refused()
    assert error.code == "provider_unreachable"


# --- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "key", "words"),
    [
        ({"pkce": "plain"}, "pkce", 'must be "S256" or "none"'),
        ({"token_auth": "private_key_jwt"}, "token_auth", '"client_secret_post" or'),
        ({"token_format": "xml"}, "token_format", 'must be "form" or "json"'),
        ({"token_format": True}, "token_format", 'must be "form" or "json"'),
        ({"param_names": {"client": "client_key"}}, "param_names", "not a parameter the relay"),
        ({"param_names": {"client_id": 5}}, "param_names", "table of strings"),
        ({"param_names": {"client_id": ""}}, "param_names", "renamed to nothing"),
        ({"param_names": {"client_id": "state"}}, "param_names", "the same name"),
        ({"param_names": ["client_id"]}, "param_names", "table of strings"),
        ({"authorize_params": {"state": "fixed"}}, "authorize_params", "sets itself"),
        ({"authorize_params": {"prompt": 1}}, "authorize_params", "table of strings"),
        ({"token_path": "data..user"}, "token_path", "dotted path"),
        ({"token_path": 3}, "token_path", "dotted path"),
        ({"userinfo_path": "data", "userinfo_url": None}, "userinfo_path", "without userinfo_url"),
        ({"subject": ""}, "subject", "dotted path"),
        ({"claims": {"email": "mail"}}, "claims", '"email" is not one of'),
        ({"claims": {"name": "a b"}}, "claims", "not a dotted path"),
        ({"authorize_url": None}, "authorize_url", 'required for kind "oauth2"'),
        ({"token_url": None}, "token_url", 'required for kind "oauth2"'),
        ({"client_secret": ""}, "client_secret", 'unless token_auth = "none"'),
        ({"issuer": "https://idp.example.com"}, "issuer", 'unknown key for kind "oauth2"'),
    ],
)
def test_oauth2_config_errors(options: dict[str, Any], key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        OAuth2Provider(config(**options), httpx.AsyncClient(), RELAY)
    assert caught.value.key == f"providers.forge.{key}"
    assert words in caught.value.problem


def test_oauth2_renamed_parameter_may_take_a_freed_name() -> None:
    swapped = {"param_names": {"client_id": "client_key", "state": "client_id"}}
    assert OAuth2Provider(config(**swapped), httpx.AsyncClient(), RELAY).name == "forge"


def test_oauth2_config_from_settings_public_client() -> None:
    settings = parse_settings(
        {
            "issuer": "https://login.example.com",
            "providers": {
                "forge": {
                    "kind": "oauth2",
                    "client_id": "relay-app",
                    "authorize_url": "https://git.example.com/login/oauth/authorize",
                    "token_url": "https://git.example.com/login/oauth/access_token",
                    "token_auth": "none",
                    "param_names": {"client_id": "client_key"},
                    "claims": {"name": "display_name"},
                }
            },
        },
        environ={},
    )
    provider = build_provider(settings.providers["forge"], httpx.AsyncClient(), RELAY)
    assert isinstance(provider, OAuth2Provider) and provider.userinfo_endpoint is None
