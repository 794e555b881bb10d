"""qr-relay serve | demo | check-config, run as a user runs them."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from relay.cli import insecure_issuer, main, parser, warnings_for
from relay.settings import parse_settings


@pytest.fixture(autouse=True)
def logging_as_it_was() -> Iterator[None]:
    """main() configures logging as `qr-relay` does (quiet httpx, a root handler); put it back so
    that later tests capture log records as they expect, whatever order the tests run in."""
    root = logging.getLogger()
    quiet = ("httpx", "httpcore")
    saved = (root.level, list(root.handlers), {n: logging.getLogger(n).level for n in quiet})
    yield
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(folder: Path, port: int, extra: str = "", *, issuer: str | None = None) -> Path:
    path = folder / "relay.toml"
    path.write_text(
        f'issuer = "{issuer or f"http://127.0.0.1:{port}"}"\n'
        f"{extra}\n"
        "[clients.auth0]\n"
        'secret = "env:TEST_RELAY_SECRET"\n'
        'redirect_uris = ["https://tenant.auth0.com/login/callback"]\n'
        'providers = ["sandbox"]\n'
        "[providers.sandbox]\n"
        'kind = "sandbox"\n'
    )
    return path


class Run:
    log = ""  # everything the process printed, once it has stopped


@contextmanager
def running(args: list[str], env: dict[str, str], port: int) -> Iterator[Run]:
    run = Run()
    process = subprocess.Popen(
        [sys.executable, "-m", "relay", *args],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for _ in range(200):  # up to 10 s to start
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
            if process.poll() is not None:
                break
        else:
            raise AssertionError("the relay did not start")
        yield run
    finally:
        process.send_signal(signal.SIGTERM)
        run.log, _ = process.communicate(timeout=10)


def test_cli_check_config_prints_clients_providers_and_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_RELAY_SECRET", "s3cret-value")
    config = write_config(tmp_path, 8000)
    assert main(["check-config", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "client   auth0: providers sandbox" in out
    assert "redirect_uri https://tenant.auth0.com/login/callback" in out
    assert 'provider sandbox: kind sandbox, "Sandbox"' in out
    assert "callback http://127.0.0.1:8000/callback/sandbox" in out
    assert "warning: store is memory://" in out
    assert "does not exist: it will be generated" in out
    assert "sandbox provider sandbox is configured" in out
    assert "refusal" not in out  # an issuer on this machine
    assert "s3cret-value" not in out


def test_cli_without_config_says_how_to_give_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RELAY_CONFIG", raising=False)
    assert main(["check-config"]) == 2
    assert "pass --config FILE or set RELAY_CONFIG" in capsys.readouterr().err


def test_cli_wrong_config_names_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEST_RELAY_SECRET", raising=False)
    config = write_config(tmp_path, 8000)
    assert main(["check-config", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "clients.auth0.secret" in err and "TEST_RELAY_SECRET is not set" in err


def test_cli_serve_generates_a_signing_key_once_and_keeps_it(tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path, port)
    env = {"RELAY_CONFIG": str(config), "TEST_RELAY_SECRET": "s3cret-value"}
    with running(["serve", "--port", str(port)], env, port) as process:
        jwks = httpx.get(f"http://127.0.0.1:{port}/jwks.json").json()
        discovery = httpx.get(f"http://127.0.0.1:{port}/.well-known/openid-configuration")
        assert discovery.json()["issuer"] == f"http://127.0.0.1:{port}"
    log = process.log
    assert "GENERATED A NEW SIGNING KEY" in log
    assert "store is memory://" in log
    key = tmp_path / "relay-signing-key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600

    with running(["serve", "--port", str(port)], env, port) as process:
        again = httpx.get(f"http://127.0.0.1:{port}/jwks.json").json()
    assert again["keys"][0]["kid"] == jwks["keys"][0]["kid"]
    assert "GENERATED" not in process.log
    assert "s3cret-value" not in log


def test_cli_serve_logs_json_lines_with_request_ids(tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path, port)
    env = {"RELAY_CONFIG": str(config), "TEST_RELAY_SECRET": "s3cret-value"}
    with running(["serve", "--port", str(port)], env, port) as process:
        httpx.get(f"http://127.0.0.1:{port}/jwks.json", headers={"X-Request-ID": "probe-1234"})
    lines = [json.loads(line) for line in process.log.splitlines() if line.strip()]
    assert {"time", "level", "logger", "message"} <= set(lines[0])
    [access] = [line for line in lines if line.get("request_id") == "probe-1234"]
    assert access["logger"] == "relay.access"
    assert access["http"]["path"] == "/jwks.json" and access["http"]["status"] == 200
    assert any("store is memory://" in line["message"] for line in lines)


def test_cli_log_format_json_for_serve_text_for_the_demo() -> None:
    assert parser().parse_args(["serve"]).log_format == "json"
    assert parser().parse_args(["check-config"]).log_format == "json"
    assert parser().parse_args(["demo"]).log_format == "text"
    assert parser().parse_args(["serve", "--log-format", "text"]).log_format == "text"
    assert parser().parse_args(["demo", "--log-format", "json"]).log_format == "json"
    with pytest.raises(SystemExit):
        parser().parse_args(["serve", "--log-format", "xml"])


def test_cli_demo_serves_the_demo_where_it_says(tmp_path: Path) -> None:
    port = free_port()
    with running(["demo", "--port", str(port)], {}, port) as process:
        page = httpx.get(f"http://127.0.0.1:{port}/demo")
        assert page.status_code == 200
        assert "Sign in with a QR code" in page.text
    out = process.log
    assert f"Open http://127.0.0.1:{port}/demo" in out


def test_cli_check_config_names_a_wrong_provider_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_RELAY_SECRET", "s3cret-value")
    config = write_config(tmp_path, 8000)
    config.write_text(
        config.read_text() + "\n[providers.gitea]\n"
        'kind = "oauth2"\n'
        'client_id = "relay"\n'
        'client_secret = "env:TEST_RELAY_SECRET"\n'
        'authorize_url = "https://git.example/login/oauth/authorize"\n'
        'token_url = "https://git.example/login/oauth/access_token"\n'
        'token_auth = "magic"\n'
    )
    assert main(["check-config", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "providers.gitea.token_auth" in err


def test_cli_check_config_accepts_every_kind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_RELAY_SECRET", "s3cret-value")
    config = write_config(tmp_path, 8000)
    config.write_text(
        config.read_text()
        + '\n[providers.wechat]\nkind = "wechat"\nclient_id = "wx0123456789abcdef"\n'
        'client_secret = "env:TEST_RELAY_SECRET"\n'
        '\n[providers.tiktok]\nkind = "tiktok"\nclient_id = "awkey123"\n'
        'client_secret = "env:TEST_RELAY_SECRET"\n'
        '\n[providers.mixin]\nkind = "mixin"\nclient_id = "9f1b5c3e-8d2a-4c6b-a1e0-5b7d3f2c9e84"\n'
        'client_secret = "env:TEST_RELAY_SECRET"\n'
        '\n[providers.okta]\nkind = "oidc"\nclient_id = "relay"\n'
        'client_secret = "env:TEST_RELAY_SECRET"\nissuer = "https://id.example.com"\n'
    )
    assert main(["check-config", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    for name, kind in (("wechat", "wechat"), ("tiktok", "tiktok"), ("mixin", "mixin")):
        assert f"provider {name}: kind {kind}" in out
    assert "provider okta: kind oidc" in out
    # Mixin takes no redirect_uri: this is the OAuth URL its dashboard must hold.
    assert "callback http://127.0.0.1:8000/callback/mixin" in out


FORGE = (
    '\n[providers.forge]\nkind = "oauth2"\nclient_id = "relay"\n'
    'client_secret = "env:TEST_RELAY_SECRET"\n'
)


def warnings_printed(out: str) -> list[str]:
    return [
        line.removeprefix("warning: ") for line in out.splitlines() if line.startswith("warning:")
    ]


def test_cli_check_config_warns_of_plain_http_provider_urls_on_public_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_RELAY_SECRET", "s3cret-value")
    config = write_config(tmp_path, 8000)
    config.write_text(
        config.read_text()
        + FORGE
        + 'authorize_url = "http://git.example/login/oauth/authorize?tenant=a"\n'
        'token_url = "http://git.example/login/oauth/access_token"\n'
        'userinfo_url = "http://git.example/api/user"\n'
        + FORGE.replace("forge", "local")
        + 'authorize_url = "http://localhost:3000/authorize"\n'
        'token_url = "http://127.0.0.1:3000/token"\n'
        'userinfo_url = "http://[::1]:3000/user"\n'
    )
    assert main(["check-config", "--config", str(config)]) == 0
    found = [w for w in warnings_printed(capsys.readouterr().out) if "providers." in w]
    assert found == [
        "providers.forge.authorize_url http://git.example/login/oauth/authorize is plain http on "
        "a public name: the code the provider sends back would travel in clear; use https",
        "providers.forge.token_url http://git.example/login/oauth/access_token is plain http on "
        "a public name: the client secret, the code and the tokens would travel in clear; use "
        "https",
        "providers.forge.userinfo_url http://git.example/api/user is plain http on a public "
        "name: the access token and the profile would travel in clear; use https",
    ]  # nothing for the provider on this machine


def test_cli_warns_of_a_plain_http_oidc_issuer_on_a_public_name() -> None:
    settings = parse_settings(
        {
            "issuer": "https://login.example.com",
            "providers": {
                name: {"kind": "oidc", "client_id": "c", "client_secret": "s", "issuer": issuer}
                for name, issuer in (
                    ("far", "http://id.example.com"),
                    ("near", "http://localhost:9000/realms/x"),
                    ("safe", "https://id.example.com"),
                )
            },
        },
        environ={},
    )
    assert [w for w in warnings_for(settings) if "providers." in w] == [
        "providers.far.issuer http://id.example.com is plain http on a public name: the "
        "discovery document and the signing keys would travel in clear; use https"
    ]


@pytest.mark.parametrize(
    ("extra", "warned"),
    [
        ({"store": "redis://127.0.0.1:6379/0"}, True),
        (
            {
                "store": "redis://127.0.0.1:6379/0",
                "encryption": {"current": "k1", "keys": {"k1": "A" * 43}},
            },
            False,
        ),
        ({}, False),  # memory://: a random key per process, and the store dies with it
    ],
)
def test_cli_warns_when_redis_records_are_sealed_with_the_derived_key(
    extra: dict[str, object], warned: bool
) -> None:
    settings = parse_settings({"issuer": "https://login.example.com", **extra}, environ={})
    found = [w for w in warnings_for(settings) if "[encryption]" in w]
    assert bool(found) is warned, found


@pytest.mark.parametrize(
    ("options", "warned"),
    [
        ('pkce = "none"\ntoken_auth = "none"\n', True),
        ('pkce = "S256"\ntoken_auth = "none"\n', False),
        ('token_auth = "none"\n', False),  # pkce defaults to S256
        ('pkce = "none"\n', False),  # a client secret is sent
    ],
)
def test_cli_check_config_warns_of_a_public_client_without_pkce(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    options: str,
    warned: bool,
) -> None:
    monkeypatch.setenv("TEST_RELAY_SECRET", "s3cret-value")
    config = write_config(tmp_path, 8000)
    config.write_text(
        config.read_text() + FORGE + 'authorize_url = "https://git.example/authorize"\n'
        'token_url = "https://git.example/token"\n' + options
    )
    assert main(["check-config", "--config", str(config)]) == 0
    found = [w for w in warnings_printed(capsys.readouterr().out) if "providers." in w]
    expected = (
        'providers.forge: pkce = "none" with token_auth = "none": nothing binds a code to the '
        'relay, so whoever intercepts one can redeem it; use pkce = "S256" (if the provider '
        "supports it) or a client secret"
    )
    assert found == ([expected] if warned else [])


def test_cli_check_config_hides_the_store_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_RELAY_SECRET", "s3cret-value")
    config = write_config(tmp_path, 8000, 'store = "redis://:hunter2pass@cache.example:6379/0"')
    assert main(["check-config", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "store    redis://:***@cache.example:6379/0" in out
    assert "hunter2pass" not in out


# --- an issuer in clear -----------------------------------------------------------------------


@pytest.mark.parametrize("issuer", ["http://login.example.com", "http://192.168.1.20:8000"])
def test_cli_serve_refuses_a_plain_http_issuer_that_is_not_localhost(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    issuer: str,
) -> None:
    monkeypatch.setenv("TEST_RELAY_SECRET", "s3cret-value")
    config = write_config(tmp_path, 8000, issuer=issuer)
    assert main(["serve", "--config", str(config), "--port", str(free_port())]) == 2
    err = capsys.readouterr().err
    assert f"qr-relay: refusing to serve: issuer {issuer} is plain http on a public name" in err
    # Why, and what to do.
    for words in ("cookies cannot be Secure", "tokens", "travel in clear", "TLS in front"):
        assert words in err
    assert "set an https issuer, or pass --insecure" in err
    assert not (tmp_path / "relay-signing-key.pem").exists()  # refused before anything was made


@pytest.mark.parametrize(
    "issuer",
    [
        "https://login.example.com",
        "http://localhost:8000",
        "http://127.0.0.1:8000",
        "http://[::1]:8000",
    ],
)
def test_cli_serve_accepts_https_and_localhost_issuers(issuer: str) -> None:
    assert insecure_issuer(parse_settings({"issuer": issuer}, environ={})) is None


def test_cli_serve_insecure_starts_and_warns_once_per_problem(tmp_path: Path) -> None:
    port = free_port()
    issuer = f"http://192.168.1.20:{port}"
    config = write_config(tmp_path, port, issuer=issuer)
    env = {"RELAY_CONFIG": str(config), "TEST_RELAY_SECRET": "s3cret-value"}
    with running(["serve", "--port", str(port), "--insecure"], env, port) as process:
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    warnings = [
        line["message"]
        for line in map(json.loads, process.log.splitlines())
        if line["level"] == "WARNING"
    ]

    def said(words: str) -> int:
        return sum(words in message for message in warnings)

    assert said(f"INSECURE: issuer {issuer} is plain http on a public name") == 1
    assert said("WARNING: store is memory://") == 1
    assert said("GENERATED A NEW SIGNING KEY") == 1  # the key was made: said when it was
    assert said("will be generated") == 0
    assert said("WARNING: sandbox provider sandbox is configured") == 1


def test_cli_check_config_says_serve_would_refuse_the_issuer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_RELAY_SECRET", "s3cret-value")
    config = write_config(tmp_path, 8000, issuer="http://login.example.com")
    assert main(["check-config", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert (
        "warning: issuer http://login.example.com is plain http on a public name: the relay's "
        "cookies cannot be Secure"
    ) in out
    assert "refusal: qr-relay serve will not start with this issuer. Put TLS in front" in out


def test_cli_demo_on_a_lan_address_needs_no_insecure(tmp_path: Path) -> None:
    """A phone on the same network opens the demo by the computer's LAN address, over http."""
    port = free_port()
    issuer = f"http://192.168.1.20:{port}"
    with running(["demo", "--port", str(port), "--issuer", issuer], {}, port) as process:
        page = httpx.get(f"http://127.0.0.1:{port}/demo")
        assert page.status_code == 200
    assert f"Open {issuer}/demo" in process.log
    assert "refusing" not in process.log and "INSECURE" not in process.log


def test_cli_warns_when_every_forwarded_address_is_believed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = parse_settings({"issuer": "https://login.example.com"}, environ={})
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    assert any(w.startswith("FORWARDED_ALLOW_IPS is *") for w in warnings_for(settings))
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.0.0.5,10.0.1.0/24")
    assert not any("FORWARDED_ALLOW_IPS" in w for w in warnings_for(settings))
