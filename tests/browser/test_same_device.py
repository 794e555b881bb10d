"""The login on one device, in a real browser (relay/pages/same_device.py): on a phone, "Continue
with …" goes on at the provider in the same tab and comes back to the app signed in. And the
other way round: a QR scanned in a window of the browser that shows it (the sandbox's phone
simulator) is an ordinary scan, so the window that shows the QR, not the scanning one, ends at
the app, and the scanning window shows the phone's "Done"."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveRelay, Shots
from tests.browser.steps import (
    SANDBOX_USER,
    approve_at_sandbox,
    phone_continues,
    signed_in_at_demo,
    start_at_demo,
    status_of,
)


def test_same_device_phone_continues_here_and_ends_signed_in_at_the_app(
    phone: Page, relay: LiveRelay, shots: Shots
) -> None:
    start_at_demo(phone, relay)
    here = phone.locator("#continue-here")
    expect(here).to_be_visible()
    expect(phone.locator("#steps")).to_be_hidden()  # nothing to scan on the phone itself
    shots(phone, "login-page", full_page=True)
    here.click()
    phone.wait_for_url(re.compile(r"/sandbox/authorize\?"))
    shots(phone, "sandbox")
    phone.locator("#name").fill(SANDBOX_USER)
    phone.locator("#approve").click()
    # The callback, seeing the login went on here, sends this tab back to the app itself.
    claims = signed_in_at_demo(phone, relay)
    shots(phone, "signed-in", full_page=True)
    assert claims["sub"]
    assert phone.context.pages == [phone], "the login must finish in the same tab"


def test_same_device_phone_simulator_scan_finishes_in_the_tab_with_the_qr(
    desktop: Page, relay: LiveRelay, shots: Shots
) -> None:
    start_at_demo(desktop, relay)
    simulator = desktop.locator("#simulator")
    expect(simulator).to_be_visible()
    shots(desktop, "login-page")
    with desktop.context.expect_page() as opened:
        simulator.click()  # window.open of the scan URL: the same browser, the login's cookie
    popup = opened.value
    popup.wait_for_url(re.compile(r"/phone/[^/?]+$"))
    expect(popup.locator("form[action$='/decline'] button[type=submit]")).to_be_visible()
    status_of(desktop).to_have_attribute("data-status", "scanned")
    shots(popup, "simulator-asks")
    phone_continues(popup, desktop)
    approve_at_sandbox(popup)
    # The simulator is the phone: its part is done, and it says so, not the app's page.
    done = popup.locator(".notice-success h1")
    expect(done).to_be_visible()
    expect(done).to_contain_text("Return to your computer")
    expect(popup.locator("#claims")).to_have_count(0)
    shots(popup, "simulator-done")
    # The tab that shows the QR heard of it through its live stream and ends at the app.
    signed_in_at_demo(desktop, relay)
    shots(desktop, "desktop-signed-in", full_page=True)
    assert re.search(r"/callback/sandbox\?", popup.url), popup.url
