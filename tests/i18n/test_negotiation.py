"""Which language a page speaks: ui_locales, then Accept-Language, then the default."""

from __future__ import annotations

import pytest

from relay.i18n.negotiation import (
    accept_language_tags,
    clean_ui_locales,
    match,
    negotiate,
    supported_locale,
)


def test_negotiate_ui_locales_beats_accept_language_beats_default() -> None:
    assert negotiate("zh-CN", "en", "en") == "zh-CN"
    assert negotiate("en", "zh-CN", "zh-CN") == "en"
    assert negotiate(None, "zh-CN", "en") == "zh-CN"
    assert negotiate(None, None, "zh-CN") == "zh-CN"
    assert negotiate("", "", "en") == "en"


def test_negotiate_ui_locales_in_order_of_preference() -> None:
    assert negotiate("fr-CA fr zh-CN en", None) == "zh-CN"  # the first one spoken
    assert negotiate("de en zh", None) == "en"


def test_negotiate_unsupported_languages_fall_to_the_next_source() -> None:
    assert negotiate("fr de", "zh-CN,en;q=0.5", "en") == "zh-CN"
    assert negotiate("fr", "ja, ko", "zh-CN") == "zh-CN"  # nothing spoken: the default
    assert negotiate("not a tag!", "%%%, 12", "en") == "en"


def test_accept_language_q_values_order_the_tags() -> None:
    assert accept_language_tags("en;q=0.5, zh-CN;q=0.9, fr") == ["fr", "zh-CN", "en"]
    assert negotiate(None, "en;q=0.5, zh-CN;q=0.9, fr", "en") == "zh-CN"
    assert negotiate(None, "en-US,en;q=0.9,zh-CN;q=0.8", "zh-CN") == "en"
    # Equal weights keep the header's order.
    assert accept_language_tags("zh-CN;q=0.8, en;q=0.8") == ["zh-CN", "en"]


def test_accept_language_q_zero_and_malformed_entries_are_left_out() -> None:
    assert accept_language_tags("zh-CN;q=0, en") == ["en"]
    assert negotiate(None, "zh-CN;q=0, fr", "en") == "en"
    assert accept_language_tags("zh-CN;q=2, en;q=abc, ja;q=0.3") == ["ja"]
    assert accept_language_tags("en;q=1.000, de;q=0.001") == ["en", "de"]
    assert accept_language_tags(",,; ;q=1, <script>") == []


def test_accept_language_wildcard_means_the_default() -> None:
    assert negotiate(None, "fr, *;q=0.5", "zh-CN") == "zh-CN"
    assert negotiate(None, "fr, *;q=0.5, en;q=0.1", "zh-CN") == "zh-CN"


@pytest.mark.parametrize(
    "tag",
    ["zh", "zh-CN", "zh-cn", "zh_CN", "zh-SG", "zh-Hans", "zh-Hans-CN", "zh-Hans-HK", "zh-MY"],
)
def test_simplified_chinese_variants_are_zh_cn(tag: str) -> None:
    assert match(tag) == ("zh-CN", True)
    assert negotiate(tag, None, "en") == "zh-CN"
    assert negotiate(None, f"{tag}, en;q=0.9", "en") == "zh-CN"


@pytest.mark.parametrize("tag", ["zh-TW", "zh-HK", "zh-MO", "zh-Hant", "zh-Hant-TW"])
def test_traditional_chinese_yields_to_any_other_language_it_lists(tag: str) -> None:
    """A Traditional Chinese reader who also reads English gets English; one who lists nothing
    else we speak gets Simplified Chinese rather than the default."""
    assert match(tag) == ("zh-CN", False)
    assert negotiate(None, f"{tag}, en;q=0.5", "en") == "en"
    assert negotiate(f"{tag} en", None, "zh-CN") == "en"
    assert negotiate(None, f"{tag}, fr;q=0.5", "en") == "zh-CN"
    assert negotiate(tag, "en", "en") == "zh-CN"  # the relying party's choice comes first


@pytest.mark.parametrize("tag", ["en", "en-US", "en-GB", "EN", "en-Latn-US"])
def test_english_variants_are_en(tag: str) -> None:
    assert negotiate(tag, None, "zh-CN") == "en"


def test_supported_locale_spells_the_configured_default() -> None:
    assert supported_locale("en") == "en"
    assert supported_locale("zh-cn") == "zh-CN"
    assert supported_locale("zh_CN") == "zh-CN"
    assert supported_locale("zh") is None  # the setting names a locale exactly
    assert supported_locale("fr") is None


def test_clean_ui_locales_keeps_well_formed_tags_in_order() -> None:
    assert clean_ui_locales("zh-CN en") == "zh-CN en"
    assert clean_ui_locales("  fr   zh-Hans\ten ") == "fr zh-Hans en"
    assert clean_ui_locales("<b> zh-CN") == "zh-CN"
    assert clean_ui_locales("%%% ###") is None
    assert clean_ui_locales(None) is None
    assert clean_ui_locales(" ".join(["en"] * 50)) == " ".join(["en"] * 8)
