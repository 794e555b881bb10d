"""Text marked in Python, translated where it is shown; the words around a login's outcome and
the desktop's description, in both languages."""

# Chinese punctuation is full width: in these strings it is meant, not a look-alike of ASCII.
# ruff: noqa: RUF001

from __future__ import annotations

import pytest

from relay.crossdevice import Place, agent_text, describe_agent
from relay.i18n import Text, _, language
from relay.pages.outcomes import (
    DECLINED_ON_PHONE,
    could_not_sign_in,
    could_not_start,
    declined_at,
    told,
)

ZH = language("zh-CN")
EN = language("en")
CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def test_text_translates_with_named_placeholders_moved() -> None:
    text = _("Sign in to %(client)s?", client="Example RP")
    assert text.english() == "Sign in to Example RP?"
    assert text.translate(ZH) == "登录 Example RP？"
    moved = _("%(browser)s on %(system)s", browser="Chrome 131", system="Windows 10")
    assert moved.translate(ZH) == "Windows 10 上的 Chrome 131"


def test_text_placeholders_may_be_texts_themselves() -> None:
    text = _("%(detail)s Scan the QR code again.", detail=_("Unknown provider"))
    assert text.translate(ZH) == "未知的登录方式请重新扫描二维码。"
    assert text.english() == "Unknown provider Scan the QR code again."


def test_text_without_placeholders_is_not_formatted() -> None:
    assert Text("100% sure").english() == "100% sure"  # not a msgid: the words as given
    assert Text("Cancel").translate(ZH) == "取消"


@pytest.mark.parametrize(
    "made",
    [
        DECLINED_ON_PHONE,
        declined_at("Acme ID"),
        could_not_sign_in("WeChat", "invalid_code: errcode 40029 (invalid code). Try again"),
        could_not_start("Forge", "discovery_failed: the provider's (discovery) answer"),
    ],
)
def test_told_reads_a_session_message_back_into_its_text(made: Text) -> None:
    """The session keeps English (for the client's error_description); the phone shows the same
    in its reader's language, with the provider's name and words in their places."""
    back = told(made.english())
    assert back == made
    assert back.translate(EN) == made.english()
    assert back.translate(ZH) == made.translate(ZH) != made.english()


def test_told_keeps_the_provider_words_in_chinese() -> None:
    message = could_not_sign_in("WeChat", "invalid_code: errcode 40029").english()
    back = told(message)
    assert back is not None
    assert back.translate(ZH) == "WeChat 未能完成登录（invalid_code: errcode 40029）。"


def test_told_knows_nothing_of_other_messages() -> None:
    assert told(None) is None
    assert told("Too many sign-ins were started from this address.") is None
    assert told("WeChat could not sign you in") is None  # not the whole pattern


def test_agent_text_names_browser_and_system_in_each_language() -> None:
    described = agent_text(CHROME_WINDOWS)
    assert isinstance(described, Text)
    assert described.translate(ZH) == "Windows 10 上的 Chrome 131"
    assert describe_agent(CHROME_WINDOWS) == "Chrome 131 on Windows 10"
    assert agent_text(None) is None


def test_place_uses_the_database_names_of_the_language() -> None:
    place = Place(
        city={"en": "Hangzhou", "zh-CN": "杭州"}, country={"en": "China", "zh-CN": "中国"}
    )
    assert place.localize(EN) == "Hangzhou, China"
    assert place.localize(ZH) == "中国杭州"
    english_only = Place(city={"en": "Lyon"}, country={"en": "France", "zh-CN": "法国"})
    assert english_only.localize(ZH) == "法国Lyon"
    assert Place(country={"en": "Germany"}).localize(ZH) == "Germany"
