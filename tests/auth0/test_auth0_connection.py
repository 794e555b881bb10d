"""The Auth0 kit (docs/auth0.md, examples/auth0/) against a relay process (`python -m relay
serve`, uvicorn on a free port) started from the TOML that docs/auth0.md gives, with the secret in
the environment variable it names.

The test plays Auth0's part exactly as a custom social connection with `pkce_enabled` does: the
browser to the connection's Authorization URL with response_type, client_id, Auth0's callback as
redirect_uri, scope, state and an S256 code_challenge, no nonce; the login completed on the phone
through the sandbox provider; Auth0's servers at the Token URL with client_secret_post and the
code_verifier, reading only access_token and id_token; then the Fetch User Profile Script
(examples/auth0/fetch-user-profile.js, its one line edited as the docs say) under Node with that
access token (tests/auth0/run-fetch-user-profile.js calls it as Auth0 does).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import subprocess
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.cluster_support import RelayProcess, form_fields, free_port, on, pkce, query_of

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "auth0.md"
SCRIPT = ROOT / "examples" / "auth0" / "fetch-user-profile.js"
OPTIONS = ROOT / "examples" / "auth0" / "connection-options.json"
HARNESS = Path(__file__).with_name("run-fetch-user-profile.js")

AUTH0_CALLBACK = "https://TENANT.auth0.com/login/callback"  # what the docs' redirect_uris hold
RELAY_PLACEHOLDER = "https://RELAY_HOST"  # the docs' and the examples' stand-in for the issuer
USERINFO_PLACEHOLDER = f"{RELAY_PLACEHOLDER}/userinfo"  # the script's one line to edit
PROVIDER = "sandbox"
SECRET = secrets.token_urlsafe(32)  # AUTH0_RELAY_SECRET, as docs/auth0.md has it made


# --- what docs/auth0.md and examples/auth0 say ----------------------------------------------------


def docs_text() -> str:
    return DOCS.read_text()


def docs_toml() -> str:
    """The relay configuration docs/auth0.md gives (its one TOML block)."""
    blocks = re.findall(r"```toml\n(.*?)```", docs_text(), flags=re.S)
    assert len(blocks) == 1, "docs/auth0.md gives one relay configuration"
    return str(blocks[0])


def docs_connection_fields() -> dict[str, str]:
    """The Dashboard fields of docs/auth0.md's table: `| Field | `value` ... |`."""
    found = re.findall(
        r"^\| (Authorization URL|Token URL|Scope|Client ID) \| `([^`]+)`", docs_text(), flags=re.M
    )
    fields = dict(found)
    assert len(fields) == len(found) == 4, found
    return fields


def example_options() -> dict[str, Any]:
    options: dict[str, Any] = json.loads(OPTIONS.read_text())
    return options


def filled_options(relay_url: str, script: str) -> dict[str, Any]:
    """examples/auth0/connection-options.json filled in as docs/auth0.md's jq command does."""
    options = example_options()
    options["authorizationURL"] = f"{relay_url}/authorize?provider={PROVIDER}"
    options["tokenURL"] = f"{relay_url}/token"
    options["client_secret"] = SECRET
    options["scripts"]["fetchUserProfile"] = script
    return options


def edited_script(userinfo_url: str) -> str:
    """The example script with its RELAY_USERINFO_URL line set, as docs/auth0.md says."""
    source = SCRIPT.read_text()
    line = f"var RELAY_USERINFO_URL = '{USERINFO_PLACEHOLDER}';"
    assert source.count(USERINFO_PLACEHOLDER) == 1 and line in source, "the line to edit"
    return source.replace(USERINFO_PLACEHOLDER, userinfo_url)


# --- Node: the Fetch User Profile Script as Auth0 runs it -----------------------------------------


def node_program() -> str:
    found = shutil.which("node")
    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("node is not on PATH: CI must install Node.js (scripts/ensure-node)")
        pytest.skip("node is not on PATH: the Auth0 Fetch User Profile Script is untested")
    return found


@dataclass
class Outcome:
    """What the script handed to Auth0's callback."""

    error: str | None  # the Error's message
    profile: dict[str, Any] | None


def fetch_user_profile(
    script: str, access_token: str, context: dict[str, Any], folder: Path
) -> Outcome:
    path = folder / f"fetch-user-profile-{secrets.token_hex(4)}.js"
    path.write_text(script)
    done = subprocess.run(
        [node_program(), str(HARNESS), str(path)],
        input=json.dumps({"accessToken": access_token, "context": context}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    called = json.loads(done.stdout)
    assert called["calls"] == 1, "the script must call Auth0 back exactly once"
    error = called["error"]
    if error is not None:
        assert error["name"] == "Error"
        assert called["profile"] is None
    return Outcome(error["message"] if error else None, called["profile"])


# --- a relay started from the docs' configuration -------------------------------------------------


@contextlib.contextmanager
def relay_from_docs(folder: Path, **environ: str) -> Iterator[RelayProcess]:
    """`qr-relay serve` on docs/auth0.md's relay.toml, as written. Only the environment differs
    from production: RELAY_ISSUER points it at a local port, and AUTH0_RELAY_SECRET holds the
    secret."""
    config = folder / "relay.toml"
    config.write_text(docs_toml())
    port = free_port()
    relay = RelayProcess("auth0", config, port, folder)
    with pytest.MonkeyPatch.context() as env:  # the child inherits os.environ as it is now
        for name in [n for n in os.environ if n.startswith("RELAY_")]:
            env.delenv(name)
        env.setenv("RELAY_ISSUER", relay.url)
        env.setenv("AUTH0_RELAY_SECRET", SECRET)
        for name, value in environ.items():
            env.setenv(name, value)
        relay.start()
    try:
        relay.wait_healthy()
        yield relay
        assert relay.answered(500) == [], "the relay answered 500"
    finally:
        relay.stop()
        print(f"----- relay (port {relay.port}) -----\n{relay.log()}")  # shown on failure


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RelayProcess]:
    with relay_from_docs(tmp_path_factory.mktemp("auth0-relay")) as running:
        yield running


# --- Auth0's part of one login --------------------------------------------------------------------


@dataclass
class Auth0Login:
    code: str
    verifier: str
    tokens: dict[str, Any]  # the /token answer


def auth0_login(relay: RelayProcess, options: dict[str, Any], name: str) -> Auth0Login:
    """Auth0 sends the browser to the Authorization URL; the person scans and approves at the
    sandbox; the desktop comes back to Auth0's callback; Auth0's servers redeem the code."""
    verifier, challenge = pkce()
    state = secrets.token_urlsafe(16)
    params = {
        "response_type": "code",
        "client_id": options["client_id"],
        "redirect_uri": AUTH0_CALLBACK,
        "scope": options["scope"],
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    authorization_url = options["authorizationURL"]
    joiner = "&" if "?" in authorization_url else "?"
    with httpx.Client(timeout=10) as desktop, httpx.Client(timeout=10) as phone:
        going = desktop.get(authorization_url + joiner + urlencode(params))
        assert going.status_code == 303, going.text
        page = desktop.get(on(relay, going.headers["location"]))
        assert page.status_code == 200, page.text
        found = re.search(r'data-scan-url="(http[^"]+/s/[^"]+)"', page.text)
        assert found, "the login page shows no scan URL"
        session_id = page.url.path.rsplit("/", 1)[1]

        scanned = phone.get(on(relay, found.group(1)))
        assert scanned.status_code == 303, scanned.text
        assert phone.get(on(relay, scanned.headers["location"])).status_code == 200
        going = phone.post(f"{relay.url}/phone/{session_id}/continue")
        assert going.status_code == 303, going.text
        at_sandbox = phone.get(on(relay, going.headers["location"]))
        assert at_sandbox.status_code == 200, at_sandbox.text
        fields = form_fields(at_sandbox.text)
        fields.update(decision="approve", name=name)
        back = phone.post(f"{relay.url}/sandbox/authorize", data=fields)
        assert back.status_code in (302, 303), back.text
        done = phone.get(on(relay, back.headers["location"]))
        assert done.status_code == 200, done.text

        back_to_auth0 = desktop.get(f"{relay.url}/sessions/{session_id}/resume")
    assert back_to_auth0.status_code == 302, back_to_auth0.text
    location = back_to_auth0.headers["location"]
    assert location.startswith(AUTH0_CALLBACK + "?")
    answer = query_of(location)
    assert "error" not in answer, answer
    assert answer["state"] == state
    assert answer["iss"] == relay.url

    # Auth0's servers: client_secret_post, the verifier, nothing in an Authorization header.
    tokens = httpx.post(
        options["tokenURL"],
        data={
            "grant_type": "authorization_code",
            "code": answer["code"],
            "redirect_uri": AUTH0_CALLBACK,
            "client_id": options["client_id"],
            "client_secret": options["client_secret"],
            "code_verifier": verifier,
        },
        timeout=10,
    )
    assert tokens.status_code == 200, tokens.text
    return Auth0Login(answer["code"], verifier, tokens.json())


def id_token_claims(relay: RelayProcess, id_token: str) -> dict[str, Any]:
    keys = KeySet.import_key_set(httpx.get(f"{relay.url}/jwks.json", timeout=10).json())
    claims: dict[str, Any] = jwt.decode(id_token, keys, algorithms=["RS256"]).claims
    return claims


# --- the tests ------------------------------------------------------------------------------------


def test_auth0_login_ends_in_the_profile_the_script_returns(
    relay: RelayProcess, tmp_path: Path
) -> None:
    """The whole connection, as Auth0 runs it: the profile is the relay's user, its user_id the
    id_token's sub, with the name typed at the sandbox and the provider used."""
    script = edited_script(f"{relay.url}/userinfo")
    login = auth0_login(relay, filled_options(relay.url, script), "Ada Lovelace")

    tokens = login.tokens
    assert tokens["token_type"] == "Bearer"
    access_token, id_token = tokens["access_token"], tokens["id_token"]  # all Auth0 reads
    claims = id_token_claims(relay, id_token)
    assert claims["iss"] == relay.url
    assert claims["aud"] == "auth0"
    assert claims["exp"] > time.time()
    assert "nonce" not in claims  # Auth0 sends none, and the relay needs none

    # Auth0 hands the script the token response as its context.
    outcome = fetch_user_profile(script, access_token, tokens, tmp_path)
    assert outcome.error is None
    assert outcome.profile == {
        "user_id": claims["sub"],
        "name": "Ada Lovelace",
        "nickname": "ada.lovelace",
        "relay_provider": PROVIDER,
    }
    assert claims["sub"].startswith(f"{PROVIDER}:")
    assert claims["name"] == "Ada Lovelace" and claims["idp"] == PROVIDER

    # The same person again: the same user_id (the sandbox's user id for the name is stable).
    again = auth0_login(relay, filled_options(relay.url, script), "Ada Lovelace")
    second = fetch_user_profile(script, again.tokens["access_token"], again.tokens, tmp_path)
    assert second.profile is not None and second.profile["user_id"] == claims["sub"]


def test_the_script_fails_the_login_with_the_status_and_error_for_a_bad_token(
    relay: RelayProcess, tmp_path: Path
) -> None:
    """An access token the relay does not know, and one it revoked (its code was presented a
    second time): the login fails with an Error naming HTTP 401 and invalid_token."""
    script = edited_script(f"{relay.url}/userinfo")
    options = filled_options(relay.url, script)
    login = auth0_login(relay, options, "Grace Hopper")
    replayed = httpx.post(
        options["tokenURL"],
        data={
            "grant_type": "authorization_code",
            "code": login.code,
            "redirect_uri": AUTH0_CALLBACK,
            "client_id": options["client_id"],
            "client_secret": options["client_secret"],
            "code_verifier": login.verifier,
        },
        timeout=10,
    )
    assert replayed.status_code == 400 and replayed.json()["error"] == "invalid_grant"

    for token in (login.tokens["access_token"], secrets.token_urlsafe(32)):
        outcome = fetch_user_profile(script, token, {}, tmp_path)
        assert outcome.error == (
            "relay /userinfo answered HTTP 401 "
            "(invalid_token: the access token is invalid, expired or revoked)"
        )


def test_the_script_fails_the_login_for_an_expired_token(tmp_path: Path) -> None:
    """A relay whose access tokens live one second: once that second is over, the script fails
    with HTTP 401 invalid_token."""
    with relay_from_docs(tmp_path, RELAY_ACCESS_TOKEN_TTL="1") as short:
        script = edited_script(f"{short.url}/userinfo")
        login = auth0_login(short, filled_options(short.url, script), "Alan Turing")
        assert login.tokens["expires_in"] == 1
        time.sleep(1.5)
        outcome = fetch_user_profile(script, login.tokens["access_token"], login.tokens, tmp_path)
    assert outcome.error is not None
    assert outcome.error.startswith("relay /userinfo answered HTTP 401 (invalid_token:")


def test_the_script_fails_the_login_when_the_relay_cannot_be_reached(tmp_path: Path) -> None:
    script = edited_script(f"http://127.0.0.1:{free_port()}/userinfo")  # nothing listens there
    outcome = fetch_user_profile(script, secrets.token_urlsafe(32), {}, tmp_path)
    assert outcome.error is not None
    assert outcome.error.startswith("relay /userinfo: the request failed: ")
    assert "ECONNREFUSED" in outcome.error


@pytest.mark.parametrize(
    ("script", "access_token", "message"),
    [
        pytest.param(
            SCRIPT.read_text(),
            "any-token",
            "relay: edit the script: set RELAY_USERINFO_URL to https://<your relay>/userinfo",
            id="unedited",
        ),
        pytest.param(
            edited_script("https://login.example.com/userinfo"),
            "",
            "relay: Auth0 passed no access token to fetchUserProfile",
            id="no-access-token",
        ),
    ],
)
def test_the_script_says_what_is_missing_before_calling_anything(
    script: str, access_token: str, message: str, tmp_path: Path
) -> None:
    assert fetch_user_profile(script, access_token, {}, tmp_path).error == message


def test_the_connection_settings_of_the_docs_and_example_are_what_the_relay_serves(
    relay: RelayProcess,
) -> None:
    """docs/auth0.md's Dashboard fields, its JSON options and examples/auth0's files name the
    endpoints discovery announces, and ask only for what it supports (client_secret_post, S256)."""
    meta = httpx.get(f"{relay.url}/.well-known/openid-configuration", timeout=10).json()
    fields = {
        name: value.replace(RELAY_PLACEHOLDER, relay.url)
        for name, value in docs_connection_fields().items()
    }
    client_name, client = next(iter(tomllib.loads(docs_toml())["clients"].items()))

    authorization = urlsplit(fields["Authorization URL"])
    assert f"{relay.url}{authorization.path}" == meta["authorization_endpoint"]
    assert parse_qs(authorization.query) == {"provider": [PROVIDER]}
    assert PROVIDER in client["providers"]
    assert fields["Token URL"] == meta["token_endpoint"]
    assert set(fields["Scope"].split()) == {"openid", "profile"} <= set(meta["scopes_supported"])
    assert fields["Client ID"] == client_name
    assert AUTH0_CALLBACK in client["redirect_uris"]
    assert client["secret"] == "env:AUTH0_RELAY_SECRET"

    # examples/auth0/connection-options.json, shown as it is in the docs, filled in by their jq.
    options = example_options()
    shown = re.findall(r"```json\n(.*?)```", docs_text(), flags=re.S)
    assert [json.loads(block) for block in shown] == [options]
    assert set(options) == {
        "client_id",
        "client_secret",
        "authorizationURL",
        "tokenURL",
        "scope",
        "scripts",
        "pkce_enabled",
    }
    assert options["pkce_enabled"] is True
    assert "S256" in meta["code_challenge_methods_supported"]
    assert "client_secret_post" in meta["token_endpoint_auth_methods_supported"]
    assert "code" in meta["response_types_supported"]
    assert "query" in meta["response_modes_supported"]
    assert options["client_id"] == fields["Client ID"]
    assert options["scope"] == fields["Scope"]
    assert (
        options["authorizationURL"]
        .replace(RELAY_PLACEHOLDER, relay.url)
        .replace("PROVIDER_NAME", PROVIDER)
        == fields["Authorization URL"]
    )
    assert options["tokenURL"].replace(RELAY_PLACEHOLDER, relay.url) == meta["token_endpoint"]
    filled = filled_options(relay.url, "script")
    assert filled["authorizationURL"] == fields["Authorization URL"]
    assert filled["tokenURL"] == fields["Token URL"]

    # The script's URL line, edited as the docs say, is the userinfo endpoint.
    assert USERINFO_PLACEHOLDER.replace(RELAY_PLACEHOLDER, relay.url) == meta["userinfo_endpoint"]
    assert f"`var RELAY_USERINFO_URL = '{USERINFO_PLACEHOLDER}';`" in docs_text()


def test_the_troubleshooting_answers_are_what_the_relay_gives(relay: RelayProcess) -> None:
    """docs/auth0.md's Troubleshooting: a callback not registered or an unknown Client ID is a
    page, never a redirect; a provider the client does not list goes back to Auth0 as
    invalid_request; a wrong Client Secret is 401 invalid_client at the Token URL."""
    verifier, challenge = pkce()
    base = {
        "response_type": "code",
        "client_id": "auth0",
        "redirect_uri": AUTH0_CALLBACK,
        "scope": "openid profile",
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    docs = docs_text()
    with httpx.Client(base_url=relay.url, timeout=10) as browser:
        for change, description in (
            (
                {"redirect_uri": "https://TENANT.eu.auth0.com/login/callback"},
                "redirect_uri is not registered for this client",
            ),
            ({"client_id": "auth0-typo"}, 'unknown client_id "auth0-typo"'),
        ):
            page = browser.get("/authorize", params={**base, **change})
            assert page.status_code == 400 and "location" not in page.headers
            assert "invalid_request" in page.text
            assert description.replace('"', "&#34;") in page.text
        assert "redirect_uri is not registered for this client" in docs
        assert 'unknown client_id "..."' in docs

        elsewhere = browser.get("/authorize", params={**base, "provider": "wechat"})
        assert elsewhere.status_code == 302
        answer = query_of(elsewhere.headers["location"])
        assert answer["error"] == "invalid_request"
        assert "is not enabled for this client" in answer["error_description"]
        assert "is not enabled for this client" in docs

    wrong = httpx.post(
        f"{relay.url}/token",
        data={
            "grant_type": "authorization_code",
            "code": "x" * 43,
            "redirect_uri": AUTH0_CALLBACK,
            "client_id": "auth0",
            "client_secret": "not-the-secret",
            "code_verifier": verifier,
        },
        timeout=10,
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert '401 {"error": "invalid_client"}' in docs
