"""The steps of a login as a person does them in a browser, shared by the browser tests.

Elements are found by id, role, form action or data attribute, never by their text: the pages are
shown in English or Chinese.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import zxingcpp
from PIL import Image
from playwright.sync_api import FrameLocator, Page, expect

from tests.browser.conftest import LiveRelay, Shots

SANDBOX_USER = "Ada Lovelace"


def decode_qr(png: bytes) -> str:
    """The text of the one QR code in a screenshot, read from its pixels by zxing-cpp."""
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
    found = [
        code
        for code in zxingcpp.read_barcodes(pixels)
        if code.format == zxingcpp.BarcodeFormat.QRCode
    ]
    assert len(found) == 1, f"expected one QR code in the screenshot, found {len(found)}"
    return str(found[0].text)


def kiosk_code(
    screen: Page,
    shots: Shots,
    step: str,
    before: str | None = None,
    *,
    within: Page | FrameLocator | None = None,
) -> str:
    """Waits for the kiosk page's pending QR (another than `before`, when given) and reads it
    from a screenshot of `screen`. The kiosk page is `screen` itself, or the frame `within` it
    when an application embeds the page."""
    root = screen if within is None else within
    kiosk = root.locator("#kiosk")
    expect(kiosk).to_have_attribute("data-status", "pending")
    if before is not None:
        expect(kiosk).not_to_have_attribute("data-scan-url", before)
    expect(root.locator("#qr svg path")).to_be_visible()
    url = decode_qr(shots(screen, step))
    assert url == kiosk.get_attribute("data-scan-url")
    return url


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def status_of(page: Page) -> Any:
    """The login page's state, as its script keeps it (data-status on #login)."""
    return expect(page.locator("#login"))


def start_at_demo(page: Page, relay: LiveRelay) -> str:
    """The desktop opens the demo app and presses Sign in: the relay's login page, pending. The
    session's id."""
    page.goto(f"{relay.url}/demo")
    page.locator("form[action='/demo/login'] button[type=submit]").first.click()
    page.wait_for_url(re.compile(r"/sessions/[^/]+$"))
    status_of(page).to_have_attribute("data-status", "pending")
    expect(page.locator("#qr svg")).to_be_visible()
    return urlsplit(page.url).path.rsplit("/", 1)[1]


def scan_screen(page: Page, shots: Shots, step: str, relay: LiveRelay) -> str:
    """A screenshot of the desktop's screen, as a phone's camera sees it: the URL in its QR."""
    url = decode_qr(shots(page, step))
    assert url.startswith(f"{relay.url}/s/"), url
    return url


def phone_opens(phone: Page, url: str) -> None:
    """The phone opens what it scanned: the relay's page asking whether to go on."""
    phone.goto(url)
    phone.wait_for_url(re.compile(r"/phone/[^/?]+$"))
    expect(phone.locator("form[action$='/decline'] button[type=submit]")).to_be_visible()


def phone_continues(phone: Page, desktop: Page) -> None:
    """Continue on the phone; where the client asks for a match, pick the number the desktop
    shows. The phone goes on to the provider."""
    choices = phone.locator("button[name=pick]")
    if choices.count():
        shown = desktop.locator("#match-code strong").inner_text().strip()
        phone.locator(f"button[name=pick][value='{shown}']").click()
    else:
        phone.locator("form[action$='/continue'] button[type=submit]").click()
    phone.wait_for_url(re.compile(r"/sandbox/authorize\?"))


def approve_at_sandbox(phone: Page, name: str = SANDBOX_USER) -> None:
    """At the sandbox provider: type a name, Approve. The phone lands on the relay's callback."""
    phone.locator("#name").fill(name)
    phone.locator("#approve").click()
    phone.wait_for_url(re.compile(r"/callback/sandbox\?"))


def deny_at_sandbox(phone: Page) -> None:
    phone.locator("#deny").click()
    phone.wait_for_url(re.compile(r"/callback/sandbox\?"))


def signed_in_at_demo(desktop: Page, relay: LiveRelay, name: str = SANDBOX_USER) -> dict[str, Any]:
    """The desktop, untouched, has ended on the demo's result page; the id_token's claims it
    shows, checked."""
    desktop.wait_for_url(re.compile(r"/demo/callback\?"))
    claims_block = desktop.locator("#claims")
    expect(claims_block).to_be_visible()
    claims: dict[str, Any] = json.loads(claims_block.inner_text())
    assert claims["iss"] == relay.url
    assert claims["aud"] == "demo"
    assert claims["name"] == name
    assert claims["idp"] == "sandbox"
    userinfo = json.loads(desktop.locator("#userinfo").inner_text())
    assert userinfo["sub"] == claims["sub"]
    return claims


def login_with_phone(
    desktop: Page, phone: Page, relay: LiveRelay, url: str, shots: Shots, name: str = SANDBOX_USER
) -> dict[str, Any]:
    """From a scanned URL to the claims on the desktop: the phone opens it, continues, approves."""
    phone_opens(phone, url)
    status_of(desktop).to_have_attribute("data-status", "scanned")
    shots(phone, "phone-asks")
    shots(desktop, "desktop-scanned")
    phone_continues(phone, desktop)
    shots(phone, "sandbox")
    approve_at_sandbox(phone, name)
    shots(phone, "phone-done")
    claims = signed_in_at_demo(desktop, relay, name)
    shots(desktop, "desktop-signed-in", full_page=True)
    return claims
