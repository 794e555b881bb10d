"""`default_locale`, `ui_locales` at /authorize and in discovery, and what a login keeps."""

from __future__ import annotations

import pytest

from relay.errors import ConfigError
from relay.settings import parse_settings
from tests.flows import Relay
from tests.sessions.helpers import make_request

BASE = {"issuer": "https://login.example.com"}


def test_default_locale_is_english_unless_configured() -> None:
    assert parse_settings(BASE, environ={}).default_locale == "en"
    assert parse_settings({**BASE, "default_locale": "zh-CN"}, environ={}).default_locale == "zh-CN"
    assert parse_settings({**BASE, "default_locale": "zh_cn"}, environ={}).default_locale == "zh-CN"


def test_default_locale_from_the_environment() -> None:
    environ = {"RELAY_DEFAULT_LOCALE": "zh-CN"}
    assert parse_settings(BASE, environ=environ).default_locale == "zh-CN"


@pytest.mark.parametrize("value", ["fr", "zh", "zh-TW", ""])
def test_default_locale_must_be_a_language_of_the_pages(value: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_settings({**BASE, "default_locale": value}, environ={})
    assert refused.value.key == "default_locale"
    assert str(refused.value).endswith("one of en, zh-CN")


def test_default_locale_must_be_a_string() -> None:
    with pytest.raises(ConfigError, match="default_locale: must be a string"):
        parse_settings({**BASE, "default_locale": 1}, environ={})


async def test_discovery_lists_the_languages_of_the_pages(relay: Relay) -> None:
    config = (await relay.desktop.get("/.well-known/openid-configuration")).json()
    assert config["ui_locales_supported"] == ["en", "zh-CN"]


async def test_authorize_keeps_ui_locales_with_the_login_as_a_hint(relay: Relay) -> None:
    """OIDC Core §3.1.2.1: languages the relay does not speak, or malformed tags, are no error."""
    started = await relay.start(ui_locales="fr-CA  zh-Hant <x> en")
    session = await relay.core.sessions.get(started.session_id)
    assert session.request.ui_locales == "fr-CA zh-Hant en"
    plain = await relay.start(relay.browser())
    assert (await relay.core.sessions.get(plain.session_id)).request.ui_locales is None


async def test_authorize_refuses_ui_locales_given_twice(relay: Relay) -> None:
    response = await relay.desktop.get(
        "/authorize",
        params=[*relay.authorize_params().items(), ("ui_locales", "en"), ("ui_locales", "zh")],
    )
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith("https://rp.example/callback?error=invalid_request")


def test_authorization_request_record_keeps_ui_locales_and_skips_unknown_keys() -> None:
    request = make_request(ui_locales="zh-CN en")
    record = request.to_record()
    assert record["ui_locales"] == "zh-CN en"
    assert type(request).from_record(record) == request
    # A record written by a newer process, with a key this one does not know, still reads.
    assert type(request).from_record({**record, "later": 1}) == request
    old = {k: v for k, v in record.items() if k != "ui_locales"}  # written before this field
    assert type(request).from_record(old).ui_locales is None
