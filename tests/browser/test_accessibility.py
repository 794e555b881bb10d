"""Accessibility and look, checked in Chromium: axe-core (npm, pinned in package-lock.json) on
every page a person sees in a login, each in four views (a desktop window, a 320 px phone, a
1080p kiosk screen, and the dark colour scheme); the keyboard, the announcements, the QR's text
alternative, the dark theme and reduced motion.

axe is injected with page.evaluate of node_modules/axe-core/axe.min.js, not with a <script> tag
and a context with bypass_csp: evaluation through the DevTools protocol is not subject to the
page's Content-Security-Policy (`default-src 'self'`, which refuses inline scripts), so the pages
are checked exactly as they are served, under their real policy.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from relay.oidc.keys import SigningKey
from relay.settings import Settings
from tests.browser.conftest import (
    ARTIFACTS,
    DESKTOP,
    PHONE,
    ROOT,
    WAIT_MS,
    ContextMaker,
    LiveRelay,
    Shots,
    unavailable,
)
from tests.browser.steps import (
    approve_at_sandbox,
    decode_qr,
    phone_continues,
    phone_opens,
    query_of,
    scan_screen,
    signed_in_at_demo,
    start_at_demo,
    status_of,
)
from tests.conftest import make_settings

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = {"serious", "critical"}


@dataclass(frozen=True)
class View:
    name: str
    viewport: dict[str, int] | None  # None: the context's own
    color_scheme: str = "light"


VIEWS = (
    View("window", None),
    View("320px", {"width": 320, "height": 640}),
    View("1080p", {"width": 1920, "height": 1080}),
    View("dark", None, "dark"),
)


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        unavailable(f"{AXE.relative_to(ROOT)} is missing: `make npm` (npm ci) installs axe-core")
    return AXE.read_text()


def axe_violations(page: Page, axe_source: str) -> list[dict[str, Any]]:
    """What axe-core finds on the page as it is now, with the WCAG 2.0/2.1 A and AA rules."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source)
    result: dict[str, Any] = page.evaluate(
        """tags => axe.run(document, {
            runOnly: {type: "tag", values: tags},
            resultTypes: ["violations"],
        })""",
        WCAG_TAGS,
    )
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def described(violation: dict[str, Any]) -> str:
    targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]]
    return f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}"


@dataclass
class Audit:
    """Each page checked in every view: axe's serious and critical violations, a page wider than
    a 320 px screen, and a page whose lang is not the language it was asked for; everything axe
    said, and a screenshot per view, under test-artifacts/browser/accessibility/<locale>/."""

    axe_source: str
    locale: str
    folder: Path
    problems: dict[str, list[str]] = field(default_factory=dict)
    reached: list[str] = field(default_factory=list)
    failure: str | None = None

    def check(self, page: Page, name: str) -> None:
        page.wait_for_load_state("load")
        own = page.viewport_size
        found: list[str] = []
        report: dict[str, Any] = {"url": page.url, "views": {}}
        lang = page.evaluate("() => document.documentElement.lang")
        if lang.split("-")[0].lower() != self.locale.split("-")[0]:
            found.append(f"<html lang={lang!r}> on a page asked for in {self.locale}")
        for view in VIEWS:
            page.emulate_media(color_scheme=view.color_scheme)  # type: ignore[arg-type]
            if view.viewport:
                page.set_viewport_size(view.viewport)  # type: ignore[arg-type]
            violations = axe_violations(page, self.axe_source)
            report["views"][view.name] = violations
            found += [
                f"[{view.name}] {described(v)}"
                for v in violations
                if v["impact"] in FAILING_IMPACTS
            ]
            if view.name == "320px":
                width = page.evaluate("() => document.documentElement.scrollWidth")
                if width > 320:
                    found.append(f"[320px] the page is {width} px wide: it scrolls sideways")
            self.folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(
                path=self.folder / f"{name}-{view.name}.png", full_page=True, scale="css"
            )
            if own:
                page.set_viewport_size(own)
        page.emulate_media(color_scheme="light")
        (self.folder / f"{name}.json").write_text(json.dumps(report, indent=1))
        self.problems[name] = found
        self.reached.append(name)


PAGES = (
    "demo",
    "login-pending",
    "phone",
    "login-scanned",
    "sandbox",
    "phone-done",
    "demo-signed-in",
    "login-handheld",
    "login-expired",
    "message-ended",
    "authorize-error",
    "device-entry",
    "device-confirm",
    "kiosk",
)
KIOSK_KEY = "k" * 32


def kiosk_settings(url: str) -> Settings:
    """The walk's relay: its demo client also uses the device flow, and "lobby" has the kiosk
    page (a client with a kiosk_key cannot start a login at /authorize, as the demo does)."""
    settings = make_settings(url)
    clients = dict(settings.clients)
    clients["demo"] = replace(clients["demo"], kiosk=True)
    clients["lobby"] = replace(clients["demo"], client_id="lobby", kiosk_key=KIOSK_KEY)
    return replace(settings, clients=clients)


def device_user_code(relay: LiveRelay) -> str:
    """A device authorization for the demo client, as a kiosk program asks for one."""
    answer = httpx.post(
        f"{relay.url}/device_authorization",
        data={"scope": "openid profile"},
        auth=("demo", "demo-secret"),
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["user_code"])


LOCALES = ("en-US", "zh-CN")


def walk(audit: Audit, browser: Browser, relay: LiveRelay, short: LiveRelay) -> None:
    """A login as a person does it, with every page it shows checked on the way."""
    contexts: list[BrowserContext] = []
    try:
        for options in (DESKTOP, PHONE, DESKTOP):
            contexts.append(browser.new_context(**options, locale=audit.locale))
            contexts[-1].set_default_timeout(WAIT_MS)
        desktop, phone, waiting = (context.new_page() for context in contexts)
        # A login that will expire meanwhile, on a relay of its own with a short session_ttl.
        start_at_demo(waiting, short)

        desktop.goto(f"{relay.url}/demo")
        audit.check(desktop, "demo")
        start_at_demo(desktop, relay)
        audit.check(desktop, "login-pending")
        url = decode_qr(desktop.screenshot())
        phone_opens(phone, url)
        audit.check(phone, "phone")
        status_of(desktop).to_have_attribute("data-status", "scanned")
        audit.check(desktop, "login-scanned")
        phone_continues(phone, desktop)
        audit.check(phone, "sandbox")
        approve_at_sandbox(phone)
        audit.check(phone, "phone-done")
        signed_in_at_demo(desktop, relay)
        audit.check(desktop, "demo-signed-in")
        # On the phone already: its login page offers to go on in this browser.
        start_at_demo(phone, relay)
        audit.check(phone, "login-handheld")

        status_of(waiting).to_have_attribute("data-status", "expired")
        audit.check(waiting, "login-expired")
        desktop.goto(f"{relay.url}/sessions/no-such-login")
        audit.check(desktop, "message-ended")
        desktop.goto(f"{relay.url}/authorize?client_id=demo&response_type=code&redirect_uri=x")
        audit.check(desktop, "authorize-error")
        # A device's code typed on the phone: the form, then "does the screen show this code?"
        phone.goto(f"{relay.url}/device")
        audit.check(phone, "device-entry")
        phone.locator("#user-code").fill(device_user_code(relay).lower())
        phone.locator("#user-code").press("Enter")
        phone.wait_for_url(re.compile(r"/device$"))
        audit.check(phone, "device-confirm")
        # The kiosk page, opened once with its key.
        desktop.goto(f"{relay.url}/kiosk/lobby?key={KIOSK_KEY}")
        expect(desktop.locator("#kiosk")).to_have_attribute("data-status", "pending")
        audit.check(desktop, "kiosk")
    except Exception as exc:
        audit.failure = f"{type(exc).__name__}: {exc}"
    finally:
        for context in contexts:
            context.close()


@pytest.fixture(scope="module", params=LOCALES)
def audit(
    request: pytest.FixtureRequest, browser: Browser, axe_source: str, signing_key: SigningKey
) -> Iterator[Audit]:
    """One walk through a login in each language, shared by the per-page tests below."""
    relays = [
        LiveRelay(kiosk_settings, signing_key).start(),
        LiveRelay(lambda url: make_settings(url, session_ttl=3), signing_key).start(),
    ]
    locale = str(request.param)
    found = Audit(axe_source, locale, ARTIFACTS / "accessibility" / locale)
    try:
        walk(found, browser, *relays)
        yield found
    finally:
        for relay in relays:
            relay.stop()


@pytest.mark.parametrize("page_name", PAGES)
def test_accessibility_page_has_no_serious_violation_in_any_view(
    audit: Audit, page_name: str
) -> None:
    if page_name not in audit.reached:
        pytest.fail(f"the walk in {audit.locale} did not reach {page_name}: {audit.failure}")
    problems = audit.problems[page_name]
    assert not problems, f"{page_name} in {audit.locale}:\n  " + "\n  ".join(problems)


# --- the login page: kiosk, keyboard, announcements, text alternative, themes -------------------


def test_accessibility_kiosk_screen_shows_a_large_scannable_qr(
    new_context: ContextMaker, relay: LiveRelay, shots: Shots
) -> None:
    page = new_context(**{**DESKTOP, "viewport": {"width": 1920, "height": 1080}}).new_page()
    start_at_demo(page, relay)
    box = page.locator("#qr svg").bounding_box()
    assert box is not None
    assert box["height"] >= 0.4 * 1080, f"the QR is {box['height']} px high on a 1080p screen"
    assert box["y"] + box["height"] <= 1080, "the QR does not fit on the screen"
    scan_screen(page, shots, "kiosk", relay)


def tab_to(page: Page, selector: str, presses: int = 25) -> list[str]:
    """Press Tab until the element matching `selector` has the focus; what got it on the way."""
    seen: list[str] = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        seen.append(
            page.evaluate("() => document.activeElement?.id || document.activeElement?.tagName")
        )
        if page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return seen
    raise AssertionError(f"Tab never reached {selector}; the focus went through {seen}")


def focus_ring(page: Page) -> dict[str, str]:
    style: dict[str, str] = page.evaluate(
        """() => {
            const s = getComputedStyle(document.activeElement);
            return {style: s.outlineStyle, width: s.outlineWidth, color: s.outlineColor};
        }"""
    )
    return style


def has_focus_ring(page: Page) -> None:
    ring = focus_ring(page)
    assert ring["style"] != "none", ring
    assert float(ring["width"].removesuffix("px")) >= 2, ring


def test_accessibility_keyboard_reaches_open_here_and_activates_it_with_space(
    desktop: Page, relay: LiveRelay, shots: Shots
) -> None:
    start_at_demo(desktop, relay)
    tab_to(desktop, "#same-device")
    has_focus_ring(desktop)
    shots(desktop, "focused-open-here")
    desktop.keyboard.press("Space")
    # "Open on this device": the login goes on at the provider in this browser.
    desktop.wait_for_url(re.compile(r"/sandbox/authorize\?"))
    shots(desktop, "at-the-provider")


def test_accessibility_keyboard_reaches_cancel_and_activates_it_with_enter(
    desktop: Page, relay: LiveRelay, shots: Shots
) -> None:
    start_at_demo(desktop, relay)
    seen = tab_to(desktop, "#cancel")
    assert "same-device" in seen, f"Tab went past no Open on this device: {seen}"
    has_focus_ring(desktop)
    shots(desktop, "focused-cancel")
    desktop.keyboard.press("Enter")
    desktop.wait_for_url(re.compile(r"/demo/callback\?"))
    assert query_of(desktop.url)["error"] == "access_denied"


def test_accessibility_status_is_announced_and_changes_on_scan(
    desktop: Page, phone: Page, relay: LiveRelay, shots: Shots
) -> None:
    start_at_demo(desktop, relay)
    status = desktop.locator("#status")
    assert status.get_attribute("aria-live") in ("polite", "assertive")
    before = status.inner_text()
    assert before.strip()
    url = scan_screen(desktop, shots, "login-page", relay)
    phone_opens(phone, url)
    expect(status).not_to_have_text(before)
    assert status.inner_text().strip()
    shots(desktop, "scanned")


def test_accessibility_qr_has_a_text_alternative(desktop: Page, relay: LiveRelay) -> None:
    start_at_demo(desktop, relay)
    qr = desktop.locator("#qr")
    assert qr.get_attribute("role") == "img"
    label = qr.get_attribute("aria-label") or ""
    assert len(label.strip()) > 10, label
    # Assistive technology finds it by that name, as an image.
    expect(desktop.get_by_role("img", name=label)).to_be_visible()


def luminance(css_color: str) -> float:
    red, green, blue = (int(x) / 255 for x in re.findall(r"\d+", css_color)[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def test_accessibility_dark_colour_scheme_gives_a_dark_page(
    new_context: ContextMaker, relay: LiveRelay, shots: Shots
) -> None:
    page = new_context(**DESKTOP, color_scheme="dark").new_page()
    start_at_demo(page, relay)
    background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    text = page.evaluate("() => getComputedStyle(document.body).color")
    assert luminance(background) < 0.2 < 0.8 < luminance(text), (background, text)
    # The QR keeps its own white background: phones read dark-on-light codes.
    scan_screen(page, shots, "dark-login", relay)


def test_accessibility_reduced_motion_turns_transitions_off(
    new_context: ContextMaker, relay: LiveRelay
) -> None:
    durations = {}
    for motion in ("no-preference", "reduce"):
        page = new_context(**DESKTOP, reduced_motion=motion).new_page()
        start_at_demo(page, relay)
        page.locator("#qr").evaluate("qr => qr.classList.add('dimmed')")  # as after a scan
        durations[motion] = page.locator("#qr svg").evaluate(
            "svg => getComputedStyle(svg).transitionDuration"
        )
    # The scanned code fades out (static/relay.css), unless the reader asked for less motion.
    assert durations["no-preference"] != "0s", durations
    assert durations["reduce"] == "0s", durations
