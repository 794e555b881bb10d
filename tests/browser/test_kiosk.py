"""The kiosk page in Chromium (relay/kiosk/, static/kiosk.js), message mode: three people sign
in one after another on one page without a reload. Each time the phone scans the QR read from a
screenshot's pixels, the page posts the code to its window (`qr-relay-login`), the code works at
/token, and the page shows a fresh QR; and after each login the page's JS heap and the relay's
open logins and live streams are back where they started."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import CDPSession, Page, expect

from tests.browser.conftest import DESKTOP, ContextMaker, LiveRelay, RelayStarter, Shots
from tests.browser.steps import (
    approve_at_sandbox,
    decode_qr,
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


def fresh_code(page: Page, shots: Shots, step: str, before: str | None) -> str:
    """Waits for the kiosk's pending QR (another than `before`), read from a screenshot."""
    kiosk = page.locator("#kiosk")
    expect(kiosk).to_have_attribute("data-status", "pending")
    if before is not None:
        expect(kiosk).not_to_have_attribute("data-scan-url", before)
    expect(page.locator("#qr svg path")).to_be_visible()
    url = decode_qr(shots(page, step))
    assert url == kiosk.get_attribute("data-scan-url")
    return url


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

    url = fresh_code(screen, shots, "kiosk-first-code", None)
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

        url = fresh_code(screen, shots, f"kiosk-{number}-next-code", url)
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
