"""The WeChat adapter against a fake of WeChat (tests/providers/fakes/wechat.py) on WeChat's own
hostnames: whole logins through the relay, the exact requests WeChat receives, every errcode and
failure mapped to a reason, and the configuration the adapter refuses."""

from __future__ import annotations

import logging
import re
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.responses import HTMLResponse, Response

from relay.errors import ConfigError, ProviderError
from relay.providers import Trip, build_provider
from relay.providers.wechat import WeChatProvider
from relay.sessions import LoginSession, Status
from relay.settings import ProviderConfig, parse_settings
from tests.conftest import ISSUER, RelayFactory
from tests.flows import Internet, Relay, query_of
from tests.providers.fakes.wechat import FakeWeChat

WECHAT_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2f) NetType/WIFI Language/zh_CN"
)
SAFARI_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
CALLBACK = f"{ISSUER}/callback/wechat"
TRIP = Trip(state="a" * 40, redirect_uri=CALLBACK, code_verifier="v" * 43, nonce="n1")
DOC = Path(__file__).parents[2] / "docs" / "providers" / "wechat.md"
AUTHORIZE = "https://open.weixin.qq.com/connect/oauth2/authorize"


def wechat_config(fake: FakeWeChat, **changes: Any) -> ProviderConfig:
    fields: dict[str, Any] = {
        "name": "wechat",
        "kind": "wechat",
        "display_name": "WeChat",
        "client_id": fake.appid,
        "client_secret": fake.secret,
    }
    fields.update(changes)
    return ProviderConfig(**fields)


async def wechat_relay(
    relay_with: RelayFactory,
    fake: FakeWeChat,
    *,
    fakes: dict[str, Any] | None = None,
    **changes: Any,
) -> Relay:
    relay = await relay_with(
        providers={"wechat": wechat_config(fake, **changes)}, fakes=fakes or fake.hosts()
    )
    relay.phone.headers["User-Agent"] = WECHAT_UA  # scanned with WeChat's Scan
    return relay


def adapter(fake: FakeWeChat, **changes: Any) -> WeChatProvider:
    """The adapter alone, its client reaching the fake on WeChat's hostnames."""
    internet = Internet()
    for host, app in fake.hosts().items():
        internet.route(host, app)
    return WeChatProvider(
        wechat_config(fake, **changes), httpx.AsyncClient(transport=internet), ISSUER
    )


async def scanned(relay: Relay) -> str:
    started = await relay.start()
    scan = await relay.scan(started.scan_url)
    assert scan.status_code == 303, scan.text
    return started.session_id


async def to_callback(relay: Relay, session_id: str) -> tuple[str, str]:
    """Continue on the phone and let WeChat answer; (where Continue sent the phone, where WeChat
    sends it back), without following the second."""
    going = await relay.continue_to_provider(session_id)
    location = going.headers["location"]
    answer = await relay.phone.get(str(httpx.URL(location).copy_with(fragment=None)))
    assert answer.status_code == 302, answer.text
    return location, answer.headers["location"]


async def session_of(relay: Relay, session_id: str) -> LoginSession:
    return await relay.core.sessions.get(session_id)


async def signed_in(relay: Relay, session_id: str) -> dict[str, Any]:
    """The desktop resumes, the relying party redeems the code and reads /userinfo."""
    back = await relay.resume(session_id)
    assert back.status_code == 302, back.text
    tokens = await relay.token(code=query_of(back.headers["location"])["code"])
    assert tokens.status_code == 200, tokens.text
    async with relay.browser() as rp:
        profile = await rp.get(
            "/userinfo", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"}
        )
    assert profile.status_code == 200, profile.text
    claims: dict[str, Any] = profile.json()
    return claims


async def failed_login(relay: Relay) -> tuple[httpx.Response, LoginSession]:
    session_id = await scanned(relay)
    page = await relay.through_provider(session_id)
    return page, await session_of(relay, session_id)


def assert_failed(page: httpx.Response, session: LoginSession, reason: str) -> None:
    assert page.status_code == 200, page.text
    assert "The sign-in failed" in page.text
    assert f"WeChat could not sign you in ({reason}: " in page.text
    assert session.status is Status.FAILED
    assert session.reason == reason


# --- whole logins --------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "application/json; encoding=utf-8"])
async def test_wechat_login_loop_signs_in_with_the_unionid(
    relay_with: RelayFactory, content_type: str
) -> None:
    fake = FakeWeChat(content_type=content_type)
    user = fake.add_user("张三")
    relay = await wechat_relay(relay_with, fake)
    session_id = await scanned(relay)
    done = await relay.through_provider(session_id)
    assert "Done. Return to your computer" in done.text
    claims = await signed_in(relay, session_id)
    assert claims == {
        "sub": f"wechat:{user.unionid}",
        "idp": "wechat",
        "name": "张三",
        "picture": user.headimgurl,
    }
    assert [seen.endpoint for seen in fake.requests] == ["authorize", "token", "userinfo"]


async def test_wechat_login_without_open_platform_uses_the_openid(
    relay_with: RelayFactory,
) -> None:
    fake = FakeWeChat(open_platform=False)
    user = fake.add_user("Li Lei")
    relay = await wechat_relay(relay_with, fake)
    session_id = await scanned(relay)
    await relay.through_provider(session_id)
    claims = await signed_in(relay, session_id)
    assert claims["sub"] == f"wechat:{user.openid}"
    assert claims["name"] == "Li Lei"


async def test_wechat_subject_openid_forces_the_openid(relay_with: RelayFactory) -> None:
    fake = FakeWeChat()
    user = fake.add_user("Han Meimei")
    relay = await wechat_relay(relay_with, fake, options={"subject": "openid"})
    session_id = await scanned(relay)
    await relay.through_provider(session_id)
    assert (await signed_in(relay, session_id))["sub"] == f"wechat:{user.openid}"


async def test_wechat_snsapi_base_is_silent_and_skips_the_profile(
    relay_with: RelayFactory,
) -> None:
    fake = FakeWeChat()
    user = fake.add_user("Silent")
    fake.sign_in(user, "deny")  # snsapi_base shows no consent page: there is nothing to refuse
    relay = await wechat_relay(relay_with, fake, scope="snsapi_base")
    session_id = await scanned(relay)
    await relay.through_provider(session_id)
    claims = await signed_in(relay, session_id)
    # No unionid for snsapi_base, no profile call (it would answer 48001): the openid, no name.
    assert claims == {"sub": f"wechat:{user.openid}", "idp": "wechat"}
    assert fake.seen("userinfo") == []
    assert dict(fake.seen("authorize")[0].query)["scope"] == "snsapi_base"


async def test_wechat_endpoint_overrides_reach_a_staging_host(relay_with: RelayFactory) -> None:
    fake = FakeWeChat()
    user = fake.add_user()
    relay = await wechat_relay(
        relay_with,
        fake,
        fakes=fake.hosts("wx-open.staging.example", "wx-api.staging.example"),
        authorize_url="https://wx-open.staging.example/connect/oauth2/authorize",
        token_url="https://wx-api.staging.example/sns/oauth2/access_token",
        userinfo_url="https://wx-api.staging.example/sns/userinfo",
    )
    session_id = await scanned(relay)
    await relay.through_provider(session_id)
    assert (await signed_in(relay, session_id))["sub"] == f"wechat:{user.unionid}"
    assert [seen.host for seen in fake.requests] == [
        "wx-open.staging.example",
        "wx-api.staging.example",
        "wx-api.staging.example",
    ]


# --- the exact requests --------------------------------------------------------------------------


async def test_wechat_requests_are_exactly_what_wechat_documents(
    relay_with: RelayFactory,
) -> None:
    fake = FakeWeChat()
    user = fake.add_user()
    relay = await wechat_relay(relay_with, fake)
    session_id = await scanned(relay)
    location, back = await to_callback(relay, session_id)

    state = query_of(back)["state"]
    assert re.fullmatch(r"[0-9a-f]{40}", state)
    assert location == (
        f"https://open.weixin.qq.com/connect/oauth2/authorize?appid={fake.appid}"
        "&redirect_uri=http%3A%2F%2Frelay.test%2Fcallback%2Fwechat&response_type=code"
        f"&scope=snsapi_userinfo&state={state}#wechat_redirect"
    )
    code = query_of(back)["code"]
    assert back == f"{CALLBACK}?code={code}&state={state}"

    done = await relay.phone.get(back)
    assert "Done. Return to your computer" in done.text
    authorize, token, userinfo = fake.requests
    assert (authorize.method, authorize.host, authorize.path) == (
        "GET",
        "open.weixin.qq.com",
        "/connect/oauth2/authorize",
    )
    assert (token.method, token.host, token.path) == (
        "GET",
        "api.weixin.qq.com",
        "/sns/oauth2/access_token",
    )
    assert token.query == [
        ("appid", fake.appid),
        ("secret", fake.secret),
        ("code", code),
        ("grant_type", "authorization_code"),
    ]
    assert (userinfo.method, userinfo.host, userinfo.path) == (
        "GET",
        "api.weixin.qq.com",
        "/sns/userinfo",
    )
    assert [key for key, _ in userinfo.query] == ["access_token", "openid", "lang"]
    assert dict(userinfo.query)["openid"] == user.openid
    assert dict(userinfo.query)["lang"] == "zh_CN"
    assert "authorization" not in token.headers and "authorization" not in userinfo.headers


async def test_wechat_authorization_url_keeps_order_encoding_and_suffix() -> None:
    fake = FakeWeChat()
    provider = adapter(fake, scope="snsapi_base")
    url = await provider.authorization_url(
        Trip(
            state="Ab9" * 40 + "Zz09Ab9z",
            redirect_uri=f"{CALLBACK}?x=1&y=2",
            code_verifier="v",
            nonce="n",
        )
    )
    assert url == (
        "https://open.weixin.qq.com/connect/oauth2/authorize?appid=wx0123456789abcdef"
        "&redirect_uri=http%3A%2F%2Frelay.test%2Fcallback%2Fwechat%3Fx%3D1%26y%3D2"
        f"&response_type=code&scope=snsapi_base&state={'Ab9' * 40}Zz09Ab9z#wechat_redirect"
    )
    assert "code_challenge" not in url  # WeChat has no PKCE


@pytest.mark.parametrize(
    "state", ["", "a" * 129, "abc-def", "abc_def", "état", "a b", "a" * 39 + "%"]
)
async def test_wechat_state_outside_wechat_rules_is_refused_before_sending(state: str) -> None:
    provider = adapter(FakeWeChat())
    with pytest.raises(ProviderError) as caught:
        await provider.authorization_url(
            Trip(state=state, redirect_uri=CALLBACK, code_verifier="v", nonce="n")
        )
    assert caught.value.code == "invalid_state"


# --- the phone's browser -------------------------------------------------------------------------


async def test_wechat_scan_outside_wechat_says_open_in_wechat_and_keeps_the_ticket(
    relay_with: RelayFactory,
) -> None:
    fake = FakeWeChat()
    fake.add_user()
    relay = await wechat_relay(relay_with, fake)
    started = await relay.start()

    relay.phone.headers["User-Agent"] = SAFARI_UA  # the phone's camera opened Safari
    in_safari = await relay.scan(started.scan_url)
    assert in_safari.status_code == 200
    assert "Open this in WeChat" in in_safari.text
    assert (await session_of(relay, started.session_id)).status is Status.PENDING

    relay.phone.headers["User-Agent"] = WECHAT_UA  # the same QR, now with WeChat's Scan
    in_wechat = await relay.scan(started.scan_url)
    assert in_wechat.status_code == 303
    assert (await session_of(relay, started.session_id)).status is Status.SCANNED
    assert (
        "Done. Return to your computer" in (await relay.through_provider(started.session_id)).text
    )
    assert fake.seen("authorize")  # only WeChat's browser ever reached WeChat


async def test_wechat_on_the_phone_already_goes_on_only_inside_wechat(
    relay_with: RelayFactory,
) -> None:
    """The app's page opened on the phone (relay/pages/same_device.py): in Safari the relay says
    to open WeChat, and nothing changes; inside WeChat's browser the login completes there."""
    fake = FakeWeChat()
    fake.add_user()
    relay = await wechat_relay(relay_with, fake)
    origin = {"Origin": relay.issuer}

    relay.desktop.headers["User-Agent"] = SAFARI_UA
    in_safari = await relay.start()
    answer = await relay.desktop.post(f"/sessions/{in_safari.session_id}/here", headers=origin)
    assert answer.status_code == 200 and "Open this in WeChat" in answer.text
    assert (await session_of(relay, in_safari.session_id)).status is Status.PENDING

    relay.desktop.headers["User-Agent"] = WECHAT_UA
    started = await relay.start()
    going = await relay.desktop.post(f"/sessions/{started.session_id}/here", headers=origin)
    assert going.status_code == 303, going.text
    location = str(httpx.URL(going.headers["location"]).copy_with(fragment=None))
    at_wechat = await relay.desktop.get(location)
    assert at_wechat.status_code == 302, at_wechat.text
    callback = await relay.desktop.get(at_wechat.headers["location"])
    assert callback.headers["location"] == f"/sessions/{started.session_id}/resume"
    claims = await signed_in(relay, started.session_id)
    assert claims["sub"].startswith("wechat:")


async def test_wechat_fake_authorize_page_refuses_other_browsers() -> None:
    fake = FakeWeChat()
    fake.add_user()
    url = await adapter(fake).authorization_url(TRIP)
    internet = Internet()
    internet.route("open.weixin.qq.com", fake.open_app)
    async with httpx.AsyncClient(transport=internet, headers={"User-Agent": SAFARI_UA}) as safari:
        page = await safari.get(url.split("#")[0])
    assert page.status_code == 200
    assert "请在微信客户端打开链接" in page.text  # WeChat's own "open this in WeChat"


# --- refusal -------------------------------------------------------------------------------------


async def test_wechat_refusal_comes_back_without_code_and_is_denied(
    relay_with: RelayFactory,
) -> None:
    fake = FakeWeChat()
    fake.sign_in(fake.add_user(), "deny")
    relay = await wechat_relay(relay_with, fake)
    session_id = await scanned(relay)
    _, back = await to_callback(relay, session_id)
    assert query_of(back) == {"state": query_of(back)["state"]}  # only the state, as WeChat does

    page = await relay.phone.get(back)
    assert page.status_code == 200
    assert "Sign-in declined" in page.text
    session = await session_of(relay, session_id)
    assert session.status is Status.DENIED
    assert session.reason == "access_denied"
    assert fake.seen("token") == []

    to_rp = await relay.resume(session_id)
    assert to_rp.status_code == 302
    assert query_of(to_rp.headers["location"])["error"] == "access_denied"


# --- token errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("errcode", "reason"),
    [
        (40029, "invalid_code"),
        (40163, "invalid_code"),
        (42003, "invalid_code"),
        (40013, "invalid_client"),
        (40125, "invalid_client"),
        (-1, "errcode_-1"),
        (45011, "errcode_45011"),
        (40002, "errcode_40002"),
    ],
)
async def test_wechat_token_errcodes_fail_the_login_with_their_reason(
    relay_with: RelayFactory, errcode: int, reason: str
) -> None:
    fake = FakeWeChat()
    fake.add_user()
    fake.fail_next("token", errcode)
    relay = await wechat_relay(relay_with, fake)
    page, session = await failed_login(relay)
    assert_failed(page, session, reason)
    assert fake.seen("userinfo") == []


async def test_wechat_wrong_secret_is_invalid_client(relay_with: RelayFactory) -> None:
    fake = FakeWeChat()
    fake.add_user()
    relay = await wechat_relay(relay_with, fake, client_secret="not-the-app-secret")
    page, session = await failed_login(relay)
    assert_failed(page, session, "invalid_client")
    assert "not-the-app-secret" not in page.text


async def test_wechat_expired_code_is_invalid_code(relay_with: RelayFactory) -> None:
    fake = FakeWeChat()
    fake.add_user()
    relay = await wechat_relay(relay_with, fake)
    session_id = await scanned(relay)
    _, back = await to_callback(relay, session_id)
    fake.advance(301)  # a code lives 5 minutes
    page = await relay.phone.get(back)
    assert_failed(page, await session_of(relay, session_id), "invalid_code")


async def test_wechat_code_redeemed_elsewhere_is_invalid_code(relay_with: RelayFactory) -> None:
    fake = FakeWeChat()
    fake.add_user()
    relay = await wechat_relay(relay_with, fake)
    session_id = await scanned(relay)
    _, back = await to_callback(relay, session_id)
    # Someone else redeems the code first (a leaked callback URL): WeChat answers 40163.
    stolen = await adapter(fake).exchange_code(query_of(back)["code"], TRIP)
    assert stolen["access_token"]
    page = await relay.phone.get(back)
    assert_failed(page, await session_of(relay, session_id), "invalid_code")


async def test_wechat_errcode_counts_whatever_the_http_status(relay_with: RelayFactory) -> None:
    fake = FakeWeChat()
    fake.add_user()
    fake.fail_next("token", 40029, status=500)
    relay = await wechat_relay(relay_with, fake)
    page, session = await failed_login(relay)
    assert_failed(page, session, "invalid_code")


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (HTMLResponse("<html>502 Bad Gateway</html>", status_code=502), "invalid_response"),
        (Response(b"", status_code=200, media_type="text/plain"), "invalid_response"),
        (Response(b"[1, 2]", media_type="text/plain"), "invalid_response"),
        (Response(b'{"errcode": "busy"}', media_type="text/plain"), "invalid_response"),
        (Response(b'{"openid": "oX", "scope": "snsapi_userinfo"}'), "invalid_response"),
        (Response(b'{"access_token": "at", "expires_in": 7200}'), "invalid_response"),
        (Response(b'{"access_token": "at", "openid": ""}'), "invalid_response"),
        (Response(b'{"access_token": "at", "openid": "oX"}', status_code=503), "invalid_response"),
        (
            Response(b'{"access_token": "at", "openid": "oX", "is_snapshotuser": 1}'),
            "snapshot_user",
        ),
    ],
)
async def test_wechat_token_answers_that_are_no_grant_fail_the_login(
    relay_with: RelayFactory, answer: Response, reason: str
) -> None:
    fake = FakeWeChat()
    fake.add_user()
    fake.answer_next("token", answer)
    relay = await wechat_relay(relay_with, fake)
    page, session = await failed_login(relay)
    assert_failed(page, session, reason)


async def test_wechat_snapshot_account_is_refused(relay_with: RelayFactory) -> None:
    fake = FakeWeChat()
    fake.add_user("虚拟", snapshot=True)
    relay = await wechat_relay(relay_with, fake)
    page, session = await failed_login(relay)
    assert_failed(page, session, "snapshot_user")


# --- profile errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("errcode", "reason"),
    [
        (48001, "errcode_48001"),
        (40001, "errcode_40001"),
        (40014, "errcode_40014"),
        (42001, "errcode_42001"),
    ],
)
async def test_wechat_userinfo_errcodes_fail_the_login(
    relay_with: RelayFactory, errcode: int, reason: str
) -> None:
    fake = FakeWeChat()
    fake.add_user()
    fake.fail_next("userinfo", errcode)
    relay = await wechat_relay(relay_with, fake)
    page, session = await failed_login(relay)
    assert_failed(page, session, reason)


@pytest.mark.parametrize(
    "answer",
    [
        HTMLResponse("<html>502 Bad Gateway</html>", status_code=502),
        Response(b'{"nickname": "no openid"}', media_type="text/plain"),
        Response(b'{"openid": "oSomeoneElse", "nickname": "Mallory"}', media_type="text/plain"),
    ],
)
async def test_wechat_userinfo_that_is_no_profile_of_this_user_fails(
    relay_with: RelayFactory, answer: Response
) -> None:
    fake = FakeWeChat()
    fake.add_user()
    fake.answer_next("userinfo", answer)
    relay = await wechat_relay(relay_with, fake)
    page, session = await failed_login(relay)
    assert_failed(page, session, "invalid_response")


async def test_wechat_userinfo_of_another_unionid_is_refused() -> None:
    fake = FakeWeChat()
    user = fake.add_user()
    provider = adapter(fake)
    grant = await provider.exchange_code(fake.issue_code(user), TRIP)
    fake.answer_next(
        "userinfo",
        fake.json({"openid": user.openid, "unionid": "oAnotherUnionId", "nickname": "x"}),
    )
    with pytest.raises(ProviderError) as caught:
        await provider.fetch_identity(grant, TRIP)
    assert caught.value.code == "invalid_response"


async def test_wechat_token_scope_base_skips_the_profile_call() -> None:
    """Asked for snsapi_userinfo, granted snsapi_base (WeChat's own scope field says which):
    no profile call that could only answer 48001."""
    fake = FakeWeChat()
    user = fake.add_user()
    provider = adapter(fake)
    grant = await provider.exchange_code(fake.issue_code(user, "snsapi_base"), TRIP)
    identity = await provider.fetch_identity(grant, TRIP)
    assert identity.subject == user.openid and identity.name is None
    assert fake.seen("userinfo") == []


async def test_wechat_snsapi_base_skips_the_profile_even_when_wechat_omits_scope() -> None:
    fake = FakeWeChat()
    fake.answer_next("token", fake.json({"access_token": "at", "openid": "oBase"}))
    provider = adapter(fake, scope="snsapi_base")
    identity = await provider.fetch_identity(await provider.exchange_code("code", TRIP), TRIP)
    assert identity.subject == "oBase"
    assert fake.seen("userinfo") == []


# --- the network ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (httpx.ConnectError("refused"), "provider_unreachable"),
        (httpx.ConnectTimeout("slow to connect"), "provider_timeout"),
        (httpx.ReadTimeout("slow"), "provider_timeout"),
        (httpx.RemoteProtocolError("peer closed"), "provider_unreachable"),
    ],
)
async def test_wechat_token_network_failure_fails_and_is_never_retried(
    relay_with: RelayFactory, failure: Exception, reason: str
) -> None:
    fake = FakeWeChat()
    fake.add_user()
    fake.break_next("token", failure)
    relay = await wechat_relay(relay_with, fake)
    page, session = await failed_login(relay)
    assert_failed(page, session, reason)
    assert len(fake.seen("token")) == 1  # a code is single use: one try only


async def test_wechat_userinfo_connect_error_is_retried_once(relay_with: RelayFactory) -> None:
    fake = FakeWeChat()
    user = fake.add_user()
    fake.break_next("userinfo", httpx.ConnectError("refused"))
    relay = await wechat_relay(relay_with, fake)
    session_id = await scanned(relay)
    done = await relay.through_provider(session_id)
    assert "Done. Return to your computer" in done.text
    assert (await signed_in(relay, session_id))["sub"] == f"wechat:{user.unionid}"
    assert len(fake.seen("userinfo")) == 2


@pytest.mark.parametrize(
    ("failures", "reason", "attempts"),
    [
        ([httpx.ConnectError("refused"), httpx.ConnectError("refused")], "provider_unreachable", 2),
        ([httpx.ReadTimeout("slow")], "provider_timeout", 1),
    ],
)
async def test_wechat_userinfo_network_failure_fails_the_login(
    relay_with: RelayFactory, failures: list[Exception], reason: str, attempts: int
) -> None:
    fake = FakeWeChat()
    fake.add_user()
    for failure in failures:
        fake.break_next("userinfo", failure)
    relay = await wechat_relay(relay_with, fake)
    page, session = await failed_login(relay)
    assert_failed(page, session, reason)
    assert len(fake.seen("userinfo")) == attempts


# --- what the adapter's errors say ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("setup", "errcode", "reason"),
    [
        ("unknown_code", 40029, "invalid_code"),
        ("used_code", 40163, "invalid_code"),
        ("expired_code", 42003, "invalid_code"),
        ("wrong_appid", 40013, "invalid_client"),
        ("wrong_secret", 40125, "invalid_client"),
    ],
)
async def test_wechat_errors_keep_errcode_and_errmsg_but_no_secret(
    setup: str, errcode: int, reason: str
) -> None:
    fake = FakeWeChat()
    user = fake.add_user()
    code = fake.issue_code(user)
    changes: dict[str, Any] = {}
    if setup == "unknown_code":
        code = "0" * 32
    elif setup == "used_code":
        await adapter(fake).exchange_code(code, TRIP)
    elif setup == "expired_code":
        fake.advance(301)
    elif setup == "wrong_appid":
        changes["client_id"] = "wx00000000000000ff"
    else:
        changes["client_secret"] = "a-wrong-secret"
    provider = adapter(fake, **changes)
    with pytest.raises(ProviderError) as caught:
        await provider.exchange_code(code, TRIP)
    error = caught.value
    assert error.code == reason
    assert re.fullmatch(rf"errcode {errcode}: [a-z ]+, rid: [0-9a-f-]+", error.message)
    for secret in (fake.secret, "a-wrong-secret", code, "secret="):
        assert secret not in str(error)


async def test_wechat_errmsg_echoing_a_secret_is_masked() -> None:
    fake = FakeWeChat()
    code = "C0de" * 8
    fake.answer_next(
        "token",
        fake.json({"errcode": 40125, "errmsg": f"invalid appsecret {fake.secret} for {code}"}),
    )
    with pytest.raises(ProviderError) as caught:
        await adapter(fake).exchange_code(code, TRIP)
    assert caught.value.message == "errcode 40125: invalid appsecret [redacted] for [redacted]"


async def test_wechat_network_error_names_only_the_host() -> None:
    fake = FakeWeChat()
    fake.break_next("token", httpx.ConnectError("refused"))
    with pytest.raises(ProviderError) as caught:
        await adapter(fake).exchange_code("some-code", TRIP)
    assert caught.value.message == "api.weixin.qq.com: cannot connect"


@pytest.mark.parametrize("errcode", [0, "0"])
async def test_wechat_errcode_zero_is_success(errcode: object) -> None:
    fake = FakeWeChat()
    fake.answer_next(
        "token",
        fake.json({"errcode": errcode, "errmsg": "ok", "access_token": "at", "openid": "oX"}),
    )
    grant = await adapter(fake).exchange_code("code", TRIP)
    assert grant["openid"] == "oX"


async def test_wechat_errcode_beside_a_token_is_still_an_error() -> None:
    fake = FakeWeChat()
    fake.answer_next(
        "token",
        fake.json(
            {"errcode": 40163, "errmsg": "code been used", "access_token": "at", "openid": "oX"}
        ),
    )
    with pytest.raises(ProviderError) as caught:
        await adapter(fake).exchange_code("code", TRIP)
    assert caught.value.code == "invalid_code"


async def test_wechat_no_log_line_carries_the_secret_or_the_code(
    relay_with: RelayFactory, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As an application embedding the relay runs it: no logging setup by the relay's CLI (httpx
    at its default level, INFO), every logger captured at DEBUG. WeChat's token URL carries the
    secret and the code in its query; the relay, once built, keeps them out of httpx's log."""
    monkeypatch.setattr(logging.getLogger("httpx"), "filters", [])  # as in a fresh process
    caplog.set_level(logging.DEBUG)
    fake = FakeWeChat()
    fake.add_user()
    relay = await wechat_relay(relay_with, fake)
    for _ in range(2):
        session_id = await scanned(relay)
        _, back = await to_callback(relay, session_id)
        await relay.phone.get(back)
        fake.secret = "rotated-at-wechat"  # the second login fails with 40125
    assert (await session_of(relay, session_id)).reason == "invalid_client"
    assert any(record.name == "relay.access" for record in caplog.records)
    messages = [record.getMessage() for record in caplog.records]
    token_requests = [
        m
        for m in messages
        if m.startswith("HTTP Request: GET https://api.weixin.qq.com/sns/oauth2")
    ]
    assert (
        token_requests
        == ['HTTP Request: GET https://api.weixin.qq.com/sns/oauth2/access_token "HTTP/1.1 200 OK"']
        * 2
    )  # httpx did log both token requests, without their query
    text = "\n".join(messages)
    codes = [dict(seen.query)["code"] for seen in fake.seen("token")]
    assert len(codes) == 2
    for secret in ("wechat-app-secret-0123456789abcd", *codes, "secret=", "code="):
        assert secret not in text


async def test_wechat_errmsg_echoing_secrets_reaches_no_screen_and_no_log(
    relay_with: RelayFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake = FakeWeChat()
    fake.add_user()
    relay = await wechat_relay(relay_with, fake)
    session_id = await scanned(relay)
    _, back = await to_callback(relay, session_id)
    code = query_of(back)["code"]
    fake.answer_next(
        "token",
        fake.json({"errcode": 40125, "errmsg": f"invalid appsecret {fake.secret}, code={code}"}),
    )
    phone = await relay.phone.get(back)
    session = await session_of(relay, session_id)
    assert_failed(phone, session, "invalid_client")
    desktop = await relay.desktop.get(f"/sessions/{session_id}")
    to_rp = await relay.resume(session_id)
    assert session.message == (
        "WeChat could not sign you in (invalid_client: errcode 40125: invalid appsecret "
        "[redacted], code=[redacted])."
    )
    seen = [phone.text, desktop.text, to_rp.headers["location"], session.message, caplog.text]
    for where in seen:
        assert fake.secret not in where and code not in where


@pytest.mark.parametrize(
    "errcode",
    [
        b'"\xc2\xb2"',  # "²": str.isdigit() says yes, int() says no
        b'"--5"',
        b'"' + b"9" * 5000 + b'"',  # int() refuses more than 4300 digits
        b"9" * 40,
        b"true",
    ],
)
@pytest.mark.parametrize("endpoint", ["token", "userinfo"])
async def test_wechat_errcode_that_is_no_number_fails_the_login_not_the_relay(
    relay_with: RelayFactory, errcode: bytes, endpoint: str
) -> None:
    fake = FakeWeChat()
    fake.add_user()
    fake.answer_next(endpoint, Response(b'{"errcode": ' + errcode + b', "errmsg": "x"}'))
    relay = await wechat_relay(relay_with, fake)
    page, session = await failed_login(relay)
    assert_failed(page, session, "invalid_response")
    assert session.message == (
        f"WeChat could not sign you in (invalid_response: WeChat's "
        f"{'token response' if endpoint == 'token' else 'profile'} has an errcode that is not a "
        "number)."
    )


async def test_wechat_authorize_url_with_a_query_keeps_it() -> None:
    provider = adapter(FakeWeChat(), authorize_url=f"{AUTHORIZE}?forcePopup=true")
    url = await provider.authorization_url(TRIP)
    assert url.startswith(f"{AUTHORIZE}?forcePopup=true&appid=wx0123456789abcdef&redirect_uri=")
    assert url.endswith(f"&state={TRIP.state}#wechat_redirect")
    assert url.count("?") == 1


# --- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"scope": "snsapi_login"}, "providers.wechat.scope"),
        ({"scope": "snsapi_userinfo snsapi_base"}, "providers.wechat.scope"),
        ({"options": {"subject": "email"}}, "providers.wechat.subject"),
        ({"options": {"subject": 1}}, "providers.wechat.subject"),
        ({"options": {"subject": ["openid"]}}, "providers.wechat.subject"),
    ],
)
def test_wechat_config_refuses_wrong_values(changes: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        WeChatProvider(wechat_config(FakeWeChat(), **changes), httpx.AsyncClient(), ISSUER)
    assert caught.value.key == key


@pytest.mark.parametrize(
    ("table", "scope", "subject"),
    [
        ({}, "snsapi_userinfo", "unionid"),
        ({"scope": "snsapi_base", "subject": "openid"}, "snsapi_base", "openid"),
        ({"scope": "snsapi_userinfo", "subject": "unionid"}, "snsapi_userinfo", "unionid"),
    ],
)
async def test_wechat_config_from_a_file_builds_the_adapter(
    table: dict[str, str], scope: str, subject: str
) -> None:
    settings = parse_settings(
        {
            "issuer": "https://login.example.com",
            "providers": {
                "wechat": {
                    "kind": "wechat",
                    "client_id": "wx0123456789abcdef",
                    "client_secret": "env:WECHAT_SECRET",
                    **table,
                }
            },
        },
        environ={"WECHAT_SECRET": "s3cret"},
    )
    async with httpx.AsyncClient() as http:
        provider = build_provider(settings.providers["wechat"], http, settings.issuer)
    assert isinstance(provider, WeChatProvider)
    assert (provider.scope, provider.subject) == (scope, subject)
    assert provider.display_name == "WeChat"
    assert provider.app_only is not None and provider.app_only.user_agent_marker == "MicroMessenger"
    assert provider.denial_without_code is True


async def test_wechat_config_from_a_file_refuses_a_wrong_subject() -> None:
    settings = parse_settings(
        {
            "issuer": "https://login.example.com",
            "providers": {
                "wechat": {
                    "kind": "wechat",
                    "client_id": "wx0123456789abcdef",
                    "client_secret": "s",
                    "subject": "nickname",
                }
            },
        },
        environ={},
    )
    async with httpx.AsyncClient() as http:
        with pytest.raises(ConfigError) as caught:
            build_provider(settings.providers["wechat"], http, settings.issuer)
    assert str(caught.value) == 'providers.wechat.subject: must be "unionid" or "openid"'


async def test_wechat_docs_example_is_a_valid_configuration() -> None:
    example = re.search(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert example, "docs/providers/wechat.md has no TOML example"
    data = tomllib.loads(example.group(1))
    settings = parse_settings(
        {"issuer": "https://login.example.com", **data}, environ={"WECHAT_SECRET": "s3cret"}
    )
    config = settings.providers["wechat"]
    async with httpx.AsyncClient() as http:
        provider = build_provider(config, http, settings.issuer)
    assert isinstance(provider, WeChatProvider)
    assert provider.authorize_endpoint == "https://open.weixin.qq.com/connect/oauth2/authorize"
    assert provider.token_endpoint == "https://api.weixin.qq.com/sns/oauth2/access_token"
    assert provider.userinfo_endpoint == "https://api.weixin.qq.com/sns/userinfo"
    assert (config.timeout, config.connect_timeout) == (10.0, 3.0)


async def test_wechat_login_page_says_to_scan_with_wechat(relay_with: RelayFactory) -> None:
    relay = await wechat_relay(relay_with, FakeWeChat())
    started = await relay.start(provider="wechat")
    assert "Open <strong>WeChat</strong> on your phone and use its Scan." in started.page.text
    assert "camera" not in started.page.text
