"""The signing key: generated once with a warning, shared by processes, or read from PEM."""

from __future__ import annotations

import logging
import stat
from dataclasses import replace
from pathlib import Path

import pytest
from joserfc.jwk import RSAKey

from relay.core import signing_key
from relay.errors import ConfigError
from relay.oidc.keys import SigningKey
from relay.settings import Settings


def test_keys_generated_once_with_a_loud_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "key.pem"
    with caplog.at_level(logging.WARNING):
        first = SigningKey.load_or_create(path)
    assert "GENERATED A NEW SIGNING KEY" in caplog.text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert SigningKey.load_or_create(path).kid == first.kid
    assert [p.name for p in tmp_path.iterdir()] == ["key.pem"]  # no temporary left behind


def test_keys_a_process_that_loses_the_race_uses_the_winners_key(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    winner = RSAKey.generate_key(2048, private=True)
    path.write_bytes(winner.as_pem(private=True))
    assert SigningKey.load_or_create(path).kid == winner.thumbprint()


def test_keys_from_the_environment_pem(settings: Settings) -> None:
    key = RSAKey.generate_key(2048, private=True)
    loaded = signing_key(replace(settings, signing_key_pem=key.as_pem(private=True).decode()))
    assert loaded.kid == key.thumbprint()
    assert "d" not in loaded.jwks()["keys"][0]


def test_keys_unusable_pem_is_a_config_error(settings: Settings, tmp_path: Path) -> None:
    public = RSAKey.generate_key(2048, private=True).as_pem(private=False).decode()
    with pytest.raises(ConfigError) as caught:
        signing_key(replace(settings, signing_key_pem=public))
    assert caught.value.key == "signing_key"
    broken = tmp_path / "broken.pem"
    broken.write_text("not a key")
    with pytest.raises(ConfigError):
        signing_key(replace(settings, signing_key=str(broken)))
