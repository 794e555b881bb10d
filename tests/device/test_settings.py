"""The device grant's configuration: `kiosk` per client, `device_code_ttl` and
`device_poll_interval` at the top, `[limits] user_code`; errors name the key."""

from __future__ import annotations

from typing import Any

import pytest

from relay.errors import ConfigError
from relay.settings import parse_settings

BASE: dict[str, Any] = {
    "issuer": "https://login.example.com",
    "providers": {"sandbox": {"kind": "sandbox"}},
    "clients": {
        "lobby": {
            "secret": "lobby-secret",
            "redirect_uris": ["https://lobby.example/cb"],
            "providers": ["sandbox"],
            "kiosk": True,
        },
        "web": {
            "secret": "web-secret",
            "redirect_uris": ["https://web.example/cb"],
            "providers": ["sandbox"],
        },
    },
}


def settings_with(**top: Any) -> Any:
    return parse_settings({**BASE, **top}, environ={})


def test_device_settings_defaults() -> None:
    settings = settings_with()
    assert settings.clients["lobby"].kiosk is True
    assert settings.clients["web"].kiosk is False
    assert settings.device_code_ttl == 600 and settings.device_poll_interval == 5
    assert settings.limits.user_code == "30/minute"


def test_device_settings_read_and_overridden_by_the_environment() -> None:
    settings = settings_with(device_code_ttl=300, device_poll_interval=3)
    assert settings.device_code_ttl == 300 and settings.device_poll_interval == 3
    overridden = parse_settings(BASE, environ={"RELAY_DEVICE_CODE_TTL": "900"})
    assert overridden.device_code_ttl == 900
    limits = settings_with(limits={"user_code": "10/hour"}).limits
    assert limits.rate("user_code") is not None
    assert settings_with(limits={"user_code": "off"}).limits.rate("user_code") is None


@pytest.mark.parametrize(
    ("top", "key", "problem"),
    [
        ({"device_code_ttl": 59}, "device_code_ttl", "at least 60"),
        ({"device_code_ttl": "600"}, "device_code_ttl", "an integer"),
        ({"device_poll_interval": 0}, "device_poll_interval", "positive"),
        ({"device_poll_interval": 600}, "device_poll_interval", "below device_code_ttl"),
        ({"limits": {"user_code": "lots"}}, "limits.user_code", "not a rate"),
    ],
)
def test_device_settings_errors_name_the_key(top: dict[str, Any], key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_with(**top)
    assert caught.value.key == key and problem in caught.value.problem


def test_device_settings_kiosk_must_be_a_boolean() -> None:
    clients = {**BASE["clients"], "lobby": {**BASE["clients"]["lobby"], "kiosk": "yes"}}
    with pytest.raises(ConfigError) as caught:
        settings_with(clients=clients)
    assert caught.value.key == "clients.lobby.kiosk"
