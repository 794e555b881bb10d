"""The TikTok adapter (Login Kit v2 for the web) against a fake of TikTok on its real hostnames:
the whole login through the relay, the exact requests TikTok receives, every error shape TikTok
documents, broken answers, network failures and configuration errors."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from joserfc import jwt
from starlette.responses import JSONResponse, Response

from relay.errors import ConfigError, ProviderError
from relay.providers import Trip, build_provider
from relay.providers.tiktok import TikTokProvider
from relay.settings import ProviderConfig, parse_settings
from tests.conftest import RelayFactory
from tests.flows import Internet, Relay, query_of
from tests.providers.fakes.tiktok import (
    AUTHORIZE_PATH,
    TOKEN_PATH,
    USERINFO_PATH,
    FakeTikTok,
)

ISSUER = "https://relay.test"  # TikTok registers https redirect URIs only
CALLBACK = f"{ISSUER}/callback/tiktok"
FIELDS = "open_id,union_id,avatar_url,display_name"


def tiktok_config(**changes: Any) -> ProviderConfig:
    config = ProviderConfig(
        name="tiktok",
        kind="tiktok",
        display_name="TikTok",
        client_id="tiktok-client-key",
        client_secret="tiktok-client-secret",
    )
    return replace(config, **changes)


@pytest.fixture
def fake() -> FakeTikTok:
    fake = FakeTikTok(redirect_uris=(CALLBACK,))
    fake.add_user("Ada Lovelace")
    return fake


async def tiktok_relay(relay_with: RelayFactory, fake: FakeTikTok, **changes: Any) -> Relay:
    return await relay_with(
        providers={"tiktok": tiktok_config(**changes)}, fakes=fake.hosts, issuer=ISSUER
    )


async def sign_in(relay: Relay) -> tuple[str, httpx.Response]:
    """Start at the desktop, scan, go to TikTok and back; the session id and the phone's page."""
    started = await relay.start()
    scanned = await relay.scan(started.scan_url)
    assert scanned.status_code == 303, scanned.text
    return started.session_id, await relay.through_provider(started.session_id)


async def assert_ended(
    relay: Relay, session_id: str, page: httpx.Response, status: str, reason: str
) -> None:
    """The phone got a plain page saying so, and the session ended with `reason`."""
    assert page.status_code == 200, page.text
    title = "Sign-in declined" if status == "denied" else "The sign-in failed"
    assert title in page.text
    session = await relay.core.sessions.get(session_id)
    assert (session.status, session.reason) == (status, reason)
    back = await relay.resume(session_id)
    assert back.status_code == 302
    assert query_of(back.headers["location"])["error"] == "access_denied"


@pytest.fixture
async def direct(fake: FakeTikTok) -> AsyncIterator[tuple[TikTokProvider, httpx.AsyncClient]]:
    """The adapter alone, its client on TikTok's hosts (a phone's browser shares it)."""
    internet = Internet()
    for host, app in fake.hosts.items():
        internet.route(host, app)
    async with httpx.AsyncClient(transport=internet) as http:
        yield TikTokProvider(tiktok_config(), http, ISSUER), http


def trip(redirect_uri: str = CALLBACK) -> Trip:
    return Trip(state="a1b2c3", redirect_uri=redirect_uri, code_verifier="v" * 43, nonce="n1")


async def code_for(provider: TikTokProvider, http: httpx.AsyncClient, at: Trip) -> str:
    """The phone's trip to TikTok: approve, and the code TikTok sends back."""
    answer = await http.get(await provider.authorization_url(at))
    assert answer.status_code == 302, answer.text
    return query_of(answer.headers["location"])["code"]


# --- the whole login -------------------------------------------------------------------------


async def test_tiktok_login_completes_with_union_id_as_subject(
    relay_with: RelayFactory, fake: FakeTikTok
) -> None:
    relay = await tiktok_relay(relay_with, fake)
    user = fake.users[0]
    session_id, done = await sign_in(relay)
    assert "Done. Return to your computer" in done.text

    back = await relay.resume(session_id)
    assert back.status_code == 302
    answer = query_of(back.headers["location"])
    tokens = await relay.token(code=answer["code"])
    assert tokens.status_code == 200, tokens.text
    claims = jwt.decode(tokens.json()["id_token"], relay.core.keys._key).claims
    assert claims["sub"] == f"tiktok:{user.union_id}"
    assert claims["idp"] == "tiktok"
    assert (claims["name"], claims["picture"]) == ("Ada Lovelace", user.avatar_url)

    async with relay.browser() as rp:
        profile = await rp.get(
            "/userinfo", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"}
        )
    assert profile.json() == {
        "sub": f"tiktok:{user.union_id}",
        "idp": "tiktok",
        "name": "Ada Lovelace",
        "picture": user.avatar_url,
    }


async def test_tiktok_subject_falls_back_to_open_id_without_union_id(
    relay_with: RelayFactory,
) -> None:
    fake = FakeTikTok(redirect_uris=(CALLBACK,))
    user = fake.add_user("Grace Hopper", with_union_id=False)
    relay = await tiktok_relay(relay_with, fake)
    session_id, done = await sign_in(relay)
    assert "Done" in done.text
    session = await relay.core.sessions.get(session_id)
    assert session.identity is not None
    assert session.identity.sub == f"tiktok:{user.open_id}"


async def test_tiktok_endpoint_overrides_are_used(
    relay_with: RelayFactory, fake: FakeTikTok
) -> None:
    relay = await relay_with(
        providers={
            "tiktok": tiktok_config(
                authorize_url="https://auth.staging.test/v2/auth/authorize/",
                token_url="https://api.staging.test/v2/oauth/token/",
                userinfo_url="https://api.staging.test/v2/user/info/",
            )
        },
        fakes={"auth.staging.test": fake.web, "api.staging.test": fake.api},
        issuer=ISSUER,
    )
    _, done = await sign_in(relay)
    assert "Done" in done.text
    assert [seen.host for seen in fake.seen] == [
        "auth.staging.test",
        "api.staging.test",
        "api.staging.test",
    ]


async def test_tiktok_login_logs_no_secret_code_or_token(
    relay_with: RelayFactory, fake: FakeTikTok, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail_profile("access_token_invalid", "The access token is invalid.", status=401)
    relay = await tiktok_relay(relay_with, fake)
    await sign_in(relay)
    (code,) = fake.codes
    (token,) = fake.tokens
    assert caplog.records  # the relay and httpx did log
    needle = code.split("*")[0]  # the same whether the URL is percent-encoded or not
    for record in caplog.records:
        text = record.getMessage()
        assert "tiktok-client-secret" not in text and token not in text
        # Only the test's own phone browser (httpx) logs the callback URL it opened.
        assert needle not in text or (record.name == "httpx" and "/callback/tiktok?" in text)


# --- what TikTok receives --------------------------------------------------------------------


async def test_tiktok_authorize_request_names_client_key_without_pkce(
    relay_with: RelayFactory, fake: FakeTikTok
) -> None:
    relay = await tiktok_relay(relay_with, fake)
    await sign_in(relay)
    (seen,) = fake.requests_to(AUTHORIZE_PATH)
    assert seen.host == "www.tiktok.com"
    names = [name for name, _ in seen.params]
    assert names == ["client_key", "scope", "response_type", "redirect_uri", "state"]
    params = dict(seen.params)
    assert params["client_key"] == "tiktok-client-key"
    assert params["scope"] == "user.info.basic"  # the default
    assert params["response_type"] == "code"
    assert params["redirect_uri"] == CALLBACK
    assert re.fullmatch(r"[A-Za-z0-9]+", params["state"])


@pytest.mark.parametrize(
    "written",
    [
        "user.info.basic video.list",
        "user.info.basic,video.list",
        " user.info.basic ,  video.list,user.info.basic ",
    ],
)
async def test_tiktok_scope_with_spaces_or_commas_is_sent_with_commas(
    relay_with: RelayFactory, fake: FakeTikTok, written: str
) -> None:
    relay = await tiktok_relay(relay_with, fake, scope=written)
    _, done = await sign_in(relay)
    assert "Done" in done.text
    (seen,) = fake.requests_to(AUTHORIZE_PATH)
    assert "&scope=user.info.basic,video.list&" in f"&{seen.query}"
    token = fake.requests_to(USERINFO_PATH)[0].headers["authorization"].split(" ", 1)[1]
    assert fake.tokens[token].scopes == ("user.info.basic", "video.list")


async def test_tiktok_token_request_is_the_documented_form(
    relay_with: RelayFactory, fake: FakeTikTok
) -> None:
    relay = await tiktok_relay(relay_with, fake)
    await sign_in(relay)
    (seen,) = fake.requests_to(TOKEN_PATH)
    (code,) = fake.codes  # carries * and !: the callback's query was decoded, then re-encoded
    assert "*" in code and "!" in code
    assert (seen.host, seen.method) == ("open.tiktokapis.com", "POST")
    assert seen.headers["content-type"] == "application/x-www-form-urlencoded"
    assert seen.headers["cache-control"] == "no-cache"
    assert "authorization" not in seen.headers  # the secret goes in the body
    assert seen.query == ""
    assert seen.form == [
        ("client_key", "tiktok-client-key"),
        ("client_secret", "tiktok-client-secret"),
        ("code", code),
        ("grant_type", "authorization_code"),
        ("redirect_uri", CALLBACK),
    ]


async def test_tiktok_profile_request_asks_four_fields_with_bearer(
    relay_with: RelayFactory, fake: FakeTikTok
) -> None:
    relay = await tiktok_relay(relay_with, fake)
    await sign_in(relay)
    (seen,) = fake.requests_to(USERINFO_PATH)
    (token,) = fake.tokens
    assert (seen.host, seen.method) == ("open.tiktokapis.com", "GET")
    assert seen.params == [("fields", FIELDS)]
    assert seen.headers["authorization"] == f"Bearer {token}"
    assert seen.body == b""


# --- the user says no, or TikTok does at the authorize step ----------------------------------


async def test_tiktok_refusal_denies_the_session(
    relay_with: RelayFactory, fake: FakeTikTok
) -> None:
    fake.decision = "deny"
    relay = await tiktok_relay(relay_with, fake)
    session_id, page = await sign_in(relay)
    await assert_ended(relay, session_id, page, "denied", "access_denied")
    assert fake.requests_to(TOKEN_PATH) == []


async def test_tiktok_scope_the_app_lacks_fails_with_invalid_scope(
    relay_with: RelayFactory, fake: FakeTikTok
) -> None:
    fake.app_scopes = ("user.info.basic",)
    relay = await tiktok_relay(relay_with, fake, scope="user.info.basic,video.publish")
    session_id, page = await sign_in(relay)
    await assert_ended(relay, session_id, page, "failed", "invalid_scope")
    assert fake.requests_to(TOKEN_PATH) == []


# --- the token endpoint says no --------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status", "reason"),
    [
        ("invalid_grant", 200, "invalid_code"),  # an error with HTTP 200
        ("invalid_grant", 400, "invalid_code"),
        ("invalid_client", 401, "invalid_client"),
        ("invalid_request", 400, "invalid_request"),
        ("unsupported_grant_type", 400, "unsupported_grant_type"),
        ("server_error", 500, "server_error"),
    ],
)
async def test_tiktok_token_errors_fail_the_session(
    relay_with: RelayFactory, fake: FakeTikTok, error: str, status: int, reason: str
) -> None:
    fake.fail_token(error, "Something is wrong.", status=status)
    relay = await tiktok_relay(relay_with, fake)
    session_id, page = await sign_in(relay)
    await assert_ended(relay, session_id, page, "failed", reason)
    assert fake.requests_to(USERINFO_PATH) == []


async def test_tiktok_wrong_client_secret_fails_with_invalid_client(
    relay_with: RelayFactory, fake: FakeTikTok
) -> None:
    relay = await tiktok_relay(relay_with, fake, client_secret="not-the-secret")
    session_id, page = await sign_in(relay)
    await assert_ended(relay, session_id, page, "failed", "invalid_client")


async def test_tiktok_code_is_single_use(
    direct: tuple[TikTokProvider, httpx.AsyncClient],
) -> None:
    provider, http = direct
    code = await code_for(provider, http, trip())
    grant = await provider.exchange_code(code, trip())
    assert grant["token_type"] == "Bearer" and grant["access_token"].startswith("act.")
    with pytest.raises(ProviderError) as caught:
        await provider.exchange_code(code, trip())
    assert caught.value.code == "invalid_code"
    assert "has been used" in caught.value.message


async def test_tiktok_code_is_bound_to_its_redirect_uri(
    direct: tuple[TikTokProvider, httpx.AsyncClient], fake: FakeTikTok
) -> None:
    provider, http = direct
    other = "https://relay.test/callback/other"
    fake.redirect_uris = (CALLBACK, other)
    code = await code_for(provider, http, trip(other))
    with pytest.raises(ProviderError) as caught:
        await provider.exchange_code(code, trip())
    assert caught.value.code == "invalid_code"
    assert "Redirect URI" in caught.value.message


async def test_tiktok_expired_code_is_invalid_code(
    direct: tuple[TikTokProvider, httpx.AsyncClient], fake: FakeTikTok
) -> None:
    provider, http = direct
    code = await code_for(provider, http, trip())
    fake.expire_codes()
    with pytest.raises(ProviderError) as caught:
        await provider.exchange_code(code, trip())
    assert caught.value.code == "invalid_code"
    assert "expired" in caught.value.message


async def test_tiktok_token_error_message_keeps_log_id_and_hides_the_code(
    direct: tuple[TikTokProvider, httpx.AsyncClient], fake: FakeTikTok
) -> None:
    provider, http = direct
    code = await code_for(provider, http, trip())
    ident = fake.fail_token("invalid_grant", f"Code {code} is not valid.\n Try again.")
    with pytest.raises(ProviderError) as caught:
        await provider.exchange_code(code, trip())
    message = caught.value.message
    assert f"log_id {ident}" in message
    assert code not in message and "[redacted]" in message
    assert "\n" not in message and "invalid_grant" in message


# --- the profile endpoint says no ------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("access_token_invalid", 401),
        ("scope_not_authorized", 401),
        ("rate_limit_exceeded", 429),
        ("internal_error", 500),
        ("access_token_invalid", 200),  # the body decides, whatever the status
    ],
)
async def test_tiktok_profile_errors_fail_the_session(
    relay_with: RelayFactory, fake: FakeTikTok, code: str, status: int
) -> None:
    fake.fail_profile(code, "Something is wrong.", status=status)
    relay = await tiktok_relay(relay_with, fake)
    session_id, page = await sign_in(relay)
    await assert_ended(relay, session_id, page, "failed", code)


async def test_tiktok_user_unticking_the_basic_scope_fails_with_scope_not_authorized(
    relay_with: RelayFactory, fake: FakeTikTok
) -> None:
    fake.granted = ()  # the token comes without user.info.basic; TikTok refuses the profile
    relay = await tiktok_relay(relay_with, fake)
    session_id, page = await sign_in(relay)
    await assert_ended(relay, session_id, page, "failed", "scope_not_authorized")


async def test_tiktok_profile_error_message_keeps_log_id(
    direct: tuple[TikTokProvider, httpx.AsyncClient], fake: FakeTikTok
) -> None:
    provider, http = direct
    grant = await provider.exchange_code(await code_for(provider, http, trip()), trip())
    ident = fake.fail_profile("rate_limit_exceeded", "Too many requests.", status=429)
    with pytest.raises(ProviderError) as caught:
        await provider.fetch_identity(grant, trip())
    assert caught.value.code == "rate_limit_exceeded"
    assert f"log_id {ident}" in caught.value.message
    assert "Too many requests." in caught.value.message
    assert grant["access_token"] not in caught.value.message


async def test_tiktok_revoked_token_is_access_token_invalid(
    direct: tuple[TikTokProvider, httpx.AsyncClient], fake: FakeTikTok
) -> None:
    provider, http = direct
    grant = await provider.exchange_code(await code_for(provider, http, trip()), trip())
    fake.revoke_tokens()
    with pytest.raises(ProviderError) as caught:
        await provider.fetch_identity(grant, trip())
    assert caught.value.code == "access_token_invalid"


async def test_tiktok_profile_with_an_error_status_is_not_trusted(
    direct: tuple[TikTokProvider, httpx.AsyncClient], fake: FakeTikTok
) -> None:
    provider, http = direct
    grant = await provider.exchange_code(await code_for(provider, http, trip()), trip())
    user = {"open_id": grant["open_id"], "display_name": "Ada Lovelace"}
    body = {"data": {"user": user}, "error": {"code": "ok", "message": "", "log_id": "1"}}
    fake.answer_next(USERINFO_PATH, JSONResponse(body, status_code=502))
    with pytest.raises(ProviderError) as caught:
        await provider.fetch_identity(grant, trip())
    assert caught.value.code == "invalid_response"
    assert "HTTP 502" in caught.value.message


# --- broken answers and the network ----------------------------------------------------------

OK = {"code": "ok", "message": "", "log_id": "20240101000000ABCDEF"}


@pytest.mark.parametrize(
    ("path", "answer"),
    [
        (TOKEN_PATH, Response("<html>Bad gateway</html>", 502, media_type="text/html")),
        (TOKEN_PATH, JSONResponse([1, 2])),
        (TOKEN_PATH, JSONResponse({"open_id": "x", "token_type": "Bearer"})),
        (TOKEN_PATH, JSONResponse({"access_token": "act.x", "token_type": "Bearer"})),
        (TOKEN_PATH, JSONResponse({}, status_code=503)),
        (TOKEN_PATH, JSONResponse({"access_token": "act.x", "open_id": "o"}, status_code=500)),
        (TOKEN_PATH, JSONResponse({"error": "Not A Word!", "log_id": "1"}, status_code=400)),
        (USERINFO_PATH, Response("upstream timeout", 504)),
        (USERINFO_PATH, JSONResponse({"data": {}, "error": OK})),
        (USERINFO_PATH, JSONResponse({"data": {"user": {"union_id": "u"}}, "error": OK})),
        (USERINFO_PATH, JSONResponse({"data": {"user": {"open_id": "someone"}}, "error": OK})),
        (USERINFO_PATH, JSONResponse({"data": {}, "error": OK}, status_code=500)),
        (USERINFO_PATH, JSONResponse({"error": {"code": 'x"><b>', "log_id": "1"}})),
    ],
)
async def test_tiktok_broken_answers_fail_with_invalid_response(
    relay_with: RelayFactory, fake: FakeTikTok, path: str, answer: Response
) -> None:
    fake.answer_next(path, answer)
    relay = await tiktok_relay(relay_with, fake)
    session_id, page = await sign_in(relay)
    await assert_ended(relay, session_id, page, "failed", "invalid_response")


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (httpx.ConnectError("refused"), "provider_unreachable"),
        (httpx.ConnectTimeout("slow"), "provider_timeout"),
        (httpx.ReadTimeout("slow"), "provider_timeout"),
    ],
)
async def test_tiktok_token_request_is_never_retried(
    relay_with: RelayFactory, fake: FakeTikTok, failure: Exception, reason: str
) -> None:
    fake.break_next(TOKEN_PATH, failure)
    relay = await tiktok_relay(relay_with, fake)
    session_id, page = await sign_in(relay)
    await assert_ended(relay, session_id, page, "failed", reason)
    assert fake.attempts[TOKEN_PATH] == 1


async def test_tiktok_profile_request_is_retried_once_after_a_failed_connection(
    relay_with: RelayFactory, fake: FakeTikTok
) -> None:
    fake.break_next(USERINFO_PATH, httpx.ConnectError("refused"))
    relay = await tiktok_relay(relay_with, fake)
    _, page = await sign_in(relay)
    assert "Done" in page.text
    assert fake.attempts[USERINFO_PATH] == 2


async def test_tiktok_profile_unreachable_twice_fails(
    relay_with: RelayFactory, fake: FakeTikTok
) -> None:
    fake.break_next(USERINFO_PATH, httpx.ConnectError("refused"))
    fake.break_next(USERINFO_PATH, httpx.ConnectError("refused"))
    relay = await tiktok_relay(relay_with, fake)
    session_id, page = await sign_in(relay)
    await assert_ended(relay, session_id, page, "failed", "provider_unreachable")


async def test_tiktok_profile_timeout_is_not_retried(
    relay_with: RelayFactory, fake: FakeTikTok
) -> None:
    fake.break_next(USERINFO_PATH, httpx.ReadTimeout("slow"))
    relay = await tiktok_relay(relay_with, fake)
    session_id, page = await sign_in(relay)
    await assert_ended(relay, session_id, page, "failed", "provider_timeout")
    assert fake.attempts[USERINFO_PATH] == 1


@pytest.mark.parametrize("token", ["act.tökén", "act.two words", "act.\u2028"])
async def test_tiktok_access_token_no_header_can_carry_fails_the_login_not_the_relay(
    relay_with: RelayFactory, fake: FakeTikTok, token: str
) -> None:
    grant = {"access_token": token, "open_id": "o-1", "scope": "user.info.basic"}
    fake.answer_next(TOKEN_PATH, JSONResponse(grant))
    relay = await tiktok_relay(relay_with, fake)
    session_id, page = await sign_in(relay)
    await assert_ended(relay, session_id, page, "failed", "invalid_response")
    session = await relay.core.sessions.get(session_id)
    assert session.message == (
        "TikTok could not sign you in (invalid_response: the provider's access_token cannot be "
        "sent in a header)."
    )
    assert fake.requests_to(USERINFO_PATH) == []


async def test_tiktok_description_echoing_the_secret_reaches_no_screen_and_no_log(
    relay_with: RelayFactory, fake: FakeTikTok, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail_token("invalid_client", "client_secret=tiktok-client-secret does not match")
    relay = await tiktok_relay(relay_with, fake)
    session_id, page = await sign_in(relay)
    await assert_ended(relay, session_id, page, "failed", "invalid_client")
    session = await relay.core.sessions.get(session_id)
    assert session.message is not None
    assert "client_secret=[redacted] does not match" in session.message
    desktop = await relay.desktop.get(f"/sessions/{session_id}")
    for where in (page.text, desktop.text, session.message, caplog.text):
        assert "tiktok-client-secret" not in where


async def test_tiktok_authorize_url_with_a_query_keeps_it() -> None:
    async with httpx.AsyncClient() as http:
        provider = TikTokProvider(
            tiktok_config(authorize_url="https://www.tiktok.com/v2/auth/authorize/?lang=en"),
            http,
            ISSUER,
        )
        url = await provider.authorization_url(trip())
    assert url.startswith(
        "https://www.tiktok.com/v2/auth/authorize/?lang=en&client_key=tiktok-client-key&scope="
    )
    assert url.count("?") == 1


# --- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "key", "problem"),
    [
        ({"scope": "video.list"}, "providers.tiktok.scope", "must include user.info.basic"),
        ({"scope": " , ,"}, "providers.tiktok.scope", "names no scope"),
        ({"options": {"subject": "open_id"}}, "providers.tiktok.subject", "unknown key"),
    ],
)
async def test_tiktok_configuration_errors_name_the_key(
    changes: dict[str, Any], key: str, problem: str
) -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(ConfigError) as caught:
            build_provider(tiktok_config(**changes), http, ISSUER)
    assert caught.value.key == key
    assert problem in caught.value.problem


async def test_tiktok_configuration_from_a_file_builds_the_adapter() -> None:
    settings = parse_settings(
        {
            "issuer": ISSUER,
            "providers": {
                "tiktok": {
                    "kind": "tiktok",
                    "client_id": "awx1234",
                    "client_secret": "env:TIKTOK_SECRET",
                    "scope": "user.info.basic user.info.profile",
                }
            },
        },
        environ={"TIKTOK_SECRET": "s3cret"},
    )
    async with httpx.AsyncClient() as http:
        provider = build_provider(settings.providers["tiktok"], http, ISSUER)
        url = await provider.authorization_url(trip())
    assert isinstance(provider, TikTokProvider)
    assert provider.display_name == "TikTok"
    assert url == (
        "https://www.tiktok.com/v2/auth/authorize/?client_key=awx1234"
        "&scope=user.info.basic,user.info.profile&response_type=code"
        "&redirect_uri=https%3A%2F%2Frelay.test%2Fcallback%2Ftiktok&state=a1b2c3"
    )


def test_tiktok_configuration_rejects_keys_of_other_kinds() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(
            {
                "issuer": ISSUER,
                "providers": {
                    "tiktok": {
                        "kind": "tiktok",
                        "client_id": "awx1234",
                        "client_secret": "s",
                        "pkce": "S256",
                    }
                },
            },
            environ={},
        )
    assert caught.value.key == "providers.tiktok.pkce"
