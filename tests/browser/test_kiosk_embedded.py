"""examples/kiosk/embed.py in Chromium: the kiosk's own application frames the relay's kiosk page
(message mode) and greets whoever signs in.

The app runs as its README starts it (a process, configured by its environment) on another port
of the relay's host: the same site, so the frame gets the kiosk cookie, and the origin of the
client's redirect_uri, so the relay lets it frame the page. The browser opens the unlock address
embed.py prints, then the app; a phone scans the QR read from a screenshot's pixels and approves
at the sandbox; the app shows "Welcome, NAME" beside the frame, which shows a fresh QR.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import FrameLocator, Page, expect

from tests.browser.conftest import DESKTOP, ContextMaker, RelayStarter, Shots
from tests.browser.steps import approve_at_sandbox, decode_qr, phone_continues, phone_opens
from tests.cluster_support import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
EMBED = ROOT / "examples" / "kiosk" / "embed.py"
KEY = "kiosk-embedded-test-key-3b9a1f"
NAME = "Grace Hopper"
STARTS_WITHIN = 20.0  # seconds embed.py has to answer (generous: two slow cores)
UNLOCK_LINE = re.compile(r"^  (http://\S+/kiosk/demo\?key=\S+)$", re.M)


class EmbedApp:
    """embed.py as a process of this test, stopped by its own pid."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, relay_url: str) -> None:
        environ = {
            **os.environ,
            "RELAY_URL": relay_url,
            "CLIENT_ID": "demo",
            "CLIENT_SECRET": "demo-secret",
            "KIOSK_KEY": KEY,
        }
        with self.log.open("wb") as output:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [sys.executable, str(EMBED), "--port", str(self.port)],
                env=environ,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        wait_until(self.answers, STARTS_WITHIN, "embed.py answering")

    def answers(self) -> bool:
        assert self.process is not None and self.process.poll() is None, self.printed()
        try:
            return httpx.get(self.url, timeout=1.0).status_code == 200
        except httpx.TransportError:
            return False

    def printed(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def embed(tmp_path: Path) -> Iterator[EmbedApp]:
    app = EmbedApp(tmp_path / "embed.log")
    yield app
    app.stop()
    print(f"----- embed.py -----\n{app.printed()}")  # shown on failure


def shown_code(screen: Page, frame: FrameLocator, shots: Shots, step: str, before: str) -> str:
    """The frame's pending QR (another than `before`), read from a screenshot of the app."""
    kiosk = frame.locator("#kiosk")
    expect(kiosk).to_have_attribute("data-status", "pending")
    expect(kiosk).not_to_have_attribute("data-scan-url", before)
    expect(frame.locator("#qr svg path")).to_be_visible()
    url = decode_qr(shots(screen, step))
    assert url == kiosk.get_attribute("data-scan-url")
    return url


def test_kiosk_embedded_in_its_app_greets_who_signed_in_and_shows_the_next_code(
    start_relay: RelayStarter,
    embed: EmbedApp,
    new_context: ContextMaker,
    phone: Page,
    shots: Shots,
) -> None:
    relay = start_relay(
        demo_client={
            "kiosk": True,
            "kiosk_key": KEY,
            "kiosk_mode": "message",
            "redirect_uris": (f"{embed.url}/signed-in",),
        }
    )
    embed.start(relay.url)
    screen = new_context(**DESKTOP).new_page()
    errors: list[str] = []  # a policy violation, a script error: in the app or in its frame
    screen.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    screen.on("pageerror", lambda error: errors.append(str(error)))

    # Once: the unlock address embed.py printed, in a top-level tab; then the app.
    printed = UNLOCK_LINE.search(embed.printed())
    assert printed is not None, embed.printed()
    assert printed.group(1) == f"{relay.url}/kiosk/demo?key={KEY}"
    screen.goto(printed.group(1))
    assert screen.url == f"{relay.url}/kiosk/demo"
    screen.goto(embed.url)
    frame = screen.frame_locator("#kiosk")
    url = shown_code(screen, frame, shots, "app-first-code", "")
    assert url.startswith(f"{relay.url}/s/")
    expect(screen.locator("#welcome")).to_have_text("")

    phone_opens(phone, url)
    expect(frame.locator("#kiosk")).to_have_attribute("data-status", "scanned")
    shots(screen, "app-scanned")
    phone_continues(phone, screen)
    approve_at_sandbox(phone, name=NAME)
    shots(phone, "phone-done")

    expect(screen.locator("#welcome")).to_have_text(f"Welcome, {NAME}")
    shots(screen, "app-welcome")
    # The frame meanwhile moves on to the next person, and the greeting goes after a while.
    shown_code(screen, frame, shots, "app-next-code", url)
    expect(screen.locator("#welcome")).to_have_text("")
    shots(screen, "app-ready-again")
    assert f"Signed in: {NAME} (sandbox:" in embed.printed()
    assert screen.url == f"{embed.url}/"  # one page all along: the frame did the work
    assert errors == []
