"""Fixtures for the browser tests: a relay on a real uvicorn server, Debian's Chromium driven by
Playwright, a desktop and a phone browser context, and screenshots kept as test artifacts.

The browser is /usr/bin/chromium (scripts/ensure-chromium installs Debian's package; nothing here
downloads a browser). When it cannot be started, the tests fail with CI=true and are skipped
elsewhere, with the reason shown. `-m "not browser"` leaves them out.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

import pytest
import uvicorn

from relay.app import create_app
from relay.oidc.keys import SigningKey
from relay.settings import Settings
from tests.conftest import free_socket, make_settings

try:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        Page,
        Playwright,
        expect,
        sync_playwright,
    )
except ImportError as missing:  # the test extra of pyproject.toml brings it
    PLAYWRIGHT_MISSING: str | None = f"the playwright package is not installed ({missing})"
else:
    PLAYWRIGHT_MISSING = None

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("RELAY_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Generous for 2 slow cores shared with other work: Playwright waits up to this long for a page,
# an element or a condition; nothing here sleeps for a fixed time.
WAIT_MS = 15_000

if PLAYWRIGHT_MISSING is None:
    expect.set_options(timeout=WAIT_MS)

DESKTOP_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
# A real Android phone's Chrome (Pixel 7): the phone side runs in the same Chromium engine.
PHONE_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)
PHONE = {
    "user_agent": PHONE_UA,
    "viewport": {"width": 412, "height": 839},
    "screen": {"width": 412, "height": 915},
    "device_scale_factor": 2.625,
    "is_mobile": True,
    "has_touch": True,
}
DESKTOP = {"user_agent": DESKTOP_UA, "viewport": {"width": 1280, "height": 800}}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives Debian's Chromium (tests/browser/; -m 'not browser' skips)"
    )


def unavailable(reason: str) -> NoReturn:
    """CI must run the browser tests: there, a missing browser fails them loudly. Elsewhere they
    are skipped, and -ra shows why."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


# --- the relay -----------------------------------------------------------------------------------


class LiveRelay:
    """The relay app on a real uvicorn server on 127.0.0.1, in a thread with its own event loop:
    real sockets for the browser (websockets, Server-Sent Events), and the demo relying party and
    the sandbox provider calling the relay over HTTP as they would in production."""

    def __init__(self, settings_for: Callable[[str], Settings], keys: SigningKey) -> None:
        self.sock = free_socket()
        port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.settings = settings_for(self.url)
        self.app = create_app(self.settings, keys=keys)
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="on",
            ws_per_message_deflate=False,
            timeout_graceful_shutdown=5,  # a page still connected does not hold the test up
        )
        self.server = uvicorn.Server(config)
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=f"relay-{port}", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self.server.serve(sockets=[self.sock]))
        except BaseException as exc:  # reported by start() or stop()
            self.failure = exc

    def start(self) -> LiveRelay:
        self.thread.start()
        started = threading.Event()
        for _ in range(1000):  # uvicorn offers no event for "started": up to 10 s
            if self.server.started or not self.thread.is_alive():
                break
            started.wait(0.01)
        if not self.server.started:
            raise AssertionError(f"uvicorn did not start: {self.failure!r}")
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()
        if self.failure is not None:
            raise AssertionError(f"the relay's server failed: {self.failure!r}")


RelayStarter = Callable[..., LiveRelay]


@pytest.fixture
def start_relay(signing_key: SigningKey) -> Iterator[RelayStarter]:
    """`start_relay(session_ttl=6, qr_rotate=10, demo_client={"match_code": True})`: a relay
    serving the demo (sandbox provider, demo relying party) on a free port."""
    started: list[LiveRelay] = []

    def start(*, demo_client: dict[str, Any] | None = None, **overrides: Any) -> LiveRelay:
        def settings_for(issuer: str) -> Settings:
            settings = make_settings(issuer, **overrides)
            if demo_client:
                clients = dict(settings.clients)
                clients["demo"] = replace(clients["demo"], **demo_client)
                settings = replace(settings, clients=clients)
            return settings

        relay = LiveRelay(settings_for, signing_key)
        started.append(relay)
        return relay.start()

    yield start
    for relay in started:
        relay.stop()


@pytest.fixture
def relay(start_relay: RelayStarter) -> LiveRelay:
    """The demo's relay with the default settings."""
    return start_relay()


# --- the browser ---------------------------------------------------------------------------------


# Package scope, not session: Playwright's sync API keeps its event loop marked as running in
# this thread while it is started, and the async tests in the other folders need it stopped.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    if PLAYWRIGHT_MISSING:
        unavailable(PLAYWRIGHT_MISSING)
    if not os.access(CHROMIUM, os.X_OK):
        unavailable(f"{CHROMIUM} is missing (scripts/ensure-chromium installs Debian's chromium)")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    try:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=60_000
        )
    except Exception as exc:
        unavailable(f"{CHROMIUM} could not be started: {exc}")
    yield chromium
    chromium.close()


ContextMaker = Callable[..., BrowserContext]


@pytest.fixture
def new_context(browser: Browser) -> Iterator[ContextMaker]:
    """`new_context(**options)`: a fresh browser context (its own cookies), English by default,
    with the generous default timeouts; closed after the test."""
    made: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        options.setdefault("locale", "en-US")
        context = browser.new_context(**options)
        context.set_default_timeout(WAIT_MS)
        context.set_default_navigation_timeout(WAIT_MS)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


@pytest.fixture
def desktop(new_context: ContextMaker) -> Page:
    """A page in a desktop browser: 1280x800, a desktop Chrome's User-Agent."""
    return new_context(**DESKTOP).new_page()


@pytest.fixture
def phone(new_context: ContextMaker) -> Page:
    """A page in a phone's browser: a phone's viewport and touch, an Android Chrome User-Agent."""
    return new_context(**PHONE).new_page()


# --- screenshots ---------------------------------------------------------------------------------


class Shots:
    """Screenshots of one test's steps: test-artifacts/browser/<test>/NN-step.png (CI collects
    test-artifacts/). Each one is a PNG's bytes too, for the QR decoder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0
        for old in folder.glob("*.png"):  # a previous run's
            old.unlink()

    def __call__(self, page: Page, step: str, *, full_page: bool = False) -> bytes:
        self.count += 1
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{self.count:02d}-{step}.png"
        return page.screenshot(path=path, full_page=full_page)


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    return Shots(ARTIFACTS / name)
