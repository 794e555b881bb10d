"""The Mixin Messenger adapter against a fake of Mixin on its real hosts (mixin.one,
api.mixin.one): the whole login through the relay, the exact requests it sends, every error
shape Mixin answers with (HTTP 202 and the body deciding), network failures, and configuration."""

from __future__ import annotations

import json
import logging
import re
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from joserfc import jwt
from starlette.responses import Response

from relay.digests import s256
from relay.errors import ConfigError, ProviderError
from relay.providers import Trip, build_provider
from relay.providers.mixin import MixinProvider
from relay.sessions import Status
from relay.settings import ProviderConfig, parse_settings
from tests.conftest import ISSUER, RP_REDIRECT, RelayFactory
from tests.flows import Internet, Relay, Started, query_of
from tests.providers.fakes.mixin import MixinFake

CLIENT_ID = "3c5fd587-5ac3-4fb6-b294-423ba3473f7d"
CLIENT_SECRET = "0f3a9c1b7d2e4f60a8b5c9d1e2f3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5"
CALLBACK = f"{ISSUER}/callback/mixin"
DOCS = Path(__file__).parents[2] / "docs" / "providers" / "mixin.md"


def mixin_config(**overrides: Any) -> ProviderConfig:
    values: dict[str, Any] = {
        "name": "mixin",
        "kind": "mixin",
        "display_name": "Mixin",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    values.update(overrides)
    return ProviderConfig(**values)


@pytest.fixture
def fake() -> MixinFake:
    fake = MixinFake()
    fake.register_app(CLIENT_ID, CLIENT_SECRET, oauth_url=CALLBACK)
    fake.add_user(
        "Ada Lovelace",
        identity_number="7000101234",
        avatar_url="https://mixin-images.zeromesh.net/ada.jpg",
        user_id="e8a7c2f4-1b3d-4c5e-9f60-7a8b9c0d1e2f",
    )
    return fake


@pytest.fixture
async def relay(relay_with: RelayFactory, fake: MixinFake) -> Relay:
    return await relay_with(providers={"mixin": mixin_config()}, fakes=fake.hosts)


@pytest.fixture
async def adapter(fake: MixinFake) -> AsyncIterator[MixinProvider]:
    """The adapter alone, its HTTP client reaching the fake on Mixin's hosts."""
    internet = Internet()
    for host, app in fake.hosts.items():
        internet.route(host, app)
    async with httpx.AsyncClient(transport=internet) as http:
        yield MixinProvider(mixin_config(), http, ISSUER)


def trip(verifier: str = "v" * 64) -> Trip:
    return Trip(state="s" * 40, redirect_uri=CALLBACK, code_verifier=verifier, nonce="n1")


async def code_for(adapter: MixinProvider, fake: MixinFake, t: Trip) -> str:
    """Run the phone step against the fake; the code it sends back."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.web)) as phone:
        answer = await phone.get(await adapter.authorization_url(t))
    return query_of(answer.headers["location"])["code"]


async def as_far_as_callback(relay: Relay) -> tuple[Started, httpx.Response]:
    started = await relay.start(provider="mixin")
    scanned = await relay.scan(started.scan_url)
    assert scanned.status_code == 303, scanned.text
    return started, await relay.through_provider(started.session_id)


async def ended(relay: Relay, started: Started, status: Status, reason: str) -> str:
    """Assert how the session ended; the message people see."""
    session = await relay.core.sessions.get(started.session_id)
    assert (session.status, session.reason) == (status, reason)
    assert session.message is not None
    return session.message


# --- the whole login -----------------------------------------------------------------------------


async def test_mixin_login_completes_through_the_relay(relay: Relay, fake: MixinFake) -> None:
    started, done = await as_far_as_callback(relay)
    assert done.status_code == 200
    assert "Done. Return to your computer" in done.text

    back = await relay.resume(started.session_id)
    assert back.status_code == 302
    answer = query_of(back.headers["location"])
    tokens = await relay.token(code=answer["code"])
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    claims = jwt.decode(body["id_token"], relay.core.keys._key).claims
    assert claims["sub"] == "mixin:e8a7c2f4-1b3d-4c5e-9f60-7a8b9c0d1e2f"
    assert claims["idp"] == "mixin"
    assert claims["name"] == "Ada Lovelace"
    assert claims["picture"] == "https://mixin-images.zeromesh.net/ada.jpg"
    assert claims["preferred_username"] == "7000101234"

    async with relay.browser() as rp:
        profile = await rp.get(
            "/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
        )
    assert profile.status_code == 200
    assert profile.json()["sub"] == claims["sub"]
    assert profile.json()["preferred_username"] == "7000101234"


async def test_mixin_same_user_gets_the_same_sub_another_user_another(
    relay: Relay, fake: MixinFake
) -> None:
    grace = fake.add_user("Grace Hopper", identity_number="7000105678")
    subjects = []
    for user in (None, None, grace):
        if user is not None:
            fake.decide("approve", user=user)
        started, _ = await as_far_as_callback(relay)
        session = await relay.core.sessions.get(started.session_id)
        assert session.identity is not None
        subjects.append(session.identity.sub)
    assert subjects[0] == subjects[1] == "mixin:e8a7c2f4-1b3d-4c5e-9f60-7a8b9c0d1e2f"
    assert subjects[2] == f"mixin:{grace.user_id}"


async def test_mixin_login_works_when_the_user_unchecks_extra_scopes(
    relay_with: RelayFactory, fake: MixinFake
) -> None:
    relay = await relay_with(
        providers={"mixin": mixin_config(scope="PROFILE:READ ASSETS:READ")}, fakes=fake.hosts
    )
    fake.decide("approve", uncheck={"ASSETS:READ"})
    started, done = await as_far_as_callback(relay)
    assert "Done. Return to your computer" in done.text
    await ended_confirmed(relay, started)


async def ended_confirmed(relay: Relay, started: Started) -> None:
    session = await relay.core.sessions.get(started.session_id)
    assert session.status is Status.CONFIRMED
    assert session.identity is not None and session.identity.name == "Ada Lovelace"


# --- the exact requests --------------------------------------------------------------------------


async def test_mixin_authorization_url_has_no_redirect_uri_and_mixins_parameters(
    relay: Relay, fake: MixinFake
) -> None:
    started = await relay.start(provider="mixin")
    await relay.scan(started.scan_url)
    going = await relay.continue_to_provider(started.session_id)
    location = going.headers["location"]
    assert location.startswith("https://mixin.one/oauth/authorize?")
    pairs = parse_qsl(urlsplit(location).query)
    assert [name for name, _ in pairs] == [
        "client_id",
        "scope",
        "response_type",
        "state",
        "code_challenge",
        "code_challenge_method",
    ]
    query = dict(pairs)
    assert query["client_id"] == CLIENT_ID
    assert query["response_type"] == "code"
    assert query["code_challenge_method"] == "SHA256"
    assert re.fullmatch(r"[0-9a-f]{40}", query["state"])
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", query["code_challenge"])
    assert location == (  # PROFILE:READ written as Mixin's examples write it, ":" unescaped
        f"https://mixin.one/oauth/authorize?client_id={CLIENT_ID}&scope=PROFILE:READ"
        f"&response_type=code&state={query['state']}&code_challenge={query['code_challenge']}"
        "&code_challenge_method=SHA256"
    )
    assert fake.requests == []  # nothing sent to Mixin before the phone goes there


async def test_mixin_configured_scopes_go_space_separated(
    relay_with: RelayFactory, fake: MixinFake
) -> None:
    relay = await relay_with(
        providers={"mixin": mixin_config(scope="PROFILE:READ ASSETS:READ PHONE:READ")},
        fakes=fake.hosts,
    )
    await as_far_as_callback(relay)
    (authorize,) = fake.to("/oauth/authorize")
    assert "scope=PROFILE:READ+ASSETS:READ+PHONE:READ&" in authorize.raw_query
    assert dict(authorize.query)["scope"] == "PROFILE:READ ASSETS:READ PHONE:READ"


async def test_mixin_token_request_is_json_with_the_secret_and_verifier_in_the_body(
    relay: Relay, fake: MixinFake
) -> None:
    await as_far_as_callback(relay)
    (authorize,) = fake.to("/oauth/authorize")
    (token,) = fake.to("/oauth/token")
    assert (token.host, token.method) == ("api.mixin.one", "POST")
    assert token.raw_query == ""
    assert token.headers["content-type"] == "application/json"
    assert "authorization" not in token.headers  # the secret goes in the body, nowhere else
    body = token.json()
    assert list(body) == ["client_id", "code", "client_secret", "code_verifier"]
    assert body["client_id"] == CLIENT_ID
    assert body["client_secret"] == CLIENT_SECRET
    assert s256(body["code_verifier"]) == dict(authorize.query)["code_challenge"]
    assert "redirect_uri" not in body and "grant_type" not in body


async def test_mixin_profile_is_read_with_the_bearer_token(relay: Relay, fake: MixinFake) -> None:
    await as_far_as_callback(relay)
    (me,) = fake.to("/me")
    assert (me.host, me.method, me.raw_query, me.body) == ("api.mixin.one", "GET", "", b"")
    scheme, _, token = me.headers["authorization"].partition(" ")
    assert scheme == "Bearer" and len(token) > 20


async def test_mixin_endpoint_overrides_are_used(relay_with: RelayFactory, fake: MixinFake) -> None:
    staging = mixin_config(
        authorize_url="https://oauth.staging.test/oauth/authorize",
        token_url="https://api.staging.test/oauth/token",
        userinfo_url="https://api.staging.test/me",
    )
    relay = await relay_with(
        providers={"mixin": staging},
        fakes={"oauth.staging.test": fake.web, "api.staging.test": fake.api},
    )
    _, done = await as_far_as_callback(relay)
    assert "Done. Return to your computer" in done.text
    assert [r.host for r in fake.requests] == [
        "oauth.staging.test",
        "api.staging.test",
        "api.staging.test",
    ]


# --- Mixin's own refusals (the fake decides, nothing injected) -----------------------------------


async def test_mixin_reused_code_is_invalid_code(adapter: MixinProvider, fake: MixinFake) -> None:
    t = trip()
    code = await code_for(adapter, fake, t)
    grant = await adapter.exchange_code(code, t)
    assert isinstance(grant["access_token"], str)
    with pytest.raises(ProviderError) as caught:
        await adapter.exchange_code(code, t)
    assert caught.value.code == "invalid_code"
    assert caught.value.message == "error 401: Unauthorized, maybe invalid token."
    assert code not in caught.value.message


async def test_mixin_wrong_verifier_is_invalid_code(
    adapter: MixinProvider, fake: MixinFake
) -> None:
    code = await code_for(adapter, fake, trip("a" * 64))
    with pytest.raises(ProviderError) as caught:
        await adapter.exchange_code(code, trip("b" * 64))
    assert caught.value.code == "invalid_code"


async def test_mixin_expired_code_is_invalid_code(adapter: MixinProvider, fake: MixinFake) -> None:
    t = trip()
    code = await code_for(adapter, fake, t)
    fake.expire_codes()
    with pytest.raises(ProviderError) as caught:
        await adapter.exchange_code(code, t)
    assert caught.value.code == "invalid_code"


async def test_mixin_wrong_secret_fails_the_login_without_showing_it(
    relay_with: RelayFactory, fake: MixinFake
) -> None:
    relay = await relay_with(
        providers={"mixin": mixin_config(client_secret="not-the-secret")}, fakes=fake.hosts
    )
    started, done = await as_far_as_callback(relay)
    assert done.status_code == 200
    assert "The sign-in failed" in done.text
    message = await ended(relay, started, Status.FAILED, "invalid_code")
    assert message == (
        "Mixin could not sign you in (invalid_code: error 401: Unauthorized, maybe invalid token.)."
    )
    assert "not-the-secret" not in done.text
    (token,) = fake.to("/oauth/token")
    assert token.json()["code"] not in done.text


async def test_mixin_profile_without_profile_scope_is_mixin_error_403(
    adapter: MixinProvider, fake: MixinFake
) -> None:
    # Mixin always keeps PROFILE:READ; a token that lacks it (revoked meanwhile) is refused.
    t = trip()
    grant = await adapter.exchange_code(await code_for(adapter, fake, t), t)
    for stored in fake._tokens.values():
        stored.scope = ("ASSETS:READ",)
    with pytest.raises(ProviderError) as caught:
        await adapter.fetch_identity(grant, t)
    assert caught.value.code == "mixin_error_403"
    assert caught.value.message == "reading the profile: error 403: Forbidden."


# --- every error shape, through the relay --------------------------------------------------------


@pytest.mark.parametrize(
    ("http_status", "code", "description", "reason"),
    [
        (202, 401, "Unauthorized, maybe invalid token.", "invalid_code"),
        (202, 403, "Forbidden.", "invalid_code"),
        (202, 400, "The request body can't be parsed as valid data.", "mixin_error_400"),
        (202, 429, "Too Many Requests.", "mixin_error_429"),
        (202, 10006, "App update required.", "mixin_error_10006"),
        (500, 500, "Internal Server Error.", "mixin_error_500"),
        (200, 401, "Unauthorized, maybe invalid token.", "invalid_code"),
    ],
)
async def test_mixin_token_errors_fail_the_session_with_a_reason(
    relay: Relay, fake: MixinFake, http_status: int, code: int, description: str, reason: str
) -> None:
    fake.fail_next("token", code, description, status=http_status)
    started, done = await as_far_as_callback(relay)
    assert done.status_code == 200
    assert "The sign-in failed" in done.text
    message = await ended(relay, started, Status.FAILED, reason)
    assert f"error {code}: {description}" in message
    assert fake.to("/me") == []

    back = await relay.resume(started.session_id)
    answer = query_of(back.headers["location"])
    assert back.headers["location"].startswith(RP_REDIRECT)
    assert answer["error"] == "access_denied"
    assert reason in answer["error_description"]


@pytest.mark.parametrize(
    ("code", "description"),
    [
        (401, "Unauthorized, maybe invalid token."),
        (403, "Forbidden."),
        (429, "Too Many Requests."),
        (500, "Internal Server Error."),
    ],
)
async def test_mixin_profile_errors_fail_the_session_with_a_reason(
    relay: Relay, fake: MixinFake, code: int, description: str
) -> None:
    fake.fail_next("me", code, description, status=500 if code == 500 else 202)
    started, done = await as_far_as_callback(relay)
    assert done.status_code == 200 and "The sign-in failed" in done.text
    message = await ended(relay, started, Status.FAILED, f"mixin_error_{code}")
    assert f"reading the profile: error {code}: {description}" in message


@pytest.mark.parametrize(
    ("endpoint", "answer"),
    [
        ("token", Response("<html>502 Bad Gateway</html>", 502, media_type="text/html")),
        ("token", Response(json.dumps([1, 2]), 200, media_type="application/json")),
        ("token", Response(json.dumps({"data": {"scope": "PROFILE:READ"}}), 200)),
        ("token", Response(json.dumps({"data": "at-1"}), 200)),
        ("token", Response(json.dumps({"access_token": "at-1", "scope": "PROFILE:READ"}), 200)),
        ("token", Response(json.dumps({"error": "Unauthorized"}), 202)),
        ("token", Response(json.dumps({"data": {"access_token": "at-1"}}), 503)),
        ("me", Response("Internal Server Error", 500, media_type="text/plain")),
        ("me", Response(json.dumps({"data": {"full_name": "No Id"}}), 200)),
        ("me", Response(json.dumps({"data": {"user_id": ""}}), 200)),
        ("me", Response(json.dumps({"user_id": "u-1"}), 200)),
        ("me", Response(json.dumps({"error": {"status": 202}}), 202)),
    ],
)
async def test_mixin_malformed_answers_are_invalid_response(
    relay: Relay, fake: MixinFake, endpoint: Any, answer: Response
) -> None:
    fake.answer_next(endpoint, answer)
    started, done = await as_far_as_callback(relay)
    assert done.status_code == 200 and "The sign-in failed" in done.text
    await ended(relay, started, Status.FAILED, "invalid_response")


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (httpx.ConnectError("refused"), "provider_unreachable"),
        (httpx.ReadTimeout("slow"), "provider_timeout"),
    ],
)
async def test_mixin_token_network_failure_fails_once_without_retry(
    relay: Relay, fake: MixinFake, failure: Exception, reason: str
) -> None:
    fake.raise_next("token", failure)
    started, done = await as_far_as_callback(relay)
    assert done.status_code == 200 and "The sign-in failed" in done.text
    await ended(relay, started, Status.FAILED, reason)
    assert len(fake.to("/oauth/token")) == 1  # a code is never sent twice


async def test_mixin_profile_is_retried_once_after_a_connection_error(
    relay: Relay, fake: MixinFake
) -> None:
    fake.raise_next("me", httpx.ConnectError("reset"))
    started, done = await as_far_as_callback(relay)
    assert "Done. Return to your computer" in done.text
    await ended_confirmed(relay, started)
    assert len(fake.to("/me")) == 2


async def test_mixin_profile_unreachable_twice_fails(relay: Relay, fake: MixinFake) -> None:
    fake.raise_next("me", httpx.ConnectError("reset"))
    fake.raise_next("me", httpx.ConnectError("reset"))
    started, done = await as_far_as_callback(relay)
    assert "The sign-in failed" in done.text
    await ended(relay, started, Status.FAILED, "provider_unreachable")


async def test_mixin_profile_timeout_is_not_retried(relay: Relay, fake: MixinFake) -> None:
    fake.raise_next("me", httpx.ReadTimeout("slow"))
    started, _ = await as_far_as_callback(relay)
    await ended(relay, started, Status.FAILED, "provider_timeout")
    assert len(fake.to("/me")) == 1


@pytest.mark.parametrize("token", ["tökén", "two words", ""])
async def test_mixin_access_token_no_header_can_carry_fails_the_login_not_the_relay(
    relay: Relay, fake: MixinFake, token: str
) -> None:
    body = {"data": {"access_token": token, "scope": "PROFILE:READ"}}
    fake.answer_next("token", Response(json.dumps(body), 200, media_type="application/json"))
    started, done = await as_far_as_callback(relay)
    assert done.status_code == 200 and "The sign-in failed" in done.text
    await ended(relay, started, Status.FAILED, "invalid_response")
    assert fake.to("/me") == []


@pytest.mark.parametrize("code", ["401", 10**30, 401.0, True, None])
async def test_mixin_error_code_that_is_no_number_is_invalid_response(
    relay: Relay, fake: MixinFake, code: object
) -> None:
    body = {"error": {"status": 202, "code": code, "description": "x"}}
    fake.answer_next("token", Response(json.dumps(body), 202, media_type="application/json"))
    started, done = await as_far_as_callback(relay)
    assert done.status_code == 200 and "The sign-in failed" in done.text
    message = await ended(relay, started, Status.FAILED, "invalid_response")
    assert message == (
        "Mixin could not sign you in (invalid_response: Mixin answered an error without a code)."
    )


async def test_mixin_description_echoing_secrets_reaches_no_screen_and_no_log(
    relay: Relay, fake: MixinFake, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail_next("token", 401, f"bad secret {CLIENT_SECRET} for client_secret={CLIENT_SECRET}")
    started, done = await as_far_as_callback(relay)
    message = await ended(relay, started, Status.FAILED, "invalid_code")
    assert message == (
        "Mixin could not sign you in (invalid_code: error 401: bad secret [redacted] for "
        "client_secret=[redacted])."
    )
    desktop = await relay.desktop.get(f"/sessions/{started.session_id}")
    to_rp = await relay.resume(started.session_id)
    for where in (done.text, desktop.text, to_rp.headers["location"], caplog.text):
        assert CLIENT_SECRET not in where


# --- refusal (undocumented at Mixin) -------------------------------------------------------------


@pytest.mark.parametrize("action", ["deny", "deny_bare"])
async def test_mixin_refusal_coming_back_denies_the_session(
    relay: Relay, fake: MixinFake, action: Any
) -> None:
    fake.decide(action)
    started, done = await as_far_as_callback(relay)
    assert done.status_code == 200
    assert "Sign-in declined" in done.text
    message = await ended(relay, started, Status.DENIED, "access_denied")
    assert message == "The sign-in was declined at Mixin."
    assert fake.to("/oauth/token") == []


async def test_mixin_refusal_that_never_comes_back_leaves_the_session_scanned(
    relay: Relay, fake: MixinFake
) -> None:
    fake.decide("stay")
    started, stayed = await as_far_as_callback(relay)
    assert stayed.status_code == 200 and "Authorization cancelled" in stayed.text
    session = await relay.core.sessions.get(started.session_id)
    assert session.status is Status.SCANNED  # the desktop can still cancel; the TTL ends it


async def test_mixin_callback_with_a_forged_state_changes_nothing(
    relay: Relay, fake: MixinFake
) -> None:
    started = await relay.start(provider="mixin")
    await relay.scan(started.scan_url)
    await relay.continue_to_provider(started.session_id)
    forged = await relay.phone.get("/callback/mixin", params={"code": "c", "state": "0" * 40})
    assert forged.status_code == 400
    session = await relay.core.sessions.get(started.session_id)
    assert session.status is Status.SCANNED
    assert fake.to("/oauth/token") == []


# --- the fake itself: Mixin's documented answers -------------------------------------------------


async def test_mixin_fake_refuses_form_bodies_with_code_400_and_http_202(fake: MixinFake) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.api)) as http:
        answer = await http.post(
            "https://api.mixin.one/oauth/token",
            data={"client_id": CLIENT_ID, "code": "c", "client_secret": CLIENT_SECRET},
        )
    assert answer.status_code == 202
    assert answer.json() == {
        "error": {
            "status": 202,
            "code": 400,
            "description": "The request body can't be parsed as valid data.",
        }
    }


async def test_mixin_fake_never_redirects_for_an_unknown_app(fake: MixinFake) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.web)) as http:
        answer = await http.get(
            "https://mixin.one/oauth/authorize",
            params={"client_id": "00000000-0000-4000-a000-000000000000", "scope": "PROFILE:READ"},
        )
    assert answer.status_code == 404 and "location" not in answer.headers


async def test_mixin_fake_sends_the_phone_to_the_registered_oauth_url(
    adapter: MixinProvider, fake: MixinFake
) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.web)) as phone:
        answer = await phone.get(await adapter.authorization_url(trip()))
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(f"{CALLBACK}?code=")
    assert query_of(location)["state"] == "s" * 40


# --- configuration -------------------------------------------------------------------------------


def settings_with(**table: Any) -> None:
    provider = {"kind": "mixin", "client_id": CLIENT_ID, "client_secret": "env:MIXIN_SECRET"}
    provider.update(table)
    parse_settings(
        {"issuer": "https://login.example.com", "providers": {"mixin": provider}},
        environ={"MIXIN_SECRET": CLIENT_SECRET},
    )


def build(config: ProviderConfig) -> MixinProvider:
    provider = build_provider(config, httpx.AsyncClient(), ISSUER)
    assert isinstance(provider, MixinProvider)
    return provider


async def test_mixin_default_scope_and_endpoints() -> None:
    provider = build(mixin_config())
    assert provider.scope == "PROFILE:READ"
    assert provider.authorize_endpoint == "https://mixin.one/oauth/authorize"
    assert provider.token_endpoint == "https://api.mixin.one/oauth/token"
    assert provider.userinfo_endpoint == "https://api.mixin.one/me"
    assert provider.display_name == "Mixin"


async def test_mixin_authorize_url_with_a_query_keeps_it() -> None:
    provider = build(mixin_config(authorize_url="https://mixin.one/oauth/authorize?lang=zh"))
    url = await provider.authorization_url(trip())
    assert url.startswith(f"https://mixin.one/oauth/authorize?lang=zh&client_id={CLIENT_ID}&")
    assert url.count("?") == 1


async def test_mixin_duplicate_scopes_are_sent_once() -> None:
    provider = build(mixin_config(scope="ASSETS:READ PROFILE:READ  ASSETS:READ"))
    assert provider.scope == "ASSETS:READ PROFILE:READ"


@pytest.mark.parametrize(
    ("scope", "problem"),
    [
        ("PROFILE:READ,ASSETS:READ", "separated by spaces"),
        ("PROFILE:READ+ASSETS:READ", "separated by spaces"),
        ("profile:read", "not a Mixin scope"),
        ("ASSETS:READ", "must include PROFILE:READ"),
        ("openid profile", "not a Mixin scope"),
    ],
)
async def test_mixin_wrong_scope_is_a_config_error(scope: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build(mixin_config(scope=scope))
    assert caught.value.key == "providers.mixin.scope"
    assert problem in caught.value.problem


@pytest.mark.parametrize("client_id", ["my-bot", "7000101234", CLIENT_SECRET])
async def test_mixin_client_id_that_is_not_an_app_id_is_a_config_error(client_id: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build(mixin_config(client_id=client_id))
    assert caught.value.key == "providers.mixin.client_id"
    assert "UUID" in caught.value.problem


def test_mixin_redirect_uri_key_is_refused_by_the_settings() -> None:
    # Mixin takes its redirect from the dashboard; a redirect_uri here would be a mistake.
    with pytest.raises(ConfigError) as caught:
        settings_with(redirect_uri=CALLBACK)
    assert caught.value.key == "providers.mixin.redirect_uri"


def test_mixin_docs_example_is_a_valid_configuration() -> None:
    text = DOCS.read_text()
    blocks = re.findall(r"```toml\n(.*?)```", text, flags=re.S)
    example = next(b for b in blocks if "[providers." in b and 'kind = "mixin"' in b)
    data = tomllib.loads(example)
    settings = parse_settings(data, environ={"MIXIN_SECRET": CLIENT_SECRET, "RP_SECRET": "s"})
    (config,) = [p for p in settings.providers.values() if p.kind == "mixin"]
    provider = build(config)
    assert provider.scope == "PROFILE:READ"
    assert config.timeout == 10.0 and config.connect_timeout == 3.0
    assert f"/callback/{config.name}" in text
