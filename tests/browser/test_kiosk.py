"""The kiosk page in Chromium (relay/kiosk/, static/kiosk.js).

Message mode: three people sign in one after another on one page without a reload. Each time the
phone scans the QR read from a screenshot's pixels, the page posts the code to its window
(`qr-relay-login`), the code works at /token, and the page shows a fresh QR; and after each login
the page's JS heap and the relay's open logins and live streams are back where they started.

And what a kiosk meets in its life: redirect mode's trip to the application on another site and
back; its cookie gone; its clock hours off; a browser that refuses to post the code."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import CDPSession, Page, expect

from tests.browser.conftest import DESKTOP, ContextMaker, LiveRelay, RelayStarter, Shots
from tests.browser.steps import (
    approve_at_sandbox,
    kiosk_code,
    phone_continues,
    phone_opens,
)

KEY = "kiosk-browser-test-key-7d2e"
LOGINS = 3
# What the heap may grow by over the start, after a garbage collection: the first login runs code
# the page had not run yet (its compiled code and inline caches stay, about 300 KiB here); after
# that a login that left something behind (socket, timers, QR drawing) adds up login after login.
HEAP_SLACK = 512 * 1024  # bytes, over the start
HEAP_SLACK_PER_LOGIN = 128 * 1024  # bytes, over the first login's figure, for each login after it

LISTEN = """() => {
  window.kioskMessages = [];
  window.addEventListener("message", (event) => {
    window.kioskMessages.push({ origin: event.origin, data: event.data });
  });
}"""


def heap_after_gc(cdp: CDPSession) -> int:
    for _ in range(2):  # a second pass collects what the first one's finalizers let go
        cdp.send("HeapProfiler.collectGarbage")
    return int(cdp.send("Runtime.getHeapUsage")["usedSize"])


def dom_counters(cdp: CDPSession) -> tuple[int, int]:
    """Documents and JS event listeners alive (after heap_after_gc)."""
    counters = cdp.send("Memory.getDOMCounters")
    return int(counters["documents"]), int(counters["jsEventListeners"])


def open_logins(relay: LiveRelay) -> tuple[float, float]:
    """Logins started and not ended, and live websockets, as the relay's metrics count them."""
    registry = relay.app.state.relay.metrics.registry

    def total(name: str) -> float:
        return sum(
            sample.value
            for metric in registry.collect()
            for sample in metric.samples
            if sample.name == name
        )

    started = total("relay_sessions_created_total")
    ended = total("relay_sessions_ended_total")
    sockets = registry.get_sample_value("relay_open_streams", {"transport": "websocket"}) or 0.0
    return started - ended, sockets


def test_kiosk_signs_in_three_people_in_a_row_without_a_reload_or_a_leak(
    start_relay: RelayStarter, new_context: ContextMaker, phone: Page, shots: Shots
) -> None:
    relay = start_relay(demo_client={"kiosk": True, "kiosk_key": KEY, "kiosk_mode": "message"})
    screen = new_context(**{**DESKTOP, "viewport": {"width": 1280, "height": 800}}).new_page()
    screen.goto(f"{relay.url}/kiosk/demo?key={KEY}")
    assert screen.url == f"{relay.url}/kiosk/demo"  # the key left the address bar
    screen.evaluate(LISTEN)
    loads = screen.evaluate("() => performance.getEntriesByType('navigation').length")
    cdp = screen.context.new_cdp_session(screen)

    url = kiosk_code(screen, shots, "kiosk-first-code")
    start_heap = heap_after_gc(cdp)
    start_dom = dom_counters(cdp)
    start_open = open_logins(relay)
    print(f"start: heap {start_heap} bytes, documents and listeners {start_dom}, open {start_open}")
    first_heap = 0
    assert start_open == (1.0, 1.0)

    for number in range(1, LOGINS + 1):
        phone_opens(phone, url)
        expect(screen.locator("#kiosk")).to_have_attribute("data-status", "scanned")
        shots(screen, f"kiosk-{number}-scanned")
        phone_continues(phone, screen)
        approve_at_sandbox(phone, name=f"Visitor {number}")
        expect(screen.locator("#kiosk")).to_have_attribute("data-status", "completed")
        shots(screen, f"kiosk-{number}-signed-in")

        messages: list[dict[str, Any]] = screen.evaluate("() => window.kioskMessages")
        assert len(messages) == number
        message = messages[-1]
        assert message["origin"] == relay.url  # not embedded: posted to itself
        data = message["data"]
        assert data["type"] == "qr-relay-login" and data["iss"] == relay.url
        assert data["state"] and data["code"]
        tokens = httpx.post(
            f"{relay.url}/token",
            data={"grant_type": "authorization_code", "code": data["code"]},
            auth=("demo", "demo-secret"),
        )
        assert tokens.status_code == 200, tokens.text

        url = kiosk_code(screen, shots, f"kiosk-{number}-next-code", url)
        heap = heap_after_gc(cdp)
        dom = dom_counters(cdp)
        now_open = open_logins(relay)
        print(
            f"after login {number}: heap {heap} bytes ({heap - start_heap:+d}), "
            f"documents and listeners {dom}, open logins and websockets {now_open}"
        )
        assert heap - start_heap < HEAP_SLACK, (start_heap, heap)
        first_heap = first_heap or heap
        assert heap - first_heap < HEAP_SLACK_PER_LOGIN * (number - 1) + 1, (first_heap, heap)
        assert dom == start_dom
        assert now_open == start_open

    # One page all along: no reload, and no cookie of a finished login left in the browser.
    assert screen.evaluate("() => performance.getEntriesByType('navigation').length") == loads
    assert re.fullmatch(re.escape(relay.url) + "/kiosk/demo", screen.url)
    bind = [c for c in screen.context.cookies() if c["name"].startswith("relay_bind_")]
    assert len(bind) == 1, bind  # the login on screen now


# --- redirect mode: to the application on its own site, and back --------------------------------


class KioskApp:
    """The kiosk's application in redirect mode, on http://localhost:PORT: another site than the
    relay's 127.0.0.1 for the browser. /signed-in keeps the query it was sent (code, state, iss)
    and links back to the kiosk page, as a real one would once it has redeemed the code."""

    def __init__(self) -> None:
        self.back_to = ""
        self.arrived: list[dict[str, str]] = []
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != "/signed-in":
                    self.send_error(404)
                    return
                app.arrived.append({k: v[0] for k, v in parse_qs(parts.query).items()})
                body = (
                    "<!doctype html><title>Signed in</title>"
                    f'<a id="next" href="{escape(app.back_to)}">Next person</a>'
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://localhost:{self.server.server_address[1]}/signed-in"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def kiosk_app() -> Iterator[KioskApp]:
    app = KioskApp()
    yield app
    app.close()


def test_kiosk_redirect_mode_is_still_unlocked_when_the_app_on_another_site_sends_it_back(
    start_relay: RelayStarter,
    new_context: ContextMaker,
    phone: Page,
    shots: Shots,
    kiosk_app: KioskApp,
) -> None:
    """The kiosk cookie must come along when the application, on its own site, links back to the
    kiosk page (SameSite=Lax; a Strict cookie stays home, and the page said it was locked)."""
    relay = start_relay(
        demo_client={"kiosk": True, "kiosk_key": KEY, "redirect_uris": (kiosk_app.url,)}
    )
    kiosk_app.back_to = f"{relay.url}/kiosk/demo"
    screen = new_context(**DESKTOP).new_page()
    screen.goto(f"{relay.url}/kiosk/demo?key={KEY}")
    url = kiosk_code(screen, shots, "redirect-first-code")

    phone_opens(phone, url)
    phone_continues(phone, screen)
    approve_at_sandbox(phone, name="Visitor")
    screen.wait_for_url(re.compile(re.escape(kiosk_app.url) + r"\?"))
    shots(screen, "redirect-at-the-app")
    arrived = kiosk_app.arrived[-1]
    assert arrived["iss"] == relay.url and arrived["state"]
    tokens = httpx.post(
        f"{relay.url}/token",
        data={"grant_type": "authorization_code", "code": arrived["code"]},
        auth=("demo", "demo-secret"),
    )
    assert tokens.status_code == 200, tokens.text

    screen.locator("#next").click()  # a navigation from another site
    screen.wait_for_url(f"{relay.url}/kiosk/demo")
    kiosk_code(screen, shots, "redirect-back-next-code", url)


# --- a kiosk's cookie gone, its clock off, its code refused ---------------------------------------


def test_kiosk_whose_cookie_is_gone_reloads_and_says_it_is_locked(
    start_relay: RelayStarter, new_context: ContextMaker, shots: Shots
) -> None:
    """Its cookie gone (cleared, or 30 days off), the page's next login is refused (403): the page
    reloads and says it is locked, where it used to retry without a word for ever."""
    relay = start_relay(session_ttl=3, demo_client={"kiosk": True, "kiosk_key": KEY})
    screen = new_context(**DESKTOP).new_page()
    screen.goto(f"{relay.url}/kiosk/demo?key={KEY}")
    expect(screen.locator("#kiosk")).to_have_attribute("data-status", "pending")
    screen.context.clear_cookies(name="relay_kiosk")
    # The login expires after 3 s; the next one is refused, and a second later the page reloads.
    expect(screen.locator(".notice-error h1")).to_have_text("This kiosk is locked")
    assert screen.url == f"{relay.url}/kiosk/demo"
    expect(screen.locator("#kiosk")).to_have_count(0)
    shots(screen, "kiosk-locked")


COUNT_LOGINS = """() => {
  window.kioskLogins = 0;
  const fetchFor = window.fetch.bind(window);
  window.fetch = (resource, options) => {
    if (String(resource).includes("/logins?")) window.kioskLogins += 1;
    return fetchFor(resource, options);
  };
}"""


def test_kiosk_with_its_clock_hours_ahead_keeps_each_login_its_whole_time(
    start_relay: RelayStarter, new_context: ContextMaker
) -> None:
    """The page times a login out on its own clock, from the seconds the relay gives it: a clock
    two hours ahead used to see every login as over and start one after another, every 3 s."""
    relay = start_relay(demo_client={"kiosk": True, "kiosk_key": KEY})
    ahead = time.time() + 2 * 3600
    screen = new_context(**DESKTOP).new_page()
    # Counted in the page, as the script asks: a fake timer's start() calls fetch there and then.
    screen.add_init_script(script=f"({COUNT_LOGINS})()")
    screen.clock.install(time=ahead)  # Date and the timers: as the kiosk's own clock says
    screen.goto(f"{relay.url}/kiosk/demo?key={KEY}")
    kiosk = screen.locator("#kiosk")
    expect(kiosk).to_have_attribute("data-status", "pending")
    assert screen.evaluate("() => window.kioskLogins") == 1

    # The clock stopped, then a minute on, firing every timer due meanwhile: a login taken for
    # over would start the next one there and then.
    screen.clock.pause_at(screen.evaluate("() => Date.now()") / 1000 + 0.5)
    screen.clock.run_for(60_000)
    assert screen.evaluate("() => window.kioskLogins") == 1
    # Past the login's session_ttl and the page's 3 s of slack: now the next one starts.
    logins = re.compile(re.escape(relay.url) + r"/kiosk/demo/logins\?")
    with screen.expect_request(logins) as following:
        screen.clock.run_for((relay.settings.session_ttl + 3) * 1000)
    assert "previous=" in following.value.url
    expect(kiosk).to_have_attribute("data-status", "pending")
    assert screen.evaluate("() => window.kioskLogins") == 2


BROKEN_POST_MESSAGE = """() => {
  window.postMessage = () => { throw new DOMException("refused", "SyntaxError"); };
}"""


def test_kiosk_goes_on_to_the_next_person_when_the_code_cannot_be_posted(
    start_relay: RelayStarter, new_context: ContextMaker, phone: Page, shots: Shots
) -> None:
    """postMessage throws (an origin the browser refuses): this person's login fails, and the page
    shows the next QR rather than staying at "Confirmed" for good."""
    relay = start_relay(demo_client={"kiosk": True, "kiosk_key": KEY, "kiosk_mode": "message"})
    screen = new_context(**DESKTOP).new_page()
    screen.add_init_script(script=f"({BROKEN_POST_MESSAGE})()")
    screen.goto(f"{relay.url}/kiosk/demo?key={KEY}")
    url = kiosk_code(screen, shots, "unposted-first-code")
    phone_opens(phone, url)
    phone_continues(phone, screen)
    approve_at_sandbox(phone, name="Visitor")
    expect(screen.locator("#kiosk")).to_have_attribute("data-status", "failed")
    shots(screen, "unposted-failed")
    kiosk_code(screen, shots, "unposted-next-code", url)
