"""A QR login in a real browser, as a person does it: the desktop shows a code, a phone scans it
(the test reads the code from the screenshot's pixels), approves at the provider, and the desktop
page, untouched, arrives signed in at the app."""

from __future__ import annotations

import re

from playwright.sync_api import Page, WebSocketRoute, expect

from tests.browser.conftest import LiveRelay, RelayStarter, Shots
from tests.browser.steps import (
    approve_at_sandbox,
    deny_at_sandbox,
    login_with_phone,
    phone_continues,
    phone_opens,
    query_of,
    scan_screen,
    signed_in_at_demo,
    start_at_demo,
    status_of,
)


def test_login_desktop_signs_in_when_a_phone_scans_and_approves(
    desktop: Page, phone: Page, relay: LiveRelay, shots: Shots
) -> None:
    start_at_demo(desktop, relay)
    url = scan_screen(desktop, shots, "login-page", relay)
    claims = login_with_phone(desktop, phone, relay, url, shots)
    assert claims["sub"]


def test_login_phone_picks_the_number_the_screen_shows(
    desktop: Page, phone: Page, start_relay: RelayStarter, shots: Shots
) -> None:
    relay = start_relay(demo_client={"match_code": True})
    start_at_demo(desktop, relay)
    expect(desktop.locator("#match-code")).to_be_visible()
    url = scan_screen(desktop, shots, "login-page", relay)
    login_with_phone(desktop, phone, relay, url, shots)


def test_login_expired_code_is_refreshed_into_a_new_scannable_one(
    desktop: Page, phone: Page, start_relay: RelayStarter, shots: Shots
) -> None:
    relay = start_relay(session_ttl=8)  # long enough for the phone to scan the new code
    first_session = start_at_demo(desktop, relay)
    first_url = scan_screen(desktop, shots, "login-page", relay)
    status_of(desktop).to_have_attribute("data-status", "expired")
    refresh = desktop.locator("#refresh-form button[type=submit]")
    expect(refresh).to_be_visible()
    expect(desktop.locator("#qr")).to_have_class(re.compile(r"\bdimmed\b"))
    shots(desktop, "expired")
    refresh.click()
    desktop.wait_for_url(re.compile(r"/sessions/[^/]+$"))
    assert not desktop.url.endswith(first_session), "Refresh must start a new login"
    status_of(desktop).to_have_attribute("data-status", "pending")
    url = scan_screen(desktop, shots, "refreshed", relay)
    assert url != first_url
    # The new code is a live one: the phone that scans it gets the question, and the desktop
    # sees the scan.
    phone_opens(phone, url)
    status_of(desktop).to_have_attribute("data-status", "scanned")
    shots(desktop, "refreshed-scanned")


def test_login_rotating_code_is_redrawn_by_the_page_and_still_signs_in(
    desktop: Page, phone: Page, start_relay: RelayStarter, shots: Shots
) -> None:
    relay = start_relay(qr_rotate=10)
    start_at_demo(desktop, relay)
    first_url = scan_screen(desktop, shots, "login-page", relay)
    desktop.locator("#qr svg").evaluate("svg => svg.setAttribute('data-first-code', '')")
    # After ~10 s the server sends the next code's URL and the page draws it (static/qr.js).
    desktop.wait_for_function(
        "() => !document.querySelector('#qr svg[data-first-code]')", timeout=25_000
    )
    url = scan_screen(desktop, shots, "redrawn", relay)
    assert url != first_url
    login_with_phone(desktop, phone, relay, url, shots)


def test_login_cancel_on_the_computer_returns_access_denied_to_the_app(
    desktop: Page, relay: LiveRelay, shots: Shots
) -> None:
    start_at_demo(desktop, relay)
    shots(desktop, "login-page")
    desktop.locator("#cancel").click()
    desktop.wait_for_url(re.compile(r"/demo/callback\?"))
    assert query_of(desktop.url)["error"] == "access_denied"
    expect(desktop.locator("#problem")).to_be_visible()
    expect(desktop.locator("#claims")).to_have_count(0)
    shots(desktop, "back-at-demo")


def test_login_deny_at_the_provider_shows_declined_on_the_computer(
    desktop: Page, phone: Page, relay: LiveRelay, shots: Shots
) -> None:
    start_at_demo(desktop, relay)
    url = scan_screen(desktop, shots, "login-page", relay)
    phone_opens(phone, url)
    phone_continues(phone, desktop)
    shots(phone, "sandbox")
    deny_at_sandbox(phone)
    shots(phone, "phone-after-deny")
    status_of(desktop).to_have_attribute("data-status", "denied")
    expect(desktop.locator("#outcome")).to_be_visible()
    expect(desktop.locator("#outcome-text")).not_to_be_empty()
    expect(desktop.locator("#actions")).to_be_hidden()
    shots(desktop, "declined")
    # The way back tells the app: access_denied.
    desktop.locator("#back").click()
    desktop.wait_for_url(re.compile(r"/demo/callback\?"))
    assert query_of(desktop.url)["error"] == "access_denied"


def test_login_page_reconnects_after_its_websocket_is_cut_and_completes(
    desktop: Page, phone: Page, relay: LiveRelay, shots: Shots
) -> None:
    sockets: list[WebSocketRoute] = []
    streams: list[str] = []

    def through(socket: WebSocketRoute) -> None:
        sockets.append(socket)
        socket.connect_to_server()

    desktop.route_web_socket(re.compile(r"/live$"), through)
    desktop.on("request", lambda r: streams.append(r.url) if r.url.endswith("/events") else None)
    start_at_demo(desktop, relay)
    url = scan_screen(desktop, shots, "login-page", relay)
    phone_opens(phone, url)
    status_of(desktop).to_have_attribute("data-status", "scanned")
    assert len(sockets) == 1
    sockets[0].close(code=1011, reason="cut by the test")  # as a dropped connection
    phone_continues(phone, desktop)
    approve_at_sandbox(phone)
    signed_in_at_demo(desktop, relay)
    shots(desktop, "signed-in")
    assert len(sockets) >= 2, "the page never opened another websocket"
    assert not streams, "a websocket that once worked is retried, not given up for the event stream"


def test_login_page_falls_back_to_the_event_stream_when_websockets_are_refused(
    desktop: Page, phone: Page, relay: LiveRelay, shots: Shots
) -> None:
    refused: list[str] = []
    streams: list[str] = []

    def refuse(socket: WebSocketRoute) -> None:
        refused.append(socket.url)
        socket.close(code=1006)

    desktop.route_web_socket(re.compile(r"/live$"), refuse)
    desktop.on("request", lambda r: streams.append(r.url) if r.url.endswith("/events") else None)
    session_id = start_at_demo(desktop, relay)
    url = scan_screen(desktop, shots, "login-page", relay)
    login_with_phone(desktop, phone, relay, url, shots)
    assert len(refused) >= 2
    assert streams and streams[0] == f"{relay.url}/sessions/{session_id}/events"
