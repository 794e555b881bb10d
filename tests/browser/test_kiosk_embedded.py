"""examples/kiosk/embed.py in Chromium: the kiosk's own application frames the relay's kiosk page
(message mode) and greets whoever signs in.

The app runs as its README starts it (a process, configured by its environment) on another port
of the relay's host: the same site, so the frame gets the kiosk cookie, and the origin of the
client's redirect_uri, so the relay lets it frame the page. The browser opens the unlock address
embed.py prints, then the app; a phone scans the QR read from a screenshot's pixels and approves
at the sandbox; the app shows "Welcome, NAME" beside the frame, which shows a fresh QR.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import DESKTOP, ContextMaker, RelayStarter, Shots
from tests.browser.steps import approve_at_sandbox, kiosk_code, phone_continues, phone_opens
from tests.examples.embed_app import EmbedApp

KEY = "kiosk-embedded-test-key-3b9a1f"
NAME = "Grace Hopper"
UNLOCK_LINE = re.compile(r"^  (http://\S+/kiosk/demo\?key=\S+)$", re.M)


@pytest.fixture
def embed(tmp_path: Path) -> Iterator[EmbedApp]:
    with EmbedApp(tmp_path / "embed.log") as app:
        yield app


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
    embed.start(relay.url, client_id="demo", client_secret="demo-secret", kiosk_key=KEY)
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
    url = kiosk_code(screen, shots, "app-first-code", "", within=frame)
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
    kiosk_code(screen, shots, "app-next-code", url, within=frame)
    expect(screen.locator("#welcome")).to_have_text("")
    shots(screen, "app-ready-again")
    assert f"Signed in: {NAME} (sandbox:" in embed.printed()
    assert screen.url == f"{embed.url}/"  # one page all along: the frame did the work
    assert errors == []
