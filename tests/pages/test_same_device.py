"""The login on the phone already (relay/pages/same_device.py): nothing to scan; the browser that
started the login goes on at the provider and comes back to the app, with the same session and
the same checks."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx

from relay.sessions import Status
from tests.flows import Relay, browser_at, form_fields, pkce, query_of

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)
CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def phone_browser(relay: Relay, agent: str = IPHONE) -> httpx.AsyncClient:
    return browser_at(relay, "198.51.100.20", **{"User-Agent": agent})


def has(page: str, element_id: str) -> bool:
    return re.search(rf'id="{element_id}"', page) is not None


def hidden(page: str, element_id: str) -> bool:
    tag = re.search(rf'<[^>]*id="{element_id}"[^>]*>', page)
    assert tag is not None, f"no #{element_id} on the page"
    return " hidden" in tag.group(0)


async def here(relay: Relay, browser: httpx.AsyncClient, session_id: str) -> httpx.Response:
    return await browser.post(f"/sessions/{session_id}/here", headers={"Origin": relay.issuer})


async def at_sandbox(
    relay: Relay, browser: httpx.AsyncClient, going: httpx.Response, decision: str
) -> httpx.Response:
    """From the redirect to the sandbox's page: decide there and come back to the callback."""
    assert going.status_code == 303, going.text
    page = await browser.get(going.headers["location"])
    assert page.status_code == 200, page.text
    fields = form_fields(page.text)
    fields.update(decision=decision, name="Grace Hopper")
    back = await browser.post("/sandbox/authorize", data=fields)
    assert back.status_code == 303, back.text
    assert urlsplit(back.headers["location"]).path == "/callback/sandbox"
    return await browser.get(back.headers["location"])


async def test_a_phone_is_offered_to_continue_here_and_a_computer_to_scan(relay: Relay) -> None:
    async with phone_browser(relay) as phone, phone_browser(relay, CHROME_WINDOWS) as desktop:
        on_phone = (await relay.start(phone)).page.text
        on_desktop = (await relay.start(desktop)).page.text
    assert has(on_phone, "continue-here") and "Continue with Sandbox" in on_phone
    assert hidden(on_phone, "same-device") and hidden(on_phone, "steps")
    # The QR is still there, for a login on another device.
    assert has(on_phone, "qr") and "<svg" in on_phone
    assert not has(on_desktop, "continue-here")
    assert not hidden(on_desktop, "same-device") and not hidden(on_desktop, "steps")


async def test_a_whole_login_on_the_phone_ends_at_the_app_with_a_code(relay: Relay) -> None:
    verifier, challenge = pkce()
    async with phone_browser(relay, ANDROID) as phone:
        started = await relay.start(phone, code_challenge=challenge, code_challenge_method="S256")
        callback = await at_sandbox(
            relay, phone, await here(relay, phone, started.session_id), "approve"
        )
        # The browser holds the login's own cookie: back to the app, not "return to your computer".
        assert callback.status_code == 303, callback.text
        assert callback.headers["location"] == f"/sessions/{started.session_id}/resume"
        back = await phone.get(callback.headers["location"])
        assert back.status_code == 302, back.text
        assert relay.desktop_cookie_name(started.session_id) not in phone.cookies
    answer = query_of(back.headers["location"])
    assert back.headers["location"].startswith("https://rp.example/callback?")
    assert answer["state"] == "rp-state-123" and answer["iss"] == relay.issuer
    tokens = await relay.token(code=answer["code"], code_verifier=verifier)
    assert tokens.status_code == 200, tokens.text
    async with relay.browser() as rp:
        profile = await rp.get(
            "/userinfo", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"}
        )
    assert profile.json()["name"] == "Grace Hopper"


async def test_open_on_this_device_from_a_computer_works_the_same(relay: Relay) -> None:
    async with phone_browser(relay, CHROME_WINDOWS) as desktop:
        started = await relay.start(desktop)
        callback = await at_sandbox(
            relay, desktop, await here(relay, desktop, started.session_id), "approve"
        )
        back = await desktop.get(callback.headers["location"])
    assert back.status_code == 302
    assert "code" in query_of(back.headers["location"])


async def test_declined_at_the_provider_on_the_phone_ends_at_the_app_with_access_denied(
    relay: Relay,
) -> None:
    async with phone_browser(relay) as phone:
        started = await relay.start(phone)
        callback = await at_sandbox(
            relay, phone, await here(relay, phone, started.session_id), "deny"
        )
        back = await phone.get(callback.headers["location"])
    answer = query_of(back.headers["location"])
    assert answer["error"] == "access_denied" and answer["state"] == "rp-state-123"
    assert (await relay.core.sessions.get(started.session_id)).status is Status.DENIED


async def test_pressing_it_again_goes_back_to_the_provider_without_a_second_scan(
    relay: Relay,
) -> None:
    async with phone_browser(relay) as phone:
        started = await relay.start(phone)
        first = await here(relay, phone, started.session_id)
        again = await here(relay, phone, started.session_id)
    assert first.status_code == again.status_code == 303
    assert urlsplit(again.headers["location"]).path == "/sandbox/authorize"
    assert (await relay.core.sessions.get(started.session_id)).status is Status.SCANNED


async def test_after_a_phone_scanned_it_changes_nothing(relay: Relay) -> None:
    started = await relay.start()  # relay.desktop
    assert (await relay.scan(started.scan_url)).status_code == 303
    before = await relay.core.sessions.get(started.session_id)
    going = await here(relay, relay.desktop, started.session_id)
    assert going.status_code == 303
    assert going.headers["location"] == f"/sessions/{started.session_id}"
    after = await relay.core.sessions.get(started.session_id)
    assert after.status is Status.SCANNED and after.phone_hash == before.phone_hash
    # The phone that scanned still finishes it.
    done = await relay.approve(started.session_id)
    assert "Return to your computer" in done.text


async def test_once_it_went_on_here_the_qr_scans_no_more(relay: Relay) -> None:
    async with phone_browser(relay) as phone:
        started = await relay.start(phone)
        await here(relay, phone, started.session_id)
    scanned = await relay.scan(started.scan_url)
    assert scanned.status_code == 409
    assert "scanned already" in scanned.text


async def test_another_browser_cannot_take_the_login_here(relay: Relay) -> None:
    started = await relay.start()
    async with phone_browser(relay) as stranger:
        refused = await here(relay, stranger, started.session_id)
    assert refused.status_code == 403
    assert (await relay.core.sessions.get(started.session_id)).status is Status.PENDING


async def test_a_post_from_another_site_is_refused(relay: Relay) -> None:
    async with phone_browser(relay) as phone:
        started = await relay.start(phone)
        refused = await phone.post(
            f"/sessions/{started.session_id}/here", headers={"Origin": "https://evil.example"}
        )
    assert refused.status_code == 403
    assert (await relay.core.sessions.get(started.session_id)).status is Status.PENDING


async def test_an_unknown_login_gets_a_clear_page(relay: Relay) -> None:
    async with phone_browser(relay) as phone:
        answer = await phone.post(
            "/sessions/" + "A" * 22 + "/here", headers={"Origin": relay.issuer}
        )
    assert answer.status_code == 404
    assert "This sign-in has ended" in answer.text


async def test_a_client_with_match_code_needs_no_number_on_the_same_device(
    relay_from: Callable[..., Relay],
) -> None:
    relay = relay_from(rp={"match_code": True})
    async with phone_browser(relay) as phone:
        started = await relay.start(phone)
        callback = await at_sandbox(
            relay, phone, await here(relay, phone, started.session_id), "approve"
        )
        back = await phone.get(callback.headers["location"])
    assert "code" in query_of(back.headers["location"])


async def test_a_qr_scanned_in_the_browser_that_started_it_ends_on_the_phone_page(
    relay: Relay,
) -> None:
    """The sandbox's phone simulator (a window of the same browser) or a phone sharing the
    browser profile holds the login's own cookie, but it scanned the QR: it gets the phone's
    "Done" page, and the login page that shows the QR finishes the login."""
    verifier, challenge = pkce()
    async with phone_browser(relay, CHROME_WINDOWS) as desktop:
        started = await relay.start(desktop, code_challenge=challenge, code_challenge_method="S256")
        scanned = await desktop.get(urlsplit(started.scan_url).path)
        assert scanned.status_code == 303, scanned.text
        assert scanned.headers["location"] == f"/phone/{started.session_id}"
        assert not (await relay.core.sessions.get(started.session_id)).same_device
        going = await desktop.post(
            f"/phone/{started.session_id}/continue", headers={"Origin": relay.issuer}
        )
        callback = await at_sandbox(relay, desktop, going, "approve")
        assert callback.status_code == 200, callback.text
        assert "Return to your computer" in callback.text
        # Coming back to the phone's page shows the same, not the app.
        again = await desktop.get(f"/phone/{started.session_id}")
        assert again.status_code == 200 and "Return to your computer" in again.text
        # The login page's live status says confirmed, and its way back gives the code.
        session = await relay.core.sessions.get(started.session_id)
        assert session.status is Status.CONFIRMED
        back = await desktop.get(f"/sessions/{started.session_id}/resume")
    assert back.status_code == 302, back.text
    answer = query_of(back.headers["location"])
    assert answer["state"] == "rp-state-123"
    tokens = await relay.token(code=answer["code"], code_verifier=verifier)
    assert tokens.status_code == 200, tokens.text


async def test_going_on_here_marks_the_login_as_on_the_same_device(relay: Relay) -> None:
    async with phone_browser(relay) as phone:
        started = await relay.start(phone)
        await here(relay, phone, started.session_id)
    session = await relay.core.sessions.get(started.session_id)
    assert session.status is Status.SCANNED and session.same_device


async def test_a_stale_continue_here_after_a_qr_scan_in_this_browser_goes_back_to_the_page(
    relay: Relay,
) -> None:
    """The QR was scanned in a window of this browser (it holds the phone's cookie too); the
    login page's "Open on this device", pressed before it heard of the scan, does not take the
    login over: the page shows it scanned, and the scanning window goes on."""
    async with phone_browser(relay, CHROME_WINDOWS) as desktop:
        started = await relay.start(desktop)
        assert (await desktop.get(urlsplit(started.scan_url).path)).status_code == 303
        going = await here(relay, desktop, started.session_id)
    assert going.status_code == 303
    assert going.headers["location"] == f"/sessions/{started.session_id}"
    assert not (await relay.core.sessions.get(started.session_id)).same_device
