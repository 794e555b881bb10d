"""The pages in Chinese and English: a login's pages speak its `ui_locales`, then the browser's
Accept-Language, then `default_locale`; pages of no login speak the request's own; what goes back
to the relying party (error_description) stays English."""

# Chinese punctuation is full width: in these strings it is meant, not a look-alike of ASCII.
# ruff: noqa: RUF001

from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import Callable

import httpx

from relay.sessions import Status
from tests.flows import Relay, query_of

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}
EN = {"Accept-Language": "en-GB,en;q=0.9"}
NAMES = {"Example", "RP", "Sandbox", "UTC", "IP"}  # names and codes, the same in any language


def lang_of(page: httpx.Response) -> str:
    found = re.search(r'<html lang="([^"]+)">', page.text)
    assert found, page.text[:200]
    return found.group(1)


def visible_text(page: httpx.Response) -> str:
    """What a person reads: the page without its scripts and tags, entities decoded."""
    text = re.sub(r"<script\b.*?</script>", " ", page.text, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


def english_words(page: httpx.Response) -> set[str]:
    """Latin words in the visible text, beyond the names a page may show."""
    return set(re.findall(r"[A-Za-z]{2,}", visible_text(page))) - NAMES


def script_texts(page: httpx.Response) -> dict[str, object]:
    found = re.search(r'<main [^>]*id="login"[^>]* data-texts="([^"]*)"', page.text)
    assert found, "the login page hands its script no texts"
    texts: dict[str, object] = json.loads(html.unescape(found.group(1)))
    return texts


async def phone_page(relay: Relay, scan_url: str) -> httpx.Response:
    scanned = await relay.scan(scan_url)
    assert scanned.status_code == 303, scanned.text
    return await relay.phone.get(scanned.headers["location"])


async def test_pages_login_with_ui_locales_zh_cn_speaks_chinese_on_both_screens(
    relay: Relay,
) -> None:
    started = await relay.start(ui_locales="zh-CN")
    page = started.page
    assert lang_of(page) == "zh-CN" and page.headers["content-language"] == "zh-CN"
    assert "accept-language" in page.headers["vary"].lower()
    text = visible_text(page)
    for words in ("登录 Example RP", "使用 Sandbox 登录", "请使用手机扫码登录", "刷新二维码"):
        assert words in text, words
    assert "剩余时间：" in text and '<span id="countdown">' in page.text
    assert 'aria-label="使用 Sandbox 登录 Example RP 的二维码。请用手机相机扫描。"' in page.text
    assert english_words(page) == set(), english_words(page)
    session = await relay.core.sessions.get(started.session_id)
    assert session.request.ui_locales == "zh-CN"

    phone = await phone_page(relay, started.scan_url)  # the phone sends no Accept-Language
    assert lang_of(phone) == "zh-CN"
    text = visible_text(phone)
    for words in ("登录 Example RP？", "使用 Sandbox 继续", "这不是我", "发起时间", "未知浏览器"):
        assert words in text, words
    assert re.search(r"UTC \d\d:\d\d ?（刚刚）", text), text
    assert english_words(phone) == set(), english_words(phone)


async def test_pages_script_texts_are_json_data_in_the_page_language(relay: Relay) -> None:
    """static/login.js reads its texts from the page's data-texts (CSP: no inline script)."""
    chinese = await relay.start(ui_locales="zh-CN")
    texts = script_texts(chinese.page)
    status = texts["status"]
    assert isinstance(status, dict)
    assert set(status) == {s.value for s in Status}
    assert status["scanned"] == "已扫码，请在手机上确认"
    assert status["expired"] == "二维码已失效"
    assert texts["reasons"] == {
        "user_declined": "已在手机上拒绝登录。",
        "wrong_code": "手机上选择的数字与屏幕上显示的不一致。",
        "access_denied": "已在 Sandbox 拒绝登录。",
        "user_denied": "已在 Sandbox 拒绝登录。",
        "user_cancelled": "已在 Sandbox 拒绝登录。",
    }
    assert texts["failed"] == "Sandbox 未能完成登录（{reason}）。"
    assert texts["reconnecting"] == "正在重新连接…"
    for tag in re.findall(r"<script\b[^>]*>", chinese.page.text):
        assert 'src="/static/' in tag or 'type="application/json"' in tag, tag

    async with relay.browser() as other:
        english = await relay.start(other)
    assert script_texts(english.page)["failed"] == "Sandbox could not sign you in ({reason})."


async def test_pages_english_by_default(relay: Relay) -> None:
    started = await relay.start()
    assert lang_of(started.page) == "en" and started.page.headers["content-language"] == "en"
    assert "Sign in to Example RP" in started.page.text
    phone = await phone_page(relay, started.scan_url)
    assert lang_of(phone) == "en" and "This wasn't me" in phone.text


async def test_pages_accept_language_chooses_for_each_browser_without_ui_locales(
    relay: Relay,
) -> None:
    relay.desktop.headers.update(ZH)
    relay.phone.headers.update(EN)
    started = await relay.start()
    assert lang_of(started.page) == "zh-CN" and "请使用手机扫码登录" in started.page.text
    phone = await phone_page(relay, started.scan_url)
    assert lang_of(phone) == "en" and "Continue with Sandbox" in phone.text


async def test_pages_ui_locales_beats_accept_language_on_both_screens(relay: Relay) -> None:
    relay.desktop.headers.update(ZH)
    relay.phone.headers.update(ZH)
    started = await relay.start(ui_locales="fr en")
    assert lang_of(started.page) == "en"
    assert lang_of(await phone_page(relay, started.scan_url)) == "en"


async def test_pages_default_locale_is_the_last_choice(relay_from: Callable[..., Relay]) -> None:
    relay = relay_from(default_locale="zh-CN")
    started = await relay.start()
    assert lang_of(started.page) == "zh-CN"
    async with relay.browser() as english:
        english.headers.update(EN)
        assert lang_of((await relay.start(english)).page) == "en"
        assert lang_of(await english.get("/nowhere")) == "en"
    missing = await relay.desktop.get("/nowhere")
    assert missing.status_code == 404 and "页面不存在" in missing.text


async def test_pages_bad_client_error_page_in_chinese_with_the_error_in_english(
    relay: Relay,
) -> None:
    """No login yet: the request's own ui_locales (query or form), then Accept-Language. The
    OAuth error and its description are for the app's engineers: English."""
    page = await relay.authorize(client_id="nope", ui_locales="zh-CN")
    assert page.status_code == 400 and lang_of(page) == "zh-CN"
    assert "无法使用此登录请求" in page.text
    assert '<code>invalid_request</code>: unknown client_id "nope"' in html.unescape(page.text)

    posted = await relay.desktop.post(
        "/authorize",
        data=relay.authorize_params(redirect_uri="https://evil.example/cb", ui_locales="zh-CN"),
    )
    assert posted.status_code == 400 and lang_of(posted) == "zh-CN"

    async with relay.browser() as chinese:
        chinese.headers.update(ZH)
        page = await relay.authorize(chinese, client_id="nope")
    assert lang_of(page) == "zh-CN" and "登录请求被拒绝" in page.text
    english = await relay.authorize(client_id="nope")
    assert lang_of(english) == "en" and "This sign-in request cannot be used" in english.text


async def test_pages_expired_login_in_chinese_and_english_to_the_client(
    relay_from: Callable[..., Relay],
) -> None:
    relay = relay_from(session_ttl=1)
    started = await relay.start(ui_locales="zh-CN")
    await asyncio.sleep(1.1)
    page = await relay.desktop.get(f"/sessions/{started.session_id}")
    assert page.status_code == 200 and lang_of(page) == "zh-CN"
    assert "二维码已失效" in page.text
    assert re.search(r'id="refresh-form" >\s*<button[^>]*>刷新二维码', page.text), page.text

    stale = await relay.scan(started.scan_url)  # a phone that comes too late
    assert stale.status_code == 404 and lang_of(stale) == "zh-CN"
    assert "此二维码已失效" in stale.text

    back = await relay.resume(started.session_id)
    assert query_of(back.headers["location"])["error_description"] == "This code has expired"
    ended = await relay.desktop.post(f"/sessions/{started.session_id}/refresh")
    assert ended.status_code == 409 and "此次登录已结束" in ended.text


async def test_pages_refreshed_login_keeps_its_language(relay_from: Callable[..., Relay]) -> None:
    relay = relay_from(session_ttl=1)
    started = await relay.start(ui_locales="zh-CN")
    await asyncio.sleep(1.1)
    refreshed = await relay.desktop.post(f"/sessions/{started.session_id}/refresh")
    assert refreshed.status_code == 303
    page = await relay.desktop.get(refreshed.headers["location"])
    assert lang_of(page) == "zh-CN" and "请使用手机扫码登录" in page.text


async def test_pages_outcome_in_chinese_on_the_phone_and_english_to_the_client(
    relay: Relay,
) -> None:
    started = await relay.start(ui_locales="zh-CN")
    await relay.scan(started.scan_url)
    denied = await relay.at_sandbox(started.session_id, "deny")
    outcome = await relay.phone.get(denied.headers["location"])
    assert lang_of(outcome) == "zh-CN"
    assert "已拒绝登录" in outcome.text and "已在 Sandbox 拒绝登录。" in outcome.text
    back = await relay.resume(started.session_id)
    answer = query_of(back.headers["location"])
    assert answer["error_description"] == "The sign-in was declined at Sandbox."


async def test_pages_phone_refusal_speaks_the_language_of_the_login(relay: Relay) -> None:
    started = await relay.start(ui_locales="zh-CN")
    async with relay.browser() as stranger:
        refused = await stranger.get(f"/phone/{started.session_id}")
        foreign = await stranger.get(f"/sessions/{started.session_id}")
    assert refused.status_code == 404 and "这部手机上没有此次登录" in refused.text
    assert foreign.status_code == 403 and "此次登录属于另一个浏览器" in foreign.text


async def test_pages_no_login_pages_follow_the_request(relay: Relay) -> None:
    demo = await relay.desktop.get("/demo", params={"ui_locales": "zh-CN"})
    assert lang_of(demo) == "zh-CN" and "扫码登录" in demo.text
    assert '<input type="hidden" name="ui_locales" value="zh-CN">' in demo.text
    async with relay.browser() as chinese:
        chinese.headers.update(ZH)
        assert "演示应用" in (await chinese.get("/demo")).text
        callback = await chinese.get("/callback/sandbox", params={"state": "x" * 40, "code": "c"})
    assert callback.status_code == 400 and "此登录链接已过期或已使用" in callback.text
    assert lang_of(await relay.desktop.get("/demo")) == "en"


async def test_pages_demo_passes_its_language_on_to_the_relay(relay: Relay) -> None:
    """The demo app acts as a relying party would: its language goes to /authorize."""
    start = await relay.desktop.post("/demo/login", data={"ui_locales": "zh-CN"})
    assert start.status_code == 303
    assert query_of(start.headers["location"])["ui_locales"] == "zh-CN"
    authorize = await relay.desktop.get(start.headers["location"].removeprefix(relay.issuer))
    page = await relay.desktop.get(authorize.headers["location"])
    assert lang_of(page) == "zh-CN" and "登录 Demo app" in page.text


async def test_pages_sandbox_follows_the_phone_browser(relay: Relay) -> None:
    relay.phone.headers.update(ZH)
    started = await relay.start()
    await relay.scan(started.scan_url)
    going = await relay.continue_to_provider(started.session_id)
    sandbox = await relay.phone.get(going.headers["location"])
    assert lang_of(sandbox) == "zh-CN"
    assert "登录沙盒" in sandbox.text and 'value="沙盒用户"' in sandbox.text
