"""The cross-device defences as the phone and the desktop meet them: who is asking, the number
to match, the network check, the rotating QR over the live streams, and the cookies' prefix."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from pathlib import Path

import httpx
import netaddr
import pytest
from mmdb_writer import MMDBWriter

from relay.sessions import Status
from tests.flows import Relay, browser_at, form_fields, query_of
from tests.pages.test_sse import events

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
DESKTOP_IP = "203.0.113.7"


def geo_database(path: Path) -> str:
    writer = MMDBWriter(ip_version=6, database_type="GeoLite2-City", ipv4_compatible=True)
    writer.insert_network(
        netaddr.IPSet(["203.0.113.0/24"]),
        {"city": {"names": {"en": "Hangzhou"}}, "country": {"names": {"en": "China"}}},
    )
    writer.to_db_file(str(path))
    return str(path)


async def start_from(relay: Relay, desktop: httpx.AsyncClient) -> tuple[str, str, str]:
    """Start a login in `desktop`; its session id, scan URL path and login page."""
    started = await relay.start(desktop)
    return started.session_id, httpx.URL(started.scan_url).path, started.page.text


# Context on the phone


async def test_phone_page_says_who_is_asking_from_where_and_when(
    relay_from: Callable[..., Relay], tmp_path: Path
) -> None:
    relay = relay_from(geoip_database=geo_database(tmp_path / "geo.mmdb"))
    async with browser_at(relay, DESKTOP_IP, **{"User-Agent": CHROME_WINDOWS}) as desktop:
        session_id, scan_path, _ = await start_from(relay, desktop)
    scanned = await relay.phone.get(scan_path)
    page = await relay.phone.get(scanned.headers["location"])
    assert page.status_code == 200
    text = re.sub(r"\s+", " ", page.text)
    assert "Sign in to Example RP?" in text
    assert '<dd id="context-browser">Chrome 131 on Windows 10</dd>' in text
    assert f'{DESKTOP_IP} <span class="place">(near Hangzhou, China)</span>' in text
    session = await relay.core.sessions.get(session_id)
    assert re.search(r'<time datetime="[0-9T:.-]+Z">\d\d:\d\d UTC</time>, just now', text)
    assert session.desktop_agent == CHROME_WINDOWS
    # "This wasn't me" is there, as prominent as Continue (both full-width filled buttons).
    assert 'class="button danger" id="decline">This wasn\'t me' in text
    assert 'class="button primary" id="continue"' in text


async def test_this_wasnt_me_denies_and_tells_the_desktop(relay: Relay) -> None:
    started = await relay.start()
    await relay.scan(started.scan_url)
    declined = await relay.phone.post(f"/phone/{started.session_id}/decline")
    assert "Sign-in declined" in declined.text
    back = await relay.resume(started.session_id)
    assert query_of(back.headers["location"])["error"] == "access_denied"


async def test_unknown_browser_and_no_database_still_make_a_clear_page(relay: Relay) -> None:
    started = await relay.start()  # httpx's own User-Agent, no GeoIP database
    page = await relay.phone.get((await relay.scan(started.scan_url)).headers["location"])
    assert '<dd id="context-browser">An unknown browser</dd>' in page.text
    assert "near" not in page.text


# Code matching


async def test_match_code_right_number_continues(relay_from: Callable[..., Relay]) -> None:
    relay = relay_from(rp={"match_code": True})
    started = await relay.start()
    code = await relay.core.sessions.get(started.session_id)
    assert code.match_code is not None
    assert f"choose <strong>{code.match_code}</strong>" in started.page.text  # on the screen
    page = await relay.phone.get((await relay.scan(started.scan_url)).headers["location"])
    offered = [int(n) for n in re.findall(r'name="pick" value="(\d\d)"', page.text)]
    assert sorted(offered) == sorted(code.match_choices) and code.match_code in offered
    assert 'id="continue"' not in page.text  # no way around the numbers
    again = await relay.phone.get(f"/phone/{started.session_id}")
    assert re.findall(r'value="(\d\d)"', again.text) == [str(n) for n in offered]  # stable

    going = await relay.phone.post(
        f"/phone/{started.session_id}/continue", data={"pick": str(code.match_code)}
    )
    assert going.status_code == 303
    assert going.headers["location"].startswith(f"{relay.issuer}/sandbox/authorize?")


async def test_match_code_wrong_number_denies_for_good(relay_from: Callable[..., Relay]) -> None:
    relay = relay_from(rp={"match_code": True})
    started = await relay.start()
    await relay.scan(started.scan_url)
    session = await relay.core.sessions.get(started.session_id)
    wrong = next(n for n in session.match_choices if n != session.match_code)
    page = await relay.phone.post(
        f"/phone/{started.session_id}/continue", data={"pick": str(wrong)}
    )
    assert "Sign-in declined" in page.text
    assert "did not match the screen" in page.text
    denied = await relay.core.sessions.get(started.session_id)
    assert denied.status is Status.DENIED and denied.reason == "wrong_code"
    retry = await relay.phone.post(
        f"/phone/{started.session_id}/continue", data={"pick": str(session.match_code)}
    )
    assert retry.status_code == 200 and "Sign-in declined" in retry.text  # no second try
    assert relay.stored_keys("upstream:") == []
    back = await relay.resume(started.session_id)
    query = query_of(back.headers["location"])
    assert query["error"] == "access_denied"
    assert "did not match" in query["error_description"]


@pytest.mark.parametrize("form", [{}, {"pick": ""}, {"pick": "abc"}, {"pick": "1" * 5000}])
async def test_match_code_without_a_pick_asks_again_and_changes_nothing(
    relay_from: Callable[..., Relay], form: dict[str, str]
) -> None:
    relay = relay_from(rp={"match_code": True})
    started = await relay.start()
    await relay.scan(started.scan_url)
    page = await relay.phone.post(f"/phone/{started.session_id}/continue", data=form)
    assert page.status_code == 400
    assert "Which number does the screen show?" in page.text
    assert (await relay.core.sessions.get(started.session_id)).status is Status.SCANNED


async def test_without_match_code_the_screen_shows_no_number(relay: Relay) -> None:
    started = await relay.start()
    assert 'id="match-code"' not in started.page.text
    assert (await relay.core.sessions.get(started.session_id)).match_code is None


# The network check


async def test_same_network_warn_tells_the_phone(relay_from: Callable[..., Relay]) -> None:
    relay = relay_from(rp={"same_network": "warn"})
    async with browser_at(relay, "198.51.100.20") as desktop:
        _, scan_path, _ = await start_from(relay, desktop)
    async with browser_at(relay, "203.0.113.50") as phone:  # on mobile data, elsewhere
        page = await phone.get((await phone.get(scan_path)).headers["location"])
    assert page.status_code == 200
    assert 'id="far-away"' in page.text and "different network" in page.text
    async with browser_at(relay, "198.51.100.21") as nearby:
        _, scan_path, _ = await start_from(relay, nearby)
        page = await nearby.get((await nearby.get(scan_path)).headers["location"])
    assert page.status_code == 200 and 'id="far-away"' not in page.text


async def test_same_network_require_refuses_a_faraway_scan_and_changes_nothing(
    relay_from: Callable[..., Relay],
) -> None:
    relay = relay_from(rp={"same_network": "require"})
    async with browser_at(relay, "198.51.100.20") as desktop:
        session_id, scan_path, _ = await start_from(relay, desktop)
    async with browser_at(relay, "203.0.113.50") as far:
        refused = await far.get(scan_path)
    assert refused.status_code == 403
    assert "Scan from the same network as the screen" in refused.text
    assert (await relay.core.sessions.get(session_id)).status is Status.PENDING
    async with browser_at(relay, "198.51.100.99") as near:  # the person at the screen can
        scanned = await near.get(scan_path)
        assert scanned.status_code == 303
        going = await near.post(f"/phone/{session_id}/continue")
    assert going.status_code == 303


# The rotating QR over the live streams (a real server)


@pytest.mark.parametrize("served", [{"qr_rotate": 1}], indirect=True)
async def test_websocket_pushes_each_new_qr_and_the_old_one_stops_working(served: Relay) -> None:
    started = await served.start()
    socket = await served.live(started.session_id, served.desktop_cookie(started.session_id))
    try:
        message = await socket.recv()
        first = json.loads(message)
        assert first["status"] == "pending" and first["scan_url"].startswith(served.issuer + "/s/")
        assert set(first) == {"status", "at", "scan_url"} and len(message) < 200  # no SVG
        async with asyncio.timeout(5):
            second = json.loads(await socket.recv())
        assert second["status"] == "pending"
        assert second["scan_url"] != first["scan_url"]
        third = json.loads(await socket.recv())  # one a second, for as long as it waits
        assert third["scan_url"] not in (first["scan_url"], second["scan_url"])
        stale = await served.scan(first["scan_url"])  # over a second past its grace
        assert stale.status_code == 404 and "no longer valid" in stale.text
        scanned = await served.scan(third["scan_url"])
        assert scanned.status_code == 303
        assert json.loads(await socket.recv())["status"] == "scanned"
    finally:
        await socket.close()


@pytest.mark.parametrize("served", [{"qr_rotate": 1}], indirect=True)
async def test_event_stream_pushes_the_new_qr_too(served: Relay) -> None:
    started = await served.start()
    async with events(served, started.session_id) as stream:
        first = await stream.event()
        second = await stream.event()
    assert first["status"] == "pending" and "/s/" in first["scan_url"]
    assert second["status"] == "pending" and second["scan_url"] != first["scan_url"]
    assert second["scan_url"].startswith(served.issuer + "/s/")


@pytest.mark.parametrize("served", [{"qr_rotate": 1}], indirect=True)
async def test_a_reloaded_login_page_shows_the_current_qr(served: Relay) -> None:
    started = await served.start()
    await asyncio.sleep(1.1)
    page = await served.desktop.get(f"/sessions/{started.session_id}")
    found = re.search(r'data-scan-url="(http[^"]+/s/[^"]+)"', page.text)
    assert found and found.group(1) != started.scan_url
    assert (await served.scan(found.group(1))).status_code == 303


# Cookies


async def test_cookies_are_host_prefixed_and_secure_when_the_issuer_is_https(
    relay_from: Callable[..., Relay],
) -> None:
    relay = relay_from(issuer="https://relay.test")
    started = await relay.start()
    desktop_cookie = next(c for c in relay.desktop.cookies.jar)
    assert desktop_cookie.name.startswith("__Host-relay_bind_")
    assert desktop_cookie.secure and desktop_cookie.path == "/"
    assert desktop_cookie.domain_specified is False
    scanned = await relay.scan(started.scan_url)
    set_cookie = scanned.headers["set-cookie"]
    assert set_cookie.startswith("__Host-relay_phone_")
    assert "Secure" in set_cookie and "Path=/;" in set_cookie and "Domain" not in set_cookie
    going = await relay.continue_to_provider(started.session_id)
    assert going.headers["set-cookie"].startswith("__Host-relay_cb_")
    # And the whole login works with them.
    sandbox = await relay.phone.get(going.headers["location"])
    fields = {**form_fields(sandbox.text), "decision": "approve", "name": "Ada"}
    back = await relay.phone.post("/sandbox/authorize", data=fields)
    done = await relay.phone.get(back.headers["location"])
    assert "Return to your computer" in done.text
    assert (await relay.resume(started.session_id)).status_code == 302


async def test_cookies_are_plain_on_a_local_http_issuer(relay: Relay) -> None:
    await relay.start()
    (cookie,) = relay.desktop.cookies.jar
    assert cookie.name.startswith("relay_bind_") and not cookie.secure and cookie.path == "/"
