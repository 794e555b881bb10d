"""The configuration contract (shared/DESIGN.md, "Configuration"): the TOML file, RELAY_*
overrides, "env:" secrets, and errors that name the key."""

from __future__ import annotations

import base64
import re
import secrets
from pathlib import Path
from textwrap import dedent

import pytest

from relay.errors import ConfigError
from relay.settings import (
    DEFAULT_SIGNING_KEY,
    ClientConfig,
    LimitsConfig,
    ProviderConfig,
    Settings,
    demo_settings,
    load_settings,
    parse_settings,
)

FULL = """\
issuer = "https://login.example.com/"
store = "memory://"
session_ttl = 120
code_ttl = 30
access_token_ttl = 600
signing_key = "keys/relay.pem"

[clients.auth0]
secret = "env:AUTH0_RELAY_SECRET"
redirect_uris = ["https://tenant.auth0.com/login/callback", "https://rp.example/cb?x=1"]
providers = ["sandbox", "staging"]
display_name = "Example shop"

[clients.kiosk]
secret = "plain-kiosk-secret"
redirect_uris = ["http://127.0.0.1:9000/cb"]
providers = ["sandbox"]

[providers.sandbox]
kind = "sandbox"

[providers.staging]
kind = "sandbox"
display_name = "Staging sandbox"
client_id = "relay-staging"
client_secret = "env:STAGING_SECRET"
scope = "profile"
authorize_url = "https://staging.example/authorize"
token_url = "https://staging.example/token"
userinfo_url = "https://staging.example/userinfo"
"""

ENV = {"AUTH0_RELAY_SECRET": "auth0-secret-value", "STAGING_SECRET": "staging-secret-value"}

MINIMAL = """\
issuer = "https://login.example.com"

[clients.rp]
secret = "rp-secret"
redirect_uris = ["https://rp.example/callback"]
providers = ["sandbox"]

[providers.sandbox]
kind = "sandbox"
"""


def write(tmp_path: Path, text: str, name: str = "relay.toml") -> Path:
    path = tmp_path / name
    path.write_text(dedent(text), encoding="utf-8")
    return path


def load(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> Settings:
    return load_settings(write(tmp_path, text), environ=ENV if environ is None else environ)


def config_error(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text, environ)
    return caught.value


def replace_line(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


# a full, valid file


def test_settings_full_file_parses(tmp_path: Path) -> None:
    settings = load(tmp_path, FULL)

    assert settings.issuer == "https://login.example.com"
    assert settings.store == "memory://"
    assert (settings.session_ttl, settings.code_ttl, settings.access_token_ttl) == (120, 30, 600)
    assert settings.demo is False
    assert settings.secure_cookies is True
    assert settings.url("/token") == "https://login.example.com/token"

    assert set(settings.clients) == {"auth0", "kiosk"}
    assert settings.clients["auth0"] == ClientConfig(
        client_id="auth0",
        secret="auth0-secret-value",
        redirect_uris=("https://tenant.auth0.com/login/callback", "https://rp.example/cb?x=1"),
        providers=("sandbox", "staging"),
        display_name="Example shop",
    )
    kiosk = settings.clients["kiosk"]
    assert kiosk.secret == "plain-kiosk-secret"
    assert kiosk.display_name == "kiosk"  # defaults to the client id

    assert set(settings.providers) == {"sandbox", "staging"}
    sandbox = settings.providers["sandbox"]
    assert (sandbox.name, sandbox.kind, sandbox.display_name) == ("sandbox", "sandbox", "Sandbox")
    assert sandbox.client_id and sandbox.client_secret
    assert settings.providers["staging"] == ProviderConfig(
        name="staging",
        kind="sandbox",
        display_name="Staging sandbox",
        client_id="relay-staging",
        client_secret="staging-secret-value",
        scope="profile",
        authorize_url="https://staging.example/authorize",
        token_url="https://staging.example/token",
        userinfo_url="https://staging.example/userinfo",
    )


def test_settings_minimal_file_gets_the_defaults(tmp_path: Path) -> None:
    settings = load(tmp_path, MINIMAL, environ={})
    assert settings.store == "memory://"
    assert settings.session_ttl == 180
    assert settings.code_ttl == 60
    assert settings.access_token_ttl == 3600
    assert settings.signing_key == str(tmp_path.resolve() / DEFAULT_SIGNING_KEY)


def test_settings_issuer_trailing_slash_is_stripped(tmp_path: Path) -> None:
    text = replace_line(MINIMAL, '"https://login.example.com"', '"https://login.example.com/"')
    assert load(tmp_path, text).issuer == "https://login.example.com"


def test_settings_issuer_with_path_is_refused(tmp_path: Path) -> None:
    """The pages and their script build URLs from the origin's root."""
    text = replace_line(MINIMAL, '"https://login.example.com"', '"https://example.com/relay/"')
    error = config_error(tmp_path, text)
    assert error.key == "issuer"
    assert "bare origin" in str(error)


def test_settings_store_other_than_memory_is_refused(tmp_path: Path) -> None:
    text = 'store = "ftp://example.com"\n' + MINIMAL
    error = config_error(tmp_path, text)
    assert error.key == "store"
    assert "ftp://example.com" in str(error)


def test_settings_signing_key_from_the_environment(tmp_path: Path) -> None:
    pem = "-----BEGIN PRIVATE KEY-----\nMIIE...\n-----END PRIVATE KEY-----\n"
    text = 'signing_key = "env:RELAY_KEY_PEM"\n' + MINIMAL
    settings = load(tmp_path, text, {**ENV, "RELAY_KEY_PEM": pem})
    assert settings.signing_key is None
    assert settings.signing_key_pem == pem

    error = config_error(tmp_path, text, {**ENV, "RELAY_KEY_PEM": "not a key"})
    assert error.key == "signing_key"


def test_settings_http_issuer_does_not_use_secure_cookies(tmp_path: Path) -> None:
    text = replace_line(MINIMAL, '"https://login.example.com"', '"http://127.0.0.1:8000"')
    assert load(tmp_path, text).secure_cookies is False


# secrets and overrides


def test_settings_env_secret_resolves_from_the_given_environ(tmp_path: Path) -> None:
    text = replace_line(MINIMAL, '"rp-secret"', '"env:RP_SECRET"')
    settings = load(tmp_path, text, environ={"RP_SECRET": "from-the-environment"})
    assert settings.clients["rp"].secret == "from-the-environment"


def test_settings_missing_env_secret_names_the_key(tmp_path: Path) -> None:
    error = config_error(tmp_path, FULL, environ={"STAGING_SECRET": "x"})
    assert error.key == "clients.auth0.secret"
    assert "AUTH0_RELAY_SECRET" in str(error)
    assert str(error).startswith("clients.auth0.secret:")


def test_settings_empty_env_secret_names_the_key(tmp_path: Path) -> None:
    error = config_error(tmp_path, FULL, environ={**ENV, "AUTH0_RELAY_SECRET": ""})
    assert error.key == "clients.auth0.secret"


def test_settings_missing_provider_env_secret_names_the_key(tmp_path: Path) -> None:
    error = config_error(tmp_path, FULL, environ={"AUTH0_RELAY_SECRET": "x"})
    assert error.key == "providers.staging.client_secret"
    assert "STAGING_SECRET" in str(error)


def test_settings_client_without_secret_names_the_key(tmp_path: Path) -> None:
    text = replace_line(MINIMAL, 'secret = "rp-secret"\n', "")
    assert config_error(tmp_path, text).key == "clients.rp.secret"


def test_settings_relay_env_overrides_top_level_keys(tmp_path: Path) -> None:
    environ = {"RELAY_ISSUER": "https://other.example.org/", "RELAY_SESSION_TTL": "300"}
    settings = load(tmp_path, MINIMAL, environ=environ)
    assert settings.issuer == "https://other.example.org"
    assert settings.session_ttl == 300


def test_settings_relay_env_override_is_validated(tmp_path: Path) -> None:
    error = config_error(tmp_path, MINIMAL, environ={"RELAY_SESSION_TTL": "soon"})
    assert error.key == "session_ttl"
    error = config_error(tmp_path, MINIMAL, environ={"RELAY_ISSUER": "not a url"})
    assert error.key == "issuer"


def test_settings_relay_env_supplies_a_missing_issuer(tmp_path: Path) -> None:
    text = replace_line(MINIMAL, 'issuer = "https://login.example.com"\n', "")
    settings = load(tmp_path, text, environ={"RELAY_ISSUER": "https://env.example"})
    assert settings.issuer == "https://env.example"


# errors that name the key


def test_settings_missing_issuer_names_issuer(tmp_path: Path) -> None:
    text = replace_line(MINIMAL, 'issuer = "https://login.example.com"\n', "")
    error = config_error(tmp_path, text)
    assert error.key == "issuer"
    assert "required" in str(error)


@pytest.mark.parametrize(
    "issuer", ["login.example.com", "ftp://login.example.com", "https://", "/relative"]
)
def test_settings_non_url_issuer_names_issuer(tmp_path: Path, issuer: str) -> None:
    text = replace_line(MINIMAL, '"https://login.example.com"', f'"{issuer}"')
    error = config_error(tmp_path, text)
    assert error.key == "issuer"
    assert issuer in str(error)


def test_settings_issuer_with_query_or_fragment_names_issuer(tmp_path: Path) -> None:
    for issuer in ("https://login.example.com/?a=1", "https://login.example.com/#top"):
        text = replace_line(MINIMAL, '"https://login.example.com"', f'"{issuer}"')
        assert config_error(tmp_path, text).key == "issuer"


def test_settings_issuer_not_a_string_names_issuer(tmp_path: Path) -> None:
    text = replace_line(MINIMAL, '"https://login.example.com"', "42")
    assert config_error(tmp_path, text).key == "issuer"


def test_settings_unknown_top_level_key_is_named(tmp_path: Path) -> None:
    error = config_error(tmp_path, "sesion_ttl = 60\n" + MINIMAL)
    assert error.key == "sesion_ttl"
    assert "unknown key" in str(error)


def test_settings_unknown_client_key_is_named(tmp_path: Path) -> None:
    text = replace_line(MINIMAL, 'secret = "rp-secret"\n', 'secret = "s"\nredirect_uri = "x"\n')
    error = config_error(tmp_path, text)
    assert error.key == "clients.rp.redirect_uri"
    assert "unknown key" in str(error)


def test_settings_redirect_uris_not_a_list_is_named(tmp_path: Path) -> None:
    text = replace_line(
        MINIMAL,
        'redirect_uris = ["https://rp.example/callback"]',
        'redirect_uris = "https://rp.example/callback"',
    )
    error = config_error(tmp_path, text)
    assert error.key == "clients.rp.redirect_uris"
    assert "list" in str(error)


@pytest.mark.parametrize(
    "uri",
    ["/callback", "rp.example/callback", "https://rp.example/callback#frag", "javascript:alert(1)"],
)
def test_settings_bad_redirect_uri_is_named(tmp_path: Path, uri: str) -> None:
    text = replace_line(MINIMAL, '["https://rp.example/callback"]', f'["{uri}"]')
    error = config_error(tmp_path, text)
    assert error.key == "clients.rp.redirect_uris"
    assert uri in str(error)


def test_settings_redirect_uri_fragment_error_says_fragment(tmp_path: Path) -> None:
    text = replace_line(MINIMAL, '"https://rp.example/callback"', '"https://rp.example/cb#x"')
    assert "fragment" in str(config_error(tmp_path, text))


def test_settings_empty_redirect_uris_is_named(tmp_path: Path) -> None:
    text = replace_line(MINIMAL, '["https://rp.example/callback"]', "[]")
    assert config_error(tmp_path, text).key == "clients.rp.redirect_uris"


def test_settings_client_naming_unknown_provider_is_named(tmp_path: Path) -> None:
    text = replace_line(MINIMAL, 'providers = ["sandbox"]', 'providers = ["sandbox", "wechat"]')
    error = config_error(tmp_path, text)
    assert error.key == "clients.rp.providers"
    assert '"wechat"' in str(error)


def test_settings_client_without_providers_is_named(tmp_path: Path) -> None:
    text = replace_line(MINIMAL, 'providers = ["sandbox"]\n', "")
    assert config_error(tmp_path, text).key == "clients.rp.providers"


def test_settings_provider_without_kind_is_named(tmp_path: Path) -> None:
    text = replace_line(MINIMAL, 'kind = "sandbox"', 'display_name = "No kind"')
    error = config_error(tmp_path, text)
    assert error.key == "providers.sandbox.kind"
    assert "sandbox" in error.problem


@pytest.mark.parametrize("kind", ["myspace", "", "WeChat"])
def test_settings_provider_with_unknown_kind_is_named(tmp_path: Path, kind: str) -> None:
    text = replace_line(MINIMAL, 'kind = "sandbox"', f'kind = "{kind}"')
    error = config_error(tmp_path, text)
    assert error.key == "providers.sandbox.kind"
    assert "must be one of sandbox, wechat, tiktok, mixin, oauth2, oidc" in str(error)


@pytest.mark.parametrize("kind", ["wechat", "tiktok", "mixin", "oauth2", "oidc"])
def test_settings_real_provider_needs_its_client_id(tmp_path: Path, kind: str) -> None:
    text = replace_line(MINIMAL, 'kind = "sandbox"', f'kind = "{kind}"')
    error = config_error(tmp_path, text)
    assert error.key == "providers.sandbox.client_id"
    assert "is required" in str(error)


def test_settings_provider_bad_endpoint_url_is_named(tmp_path: Path) -> None:
    text = replace_line(MINIMAL, 'kind = "sandbox"', 'kind = "sandbox"\ntoken_url = "/token"')
    assert config_error(tmp_path, text).key == "providers.sandbox.token_url"


def test_settings_provider_not_a_table_is_named(tmp_path: Path) -> None:
    text = MINIMAL.replace('[providers.sandbox]\nkind = "sandbox"\n', "")
    text = text.replace('issuer = "https://login.example.com"\n', 'issuer = "https://a.b"\n')
    text = 'providers = { sandbox = "yes" }\n' + text
    assert config_error(tmp_path, text).key == "providers.sandbox"


@pytest.mark.parametrize("key", ["session_ttl", "code_ttl", "access_token_ttl"])
@pytest.mark.parametrize("value", ["-5", "0"])
def test_settings_non_positive_ttl_is_named(tmp_path: Path, key: str, value: str) -> None:
    error = config_error(tmp_path, f"{key} = {value}\n" + MINIMAL)
    assert error.key == key
    assert "positive" in str(error)


@pytest.mark.parametrize("value", ['"180"', "1.5", "true"])
def test_settings_non_integer_session_ttl_is_named(tmp_path: Path, value: str) -> None:
    error = config_error(tmp_path, f"session_ttl = {value}\n" + MINIMAL)
    assert error.key == "session_ttl"
    assert "integer" in str(error)


def test_settings_invalid_toml_is_reported(tmp_path: Path) -> None:
    error = config_error(tmp_path, 'issuer = "https://login.example.com\n[clients\n')
    assert "not valid TOML" in str(error)
    assert "relay.toml" in str(error)


def test_settings_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / "nowhere.toml", environ={})
    assert "not found" in str(caught.value)
    assert "nowhere.toml" in str(caught.value)


# the signing key path


def test_settings_relative_signing_key_resolves_against_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "etc" / "relay"
    folder.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    path = write(folder, FULL)
    settings = load_settings(path, environ=ENV)
    assert settings.signing_key == str(folder.resolve() / "keys" / "relay.pem")


def test_settings_absolute_signing_key_is_kept(tmp_path: Path) -> None:
    key = tmp_path / "abs" / "key.pem"
    text = replace_line(FULL, '"keys/relay.pem"', f'"{key.as_posix()}"')
    assert load(tmp_path, text).signing_key == str(key)


# the embedded default


def test_demo_settings_has_the_demo_client_and_the_sandbox() -> None:
    settings = demo_settings()
    assert settings.demo is True
    assert settings.issuer == "http://127.0.0.1:8000"
    assert settings.store == "memory://"
    assert settings.signing_key is None  # an ephemeral key
    demo = settings.clients["demo"]
    assert demo.redirect_uris == (settings.issuer + "/demo/callback",)
    assert demo.providers == ("sandbox",)
    assert len(demo.secret) >= 22
    assert settings.providers["sandbox"].kind == "sandbox"


def test_demo_settings_follows_host_and_port() -> None:
    settings = demo_settings("localhost", 9123)
    assert settings.issuer == "http://localhost:9123"
    assert settings.clients["demo"].redirect_uris == ("http://localhost:9123/demo/callback",)


@pytest.mark.parametrize(
    ("host", "issuer"),
    [
        ("0.0.0.0", "http://127.0.0.1:8000"),
        ("::", "http://127.0.0.1:8000"),
        ("::1", "http://[::1]:8000"),
    ],
)
def test_demo_settings_issuer_is_a_reachable_url(host: str, issuer: str) -> None:
    assert demo_settings(host).issuer == issuer


def test_demo_settings_secrets_are_fresh_each_time() -> None:
    first, second = demo_settings(), demo_settings()
    assert first.clients["demo"].secret != second.clients["demo"].secret
    assert first.providers["sandbox"].client_secret != second.providers["sandbox"].client_secret


def test_settings_unknown_provider_key_is_refused(tmp_path: Path) -> None:
    text = MINIMAL + 'client_secert = "typo"\n'
    error = config_error(tmp_path, text)
    assert error.key == "providers.sandbox.client_secert"
    assert 'unknown key for kind "sandbox"' in str(error)


def test_settings_demo_with_a_public_issuer_for_real_phones() -> None:
    settings = demo_settings("0.0.0.0", 8000, issuer="http://192.168.1.20:8000/")
    assert settings.issuer == "http://192.168.1.20:8000"
    assert settings.clients["demo"].redirect_uris == ("http://192.168.1.20:8000/demo/callback",)


def test_settings_provider_timeouts(tmp_path: Path) -> None:
    text = MINIMAL + "timeout = 4.5\nconnect_timeout = 1\n"
    provider = load(tmp_path, text).providers["sandbox"]
    assert (provider.timeout, provider.connect_timeout) == (4.5, 1.0)
    assert load(tmp_path, MINIMAL).providers["sandbox"].timeout == 10.0  # the default
    for bad in ("timeout = 0", "timeout = -1", 'timeout = "10"', "connect_timeout = true"):
        error = config_error(tmp_path, MINIMAL + bad + "\n")
        assert error.key == f"providers.sandbox.{bad.split(' ')[0]}"


@pytest.mark.parametrize("name", ["WeChat", "we chat", "x" * 33, "-lead", "a/b"])
def test_settings_provider_name_must_fit_urls_and_subs(tmp_path: Path, name: str) -> None:
    text = MINIMAL.replace("[providers.sandbox]", f'[providers."{name}"]')
    text = text.replace('providers = ["sandbox"]', f'providers = ["{name}"]')
    error = config_error(tmp_path, text)
    assert error.key == f"providers.{name}"
    assert "lowercase letters, digits" in str(error)


def test_settings_public_oauth2_client_needs_no_secret(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        'kind = "sandbox"\n',
        'kind = "oauth2"\nclient_id = "public-app"\ntoken_auth = "none"\n'
        'authorize_url = "https://idp.example/authorize"\ntoken_url = "https://idp.example/token"\n',
    )
    provider = load(tmp_path, text).providers["sandbox"]
    assert provider.client_secret == ""
    assert provider.options == {"token_auth": "none"}


# [encryption]: the keys that seal identities in the store (relay/store/sealed.py)


def data_key() -> str:
    return secrets.token_urlsafe(32)  # what the README says to run


ENCRYPTION = """
[encryption]
current = "2026-11"
keys = { "2026-11" = "env:RELAY_DATA_KEY_2026_11", "2026-05" = "env:RELAY_DATA_KEY_2026_05" }
"""


def test_settings_encryption_keys_from_the_environment(tmp_path: Path) -> None:
    new, old = data_key(), data_key()
    environ = {"RELAY_DATA_KEY_2026_11": new, "RELAY_DATA_KEY_2026_05": old}
    encryption = load(tmp_path, MINIMAL + ENCRYPTION, environ).encryption
    assert encryption is not None
    assert encryption.current == "2026-11"
    assert encryption.keys == {
        "2026-11": base64.urlsafe_b64decode(new + "="),
        "2026-05": base64.urlsafe_b64decode(old + "="),
    }
    assert new not in repr(encryption) and "keys" not in repr(encryption)


def test_settings_encryption_is_optional(tmp_path: Path) -> None:
    assert load(tmp_path, MINIMAL).encryption is None


def test_settings_readme_encryption_example_is_accepted(tmp_path: Path) -> None:
    """The README's [encryption] example (fenced without `toml`: tests/test_docs.py fills "env:"
    names with placeholders that are not keys) works once its variables hold real keys."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    (block,) = re.findall(r"```\n(\[encryption\]\n.*?)```", readme, flags=re.S)
    names = re.findall(r'"env:([A-Z0-9_]+)"', block)
    assert len(names) == 2
    encryption = load(tmp_path, MINIMAL + block, {n: data_key() for n in names}).encryption
    assert encryption is not None and encryption.current in encryption.keys


@pytest.mark.parametrize(
    ("table", "key", "problem"),
    [
        ('current = "a"\nkeys = { a = "KEY" }\nrotate = 3', "encryption.rotate", "unknown key"),
        ('current = "a"', "encryption.keys", "needs at least one key"),
        ('current = "a"\nkeys = {}', "encryption.keys", "needs at least one key"),
        ('keys = { a = "KEY" }', "encryption.current", "is required"),
        ('current = "b"\nkeys = { a = "KEY" }', "encryption.current", "names no key"),
        ('current = "a b"\nkeys = { "a b" = "KEY" }', "encryption.keys", "1 to 32 of"),
        (f'current = "{"k" * 33}"\nkeys = {{ {"k" * 33} = "KEY" }}', "encryption.keys", "1 to 32"),
        ('current = "a"\nkeys = { a = "SHORT" }', "encryption.keys.a", "32 random bytes"),
        ('current = "a"\nkeys = { a = "LONG" }', "encryption.keys.a", "32 random bytes"),
        ('current = "a"\nkeys = { a = "NOT64" }', "encryption.keys.a", "32 random bytes"),
        ('current = "a"\nkeys = { a = "env:UNSET_DATA_KEY" }', "encryption.keys.a", "not set"),
        ('current = "a"\nkeys = { a = 7 }', "encryption.keys.a", "non-empty string"),
    ],
)
def test_settings_encryption_errors_name_the_key_and_never_quote_it(
    tmp_path: Path, table: str, key: str, problem: str
) -> None:
    good = data_key()
    values = {
        "KEY": good,
        "SHORT": data_key()[:40],  # 30 bytes
        "LONG": data_key() + "AAAA",  # 35 bytes
        "NOT64": good[:-1] + "+",  # standard base64, not base64url
    }
    for placeholder, value in values.items():
        table = table.replace(f'"{placeholder}"', f'"{value}"')
    error = config_error(tmp_path, MINIMAL + "\n[encryption]\n" + table + "\n")
    assert error.key == key
    assert problem in str(error)
    for value in values.values():
        assert value not in str(error)


def test_settings_encryption_key_may_be_padded(tmp_path: Path) -> None:
    raw = secrets.token_bytes(32)
    padded = base64.urlsafe_b64encode(raw).decode()  # 44 characters, ending in "="
    text = MINIMAL + f'\n[encryption]\ncurrent = "k1"\nkeys = {{ k1 = "{padded}" }}\n'
    encryption = load(tmp_path, text).encryption
    assert encryption is not None and encryption.keys == {"k1": raw}


# --- [limits] ----------------------------------------------------------------------------------


def test_settings_limits_defaults_are_the_documented_ones(tmp_path: Path) -> None:
    """On by default, with the allowances README's Configuration section gives."""
    documented = LimitsConfig(
        authorize="60/minute",
        scan="60/minute",
        token="120/minute",
        token_per_client="1200/minute",
        live="120/minute",
        waiting_per_ip=50,
        max_query=4096,
        max_body=65536,
    )
    assert load(tmp_path, MINIMAL).limits == documented
    assert LimitsConfig() == documented
    assert demo_settings().limits == documented
    assert Settings(issuer="https://login.example.com").limits == documented


def test_settings_limits_table_is_read(tmp_path: Path) -> None:
    text = MINIMAL + dedent(
        """
        [limits]
        authorize = "10 per second"
        scan = "off"
        token = "30/minute"
        token_per_client = "5/second"
        live = "OFF"
        waiting_per_ip = 0
        max_query = 2048
        max_body = 16384
        """
    )
    limits = load(tmp_path, text).limits
    assert limits.max_query == 2048 and limits.max_body == 16384 and limits.waiting_per_ip == 0
    authorize = limits.rate("authorize")
    assert authorize is not None and (authorize.amount, authorize.get_expiry()) == (10, 1)
    assert limits.rate("scan") is None and limits.rate("live") is None


@pytest.mark.parametrize(
    ("line", "key", "problem"),
    [
        ('authorize = "lots"', "limits.authorize", "is not a rate"),
        ('scan = "1/second;10/minute"', "limits.scan", "one rate"),
        ('token = "0/minute"', "limits.token", "at least one request"),
        ("live = 60", "limits.live", "must be a string"),
        ("waiting_per_ip = -1", "limits.waiting_per_ip", "whole number of logins"),
        ("waiting_per_ip = true", "limits.waiting_per_ip", "whole number of logins"),
        ("max_query = 100", "limits.max_query", "at least 1024"),
        ('max_body = "64k"', "limits.max_body", "whole number of bytes"),
        ("authorise = 1", "limits.authorise", "unknown key"),
    ],
)
def test_settings_limits_errors_name_the_key(
    tmp_path: Path, line: str, key: str, problem: str
) -> None:
    error = config_error(tmp_path, MINIMAL + "\n[limits]\n" + line + "\n")
    assert error.key == key
    assert problem in str(error)


def test_settings_limits_must_be_a_table(tmp_path: Path) -> None:
    text = 'limits = "off"\n' + MINIMAL
    assert config_error(tmp_path, text).key == "limits"


def test_issuer_is_one_spelling_of_its_origin() -> None:
    """HTTPS://Login.Example.COM is https: its cookies are Secure and __Host- like any other."""
    settings = parse_settings({"issuer": "HTTPS://Login.Example.COM/"}, environ={})
    assert settings.issuer == "https://login.example.com"
    assert settings.secure_cookies
    with pytest.raises(ConfigError, match="bare origin"):
        parse_settings({"issuer": "https://user:pw@login.example.com"}, environ={})


@pytest.mark.parametrize("written", ["inline", "env"])
def test_settings_kiosk_key_shorter_than_128_bits_is_refused(tmp_path: Path, written: str) -> None:
    """Whoever guesses the kiosk_key opens the kiosk page: fewer than 22 characters (128 bits as
    secrets.token_urlsafe writes them) is an error that names the key, never its value."""

    def kiosk_with(key: str) -> Settings:
        value = key if written == "inline" else "env:LOBBY_KEY"
        line = f'providers = ["sandbox"]\nkiosk = true\nkiosk_key = "{value}"\n'
        text = replace_line(MINIMAL, 'providers = ["sandbox"]\n', line)
        return load(tmp_path, text, environ={"LOBBY_KEY": key})

    short = secrets.token_urlsafe(32)[:21]
    with pytest.raises(ConfigError) as caught:
        kiosk_with(short)
    assert caught.value.key == "clients.rp.kiosk_key"
    assert "at least 22 characters" in str(caught.value) and "token_urlsafe" in str(caught.value)
    assert short not in str(caught.value)

    long_enough = secrets.token_urlsafe(16)  # 16 bytes: exactly 22 characters
    assert kiosk_with(long_enough).clients["rp"].kiosk_key == long_enough
