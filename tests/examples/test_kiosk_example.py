"""examples/kiosk/kiosk.py and embed.py, run as a kiosk would run them, against a relay process
(`python -m relay serve`) started from examples/kiosk/relay.toml, the configuration their README
gives.

The test is the person in front of the screen: it reads what kiosk.py printed (the QR, decoded
from its ASCII output with zxing-cpp, or the typed code), plays the phone with httpx through
/device, /phone and the sandbox, and reads the program's exit status and output. For embed.py it
plays the kiosk page's browser with httpx (unlock, a login, the code handed over) and posts the
code to embed.py as its page's script does; tests/browser/test_kiosk_embedded.py does the same in
Chromium.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import sys
import tomllib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np
import pytest
import zxingcpp

from tests.cluster_support import RelayProcess, form_fields, free_port, wait_until
from tests.examples.embed_app import EmbedApp

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "examples" / "kiosk" / "kiosk.py"
CONFIG = ROOT / "examples" / "kiosk" / "relay.toml"
README = ROOT / "examples" / "kiosk" / "README.md"
CLIENT_ID = "lobby-kiosk"  # the README's client
SECRET = secrets.token_urlsafe(32)  # KIOSK_SECRET, as the README has it made
KEY = secrets.token_urlsafe(32)  # KIOSK_KEY, the kiosk page's
WITHIN = 20.0  # seconds the program has to print or to finish (generous: no timing here)
CODE_LINE = re.compile(r"^and type the code ([B-Z]{4}-[B-Z]{4})$", re.M)
URI_LINE = re.compile(r"^Scan the code with your phone, or open (\S+)$", re.M)
EMBED_REDIRECT = 'redirect_uris = ["http://127.0.0.1:8001/signed-in"]'  # relay.toml's: embed.py
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}  # what a browser sends with the kiosk page's fetch

# qrcode's print_ascii: each character is two modules (top, bottom); with invert=True the ink is
# a light module.
INK = {"\u00a0": (False, False), "\u2580": (True, False), "\u2584": (False, True)}
INK["\u2588"] = (True, True)


# --- the relay ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def embed_url() -> str:
    """Where embed.py listens in these tests: port 8001 in the README, a free one here."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory, embed_url: str) -> Iterator[RelayProcess]:
    """`qr-relay serve` on examples/kiosk/relay.toml as written (copied, so that the signing key
    it makes lands in the test's folder), with KIOSK_SECRET set and the issuer on a free port;
    its redirect_uri names embed.py's port of these tests instead of 8001."""
    folder = tmp_path_factory.mktemp("kiosk-relay")
    config = folder / "relay.toml"
    written = CONFIG.read_text()
    assert EMBED_REDIRECT in written
    config.write_text(written.replace(EMBED_REDIRECT, f'redirect_uris = ["{embed_url}/signed-in"]'))
    process = RelayProcess("kiosk", config, free_port(), folder)
    with pytest.MonkeyPatch.context() as env:  # the child inherits os.environ as it is now
        for name in [n for n in os.environ if n.startswith("RELAY_")]:
            env.delenv(name)
        env.setenv("RELAY_ISSUER", process.url)
        env.setenv("RELAY_DEVICE_POLL_INTERVAL", "1")  # the polling test waits 1 s, not 5
        env.setenv("KIOSK_SECRET", SECRET)
        env.setenv("KIOSK_KEY", KEY)
        process.start()
    try:
        process.wait_healthy()
        yield process
        assert process.answered(500) == [], "the relay answered 500"
    finally:
        process.stop()
        print(f"----- relay (port {process.port}) -----\n{process.log()}")  # shown on failure


# --- the kiosk program ----------------------------------------------------------------------------


@dataclass
class Kiosk:
    """The running program and what it printed so far."""

    process: asyncio.subprocess.Process
    printed: str = ""

    async def read_until(self, pattern: re.Pattern[str]) -> re.Match[str]:
        assert self.process.stdout is not None
        async with asyncio.timeout(WITHIN):
            while (found := pattern.search(self.printed)) is None:
                line = await self.process.stdout.readline()
                assert line, f"the program ended before printing {pattern.pattern}:\n{self.printed}"
                self.printed += line.decode()
        return found

    async def finish(self) -> tuple[int, str, str]:
        """Exit status, everything it printed, and its stderr."""
        async with asyncio.timeout(WITHIN):
            rest, errors = await self.process.communicate()
        self.printed += rest.decode()
        assert self.process.returncode is not None
        return self.process.returncode, self.printed, errors.decode()

    def qr_url(self) -> str:
        """What a phone's camera reads in the QR the program drew."""
        rows: list[list[bool]] = []
        for line in self.printed.split("\n"):
            if line and set(line) <= INK.keys():
                rows += [[INK[c][0] for c in line], [INK[c][1] for c in line]]
        assert rows, f"no QR code in:\n{self.printed}"
        light = np.array(rows, dtype=bool)
        pixels = np.where(light, 255, 0).astype(np.uint8).repeat(8, axis=0).repeat(8, axis=1)
        pixels = np.pad(pixels, 32, constant_values=255)
        found = [result.text for result in zxingcpp.read_barcodes(pixels)]
        assert len(found) == 1, found
        return found[0]


@contextlib.asynccontextmanager
async def kiosk(relay: RelayProcess, *args: str) -> AsyncIterator[Kiosk]:
    """The program with its configuration in the environment (the secret never in argv)."""
    environ = {
        **os.environ,
        "RELAY_URL": relay.url,
        "CLIENT_ID": CLIENT_ID,
        "CLIENT_SECRET": SECRET,
        "PYTHONIOENCODING": "utf-8",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(PROGRAM),
        *args,
        env=environ,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield Kiosk(process)
    finally:
        if process.returncode is None:  # a failed test: stop our own child, by its pid
            process.kill()
            await process.wait()


# --- the phone ------------------------------------------------------------------------------------


async def phone_signs_in(
    relay: RelayProcess, phone: httpx.AsyncClient, code_page: httpx.Response, decision: str
) -> httpx.Response:
    """From the page asking "does the screen show this code?": Yes, continue; Continue with
    Sandbox; the sandbox's decision; back at the relay's callback. The relay's last page."""
    assert code_page.status_code == 200, code_page.text
    assert "Lobby kiosk" in code_page.text
    confirmed = await phone.post(
        f"{relay.url}/device/confirm", data={"user_code": form_fields(code_page.text)["user_code"]}
    )
    assert confirmed.status_code == 303, confirmed.text
    session_path = confirmed.headers["location"]
    assert session_path.startswith("/phone/")
    return await phone_approves(relay, phone, session_path, decision)


async def phone_approves(
    relay: RelayProcess,
    phone: httpx.AsyncClient,
    session_path: str,
    decision: str,
    name: str = "Grace Hopper",
) -> httpx.Response:
    """On the phone's page of a login (/phone/ID): Continue with Sandbox, the sandbox's decision,
    back at the relay's callback. The relay's last page."""
    going = await phone.post(f"{relay.url}{session_path}/continue")
    assert going.status_code == 303, going.text
    at_sandbox = await phone.get(going.headers["location"])
    assert at_sandbox.status_code == 200, at_sandbox.text
    fields = form_fields(at_sandbox.text)
    fields.update(decision=decision, name=name)
    back = await phone.post(f"{relay.url}/sandbox/authorize", data=fields)
    assert back.status_code in (302, 303), back.text
    return await phone.get(back.headers["location"])


def json_after(printed: str, heading: str) -> dict[str, Any]:
    """The JSON object the program printed after the line `heading`."""
    start = printed.index(heading + "\n") + len(heading) + 1
    value, _ = json.JSONDecoder().raw_decode(printed[start:])
    assert isinstance(value, dict)
    return value


def live_sockets(relay: RelayProcess) -> int:
    """Websockets the relay accepted on /device/{device_code}/live (masked in its log)."""
    records = relay.log_records()
    return sum(1 for r in records if r.get("http", {}).get("path") == "/device/…/live")


# --- embed.py, the kiosk page's application ------------------------------------------------------


@pytest.fixture(scope="module")
def embed(
    relay: RelayProcess, embed_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmbedApp]:
    """examples/kiosk/embed.py on its port, configured as the README has it: the environment."""
    log = tmp_path_factory.mktemp("kiosk-embed") / "embed.log"
    with EmbedApp(log, port=int(embed_url.rsplit(":", 1)[1])) as app:
        app.start(relay.url, client_id=CLIENT_ID, client_secret=SECRET, kiosk_key=KEY)
        yield app


async def kiosk_page_code(relay: RelayProcess, name: str) -> str:
    """A code as the kiosk page in message mode hands it to its embedder: the page's browser
    unlocked with the key starts a login, the phone scans and approves it, the page asks for the
    code. The browser's requests carry Sec-Fetch-Site: same-origin, as the page's fetches do."""
    async with (
        httpx.AsyncClient(base_url=relay.url, timeout=WITHIN) as screen,
        httpx.AsyncClient(timeout=WITHIN) as phone,
    ):
        assert (await screen.get(f"/kiosk/{CLIENT_ID}", params={"key": KEY})).status_code == 303
        started = await screen.post(f"/kiosk/{CLIENT_ID}/logins", headers=SAME_ORIGIN)
        assert started.status_code == 200, started.text
        login = started.json()
        scanned = await phone.get(login["scan_url"])
        assert scanned.status_code == 303, scanned.text
        session_path = urlsplit(scanned.headers["location"]).path
        assert session_path == f"/phone/{login['session_id']}"
        done = await phone_approves(relay, phone, session_path, "approve", name)
        assert done.status_code == 200, done.text
        handed = await screen.post(
            f"/kiosk/{CLIENT_ID}/logins/{login['session_id']}/code", headers=SAME_ORIGIN
        )
        assert handed.status_code == 200, handed.text
        message = handed.json()
        assert message["iss"] == relay.url
        return str(message["code"])


# --- the tests ------------------------------------------------------------------------------------


async def test_kiosk_example_scanned_and_approved_prints_the_claims(relay: RelayProcess) -> None:
    sockets_before = live_sockets(relay)
    async with kiosk(relay) as program, httpx.AsyncClient(timeout=WITHIN) as phone:
        code = (await program.read_until(CODE_LINE)).group(1)
        scanned = program.qr_url()  # the phone's camera
        assert scanned == f"{relay.url}/device?user_code={code}"
        done = await phone_signs_in(relay, phone, await phone.get(scanned), "approve")
        assert "Return to the device" in done.text, done.text
        status, printed, errors = await program.finish()

    assert status == 0, f"{printed}\n{errors}"
    assert "no websocket" not in printed  # it waited on the socket, it did not poll
    assert live_sockets(relay) > sockets_before
    claims = json_after(printed, "Signed in. The id_token's claims:")
    assert claims["sub"].startswith("sandbox:")
    assert claims["name"] == "Grace Hopper"
    assert claims["iss"] == relay.url and claims["aud"] == CLIENT_ID
    profile = json_after(printed, "/userinfo:")
    assert profile["sub"] == claims["sub"] and profile["name"] == "Grace Hopper"
    assert SECRET not in printed + errors


async def test_kiosk_example_denied_exits_1_with_the_reason(relay: RelayProcess) -> None:
    async with kiosk(relay) as program, httpx.AsyncClient(timeout=WITHIN) as phone:
        code = (await program.read_until(CODE_LINE)).group(1)
        uri = (await program.read_until(URI_LINE)).group(1)
        assert uri == f"{relay.url}/device"
        typed = await phone.post(uri, data={"user_code": code.lower().replace("-", " ")})
        await phone_signs_in(relay, phone, typed, "deny")
        status, printed, errors = await program.finish()

    assert status == 1, f"{printed}\n{errors}"
    assert errors.startswith("Sign-in denied: "), errors
    assert "Signed in" not in printed


def token_refusals(relay: RelayProcess) -> int:
    """/token answers of 400 (authorization_pending among them) the relay has logged."""
    return sum(1 for r in relay.answered(400) if r["http"].get("path") == "/token")


async def test_kiosk_example_polls_token_when_told_to(relay: RelayProcess) -> None:
    """--poll (as after a websocket that cannot be opened): /token every `interval` seconds
    until the tokens come."""
    sockets_before = live_sockets(relay)
    refusals_before = token_refusals(relay)
    async with kiosk(relay, "--poll") as program, httpx.AsyncClient(timeout=WITHIN) as phone:
        code = (await program.read_until(CODE_LINE)).group(1)
        await asyncio.sleep(2.5)  # a few authorization_pending answers first
        assert token_refusals(relay) - refusals_before >= 2, "it polls /token once a second"
        page = await phone.get(f"{relay.url}/device", params={"user_code": code})
        done = await phone_signs_in(relay, phone, page, "approve")
        assert "Return to the device" in done.text, done.text
        status, printed, errors = await program.finish()

    assert status == 0, f"{printed}\n{errors}"
    assert json_after(printed, "Signed in. The id_token's claims:")["name"] == "Grace Hopper"
    assert live_sockets(relay) == sockets_before


async def test_kiosk_example_wrong_secret_exits_1_with_the_relays_error(
    relay: RelayProcess,
) -> None:
    environ = {**os.environ, "RELAY_URL": relay.url, "CLIENT_ID": CLIENT_ID}
    environ["CLIENT_SECRET"] = "not-the-secret"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(PROGRAM),
        env=environ,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(WITHIN):
        printed, errors = await process.communicate()
    assert process.returncode == 1, printed
    assert errors.decode().startswith("Error: /device_authorization refused: invalid_client")


async def test_kiosk_example_loop_starts_over_after_a_sign_in_and_a_denial(
    relay: RelayProcess,
) -> None:
    """--loop: a kiosk runs all day; neither a sign-in nor a denial ends the program."""
    async with kiosk(relay, "--loop") as program:
        for decision in ("approve", "deny"):
            async with httpx.AsyncClient(timeout=WITHIN) as phone:  # the next person's phone
                code = (await program.read_until(CODE_LINE)).group(1)
                page = await phone.get(f"{relay.url}/device", params={"user_code": code})
                await phone_signs_in(relay, phone, page, decision)
            await program.read_until(re.compile(r"^Next person$", re.M))
            person, program.printed = program.printed.split("Next person\n", 1)
            assert ("Grace Hopper" in person) is (decision == "approve"), person
        await program.read_until(CODE_LINE)  # the third person's code, on the same run
        assert program.process.returncode is None


def test_kiosk_example_readme_shows_the_client_relay_toml_configures() -> None:
    """The README's client table is the one the tests above run with (relay.toml)."""
    blocks = re.findall(r"```toml\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) == 1, "the README shows one client table"
    shown = tomllib.loads(blocks[0])["clients"]
    assert shown == tomllib.loads(CONFIG.read_text())["clients"]
    assert shown[CLIENT_ID]["kiosk"] is True


async def test_kiosk_example_configuration_opens_the_kiosk_page_with_its_key(
    relay: RelayProcess,
) -> None:
    """The same relay.toml serves the kiosk page in a browser, as the README says: the key once,
    then the cookie."""
    async with httpx.AsyncClient(base_url=relay.url) as browser:
        locked = await browser.get(f"/kiosk/{CLIENT_ID}")
        assert locked.status_code == 403
        opened = await browser.get(f"/kiosk/{CLIENT_ID}?key={KEY}")
        assert opened.status_code == 303 and opened.headers["location"] == f"/kiosk/{CLIENT_ID}"
        page = await browser.get(f"/kiosk/{CLIENT_ID}")
        assert page.status_code == 200
        assert 'data-mode="message"' in page.text and "Lobby kiosk" in page.text


async def test_kiosk_example_embed_redeems_a_kiosk_page_code_and_answers_the_name(
    relay: RelayProcess, embed: EmbedApp
) -> None:
    """The kiosk application's server: the code its page was posted becomes a verified name."""
    code = await kiosk_page_code(relay, "Katherine Johnson")
    async with httpx.AsyncClient(base_url=embed.url, timeout=WITHIN) as page:
        answer = await page.post("/signed-in", json={"code": code}, headers=SAME_ORIGIN)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"name": "Katherine Johnson"}
        again = await page.post("/signed-in", json={"code": code}, headers=SAME_ORIGIN)
    assert again.status_code == 400
    assert again.json() == {"error": "/token refused: invalid_grant"}
    wait_until(lambda: "Signed in: Katherine Johnson (sandbox:" in embed.printed(), WITHIN, "log")
    assert SECRET not in embed.printed()


async def test_kiosk_example_embed_frames_the_kiosk_page_the_relay_lets_it_frame(
    relay: RelayProcess, embed: EmbedApp, embed_url: str
) -> None:
    """relay.toml's redirect_uri is embed.py's origin: the relay's page lets it, and only it,
    frame the kiosk page; and the unlock address embed.py prints opens that page."""
    unlock = f"{relay.url}/kiosk/{CLIENT_ID}?key={KEY}"
    assert f"  {unlock}\n" in embed.printed()
    async with httpx.AsyncClient(timeout=WITHIN) as browser:
        opened = await browser.get(unlock)
        assert opened.status_code == 303, opened.text
        kiosk_page = await browser.get(f"{relay.url}/kiosk/{CLIENT_ID}")
        assert kiosk_page.status_code == 200
        assert f"frame-ancestors {embed_url}" in kiosk_page.headers["content-security-policy"]
        assert f'data-target-origin="{embed_url}"' in kiosk_page.text

        home = await browser.get(embed_url)
    assert home.status_code == 200
    assert f'<iframe id="kiosk" src="{relay.url}/kiosk/{CLIENT_ID}"' in home.text
    assert re.findall(r"<script[^>]*>", home.text) == ['<script src="/embed.js" defer>']
    policy = home.headers["content-security-policy"]
    assert f"frame-src {relay.url};" in policy and "script-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b'{"code": "not-a-code"}', {"Content-Type": "application/json"}, 400),
        (b"code=abc", {"Content-Type": "application/x-www-form-urlencoded"}, 415),
        (b"{not json", {"Content-Type": "application/json"}, 400),
        (b'["code"]', {"Content-Type": "application/json"}, 400),
        (b'{"code": 7}', {"Content-Type": "application/json"}, 400),
        (
            b'{"code": "x"}',
            {"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"},
            403,
        ),
    ],
)
async def test_kiosk_example_embed_refuses_what_is_not_a_code_with_a_reason(
    embed: EmbedApp, body: bytes, headers: dict[str, str], status: int
) -> None:
    async with httpx.AsyncClient(base_url=embed.url, timeout=WITHIN) as page:
        answer = await page.post("/signed-in", content=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]
