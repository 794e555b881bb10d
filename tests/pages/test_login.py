"""The desktop face: the login page, resume, cancel and refresh, bound to the starting browser."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace

from starlette.applications import Starlette

from relay.sessions import Status
from relay.settings import Settings
from tests.flows import Relay, query_of


async def test_login_page_shows_what_is_being_signed_into(relay: Relay) -> None:
    started = await relay.start()
    page = started.page.text
    assert "Sign in to Example RP" in page
    assert "with <strong>Sandbox</strong>" in page
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in page
    assert 'role="status" aria-live="polite"' in page
    assert 'Time left to sign in: <span id="countdown">3:00</span>' in page or "2:59" in page
    assert started.page.headers["cache-control"] == "no-store"


async def test_login_page_refused_to_another_browser(relay: Relay) -> None:
    started = await relay.start()
    async with relay.browser() as other:
        page = await other.get(f"/sessions/{started.session_id}")
    assert page.status_code == 403
    assert "belongs to another browser" in page.text


async def test_login_page_unknown_or_malformed_session(relay: Relay) -> None:
    for session_id in ("A" * 22, "x", "%00%00", "a" * 300):
        page = await relay.desktop.get(f"/sessions/{session_id}")
        assert page.status_code == 404, session_id
        assert "This sign-in has ended" in page.text


async def test_resume_by_second_browser_refused_and_session_kept(relay: Relay) -> None:
    started = await relay.start()
    await relay.scan(started.scan_url)
    await relay.approve(started.session_id)
    async with relay.browser() as other:
        refused = await relay.resume(started.session_id, other)
    assert refused.status_code == 403
    assert "location" not in refused.headers
    assert (await relay.core.sessions.get(started.session_id)).status == "confirmed"

    back = await relay.resume(started.session_id)
    assert back.status_code == 302
    assert "code" in query_of(back.headers["location"])


async def test_resume_twice_issues_one_code(relay: Relay) -> None:
    started = await relay.start()
    await relay.scan(started.scan_url)
    await relay.approve(started.session_id)
    first = await relay.resume(started.session_id)
    assert first.status_code == 302
    second = await relay.resume(started.session_id)
    assert second.status_code == 409
    assert "already complete" in second.text


async def test_resume_while_waiting_goes_back_to_the_page(relay: Relay) -> None:
    started = await relay.start()
    waiting = await relay.resume(started.session_id)
    assert waiting.status_code == 303
    assert waiting.headers["location"] == f"/sessions/{started.session_id}"


async def test_cancel_returns_access_denied_to_the_client(relay: Relay) -> None:
    started = await relay.start()
    await relay.scan(started.scan_url)
    cancelled = await relay.desktop.post(f"/sessions/{started.session_id}/cancel")
    assert cancelled.status_code == 303  # after a POST (RFC 9700 §4.11)
    location = cancelled.headers["location"]
    assert location.startswith("https://rp.example/callback?")
    answer = query_of(location)
    assert answer["error"] == "access_denied"
    assert answer["state"] == "rp-state-123"
    assert answer["iss"] == relay.issuer
    assert (await relay.core.sessions.get(started.session_id)).status == "cancelled"

    phone = await relay.phone.get(f"/phone/{started.session_id}")
    assert "Sign-in cancelled" in phone.text


async def test_cancel_by_another_browser_changes_nothing(relay: Relay) -> None:
    started = await relay.start()
    async with relay.browser() as other:
        refused = await other.post(f"/sessions/{started.session_id}/cancel")
    assert refused.status_code == 403
    assert (await relay.core.sessions.get(started.session_id)).status == "pending"


async def test_cancel_after_approval_keeps_the_login(relay: Relay) -> None:
    started = await relay.start()
    await relay.scan(started.scan_url)
    await relay.approve(started.session_id)
    late = await relay.desktop.post(f"/sessions/{started.session_id}/cancel")
    assert late.status_code == 303
    assert (await relay.core.sessions.get(started.session_id)).status == "confirmed"


async def test_refresh_before_expiry_keeps_the_session(relay: Relay) -> None:
    started = await relay.start()
    again = await relay.desktop.post(f"/sessions/{started.session_id}/refresh")
    assert again.status_code == 303
    assert again.headers["location"] == f"/sessions/{started.session_id}"


async def test_decline_on_phone_denies_and_returns_access_denied(relay: Relay) -> None:
    started = await relay.start()
    await relay.scan(started.scan_url)
    declined = await relay.phone.post(f"/phone/{started.session_id}/decline")
    assert "Sign-in declined" in declined.text
    session = await relay.core.sessions.get(started.session_id)
    assert session.status == "denied"
    assert session.reason == "user_declined"

    back = await relay.resume(started.session_id)
    answer = query_of(back.headers["location"])
    assert answer["error"] == "access_denied"
    assert "declined on the phone" in answer["error_description"]
    assert "code" not in answer


async def test_deny_at_provider_denies_the_session(relay: Relay) -> None:
    started = await relay.start()
    await relay.scan(started.scan_url)
    back_from_sandbox = await relay.at_sandbox(started.session_id, decision="deny")
    assert query_of(back_from_sandbox.headers["location"])["error"] == "access_denied"
    outcome = await relay.phone.get(back_from_sandbox.headers["location"])
    assert "Sign-in declined" in outcome.text
    session = await relay.core.sessions.get(started.session_id)
    assert session.status == "denied"
    assert session.reason == "access_denied"


async def test_unreachable_provider_fails_the_session_with_a_reason(
    settings: Settings, app_factory: Callable[[Settings], Starlette]
) -> None:
    broken = replace(
        settings.providers["sandbox"], token_url="http://127.0.0.1:9/unreachable-token"
    )
    settings = replace(settings, providers={**settings.providers, "sandbox": broken})
    app = app_factory(settings)
    async with Relay(app, settings) as relay:
        started = await relay.start()
        await relay.scan(started.scan_url)
        back = await relay.at_sandbox(started.session_id)
        outcome = await relay.phone.get(back.headers["location"])
        assert "The sign-in failed" in outcome.text
        assert "provider_unreachable" in outcome.text
        session = await relay.core.sessions.get(started.session_id)
        assert session.status == "failed"
        assert session.reason == "provider_unreachable"
        answer = query_of((await relay.resume(started.session_id)).headers["location"])
        assert answer["error"] == "access_denied"


async def test_page_actions_from_a_foreign_origin_are_refused(relay: Relay) -> None:
    started = await relay.start()
    await relay.scan(started.scan_url)
    foreign = {"Origin": "https://evil.example"}
    for browser, path in (
        (relay.desktop, f"/sessions/{started.session_id}/cancel"),
        (relay.desktop, f"/sessions/{started.session_id}/refresh"),
        (relay.phone, f"/phone/{started.session_id}/continue"),
        (relay.phone, f"/phone/{started.session_id}/decline"),
    ):
        refused = await browser.post(path, headers=foreign)
        assert refused.status_code == 403, path
        assert "another site" in refused.text
    assert (await relay.core.sessions.get(started.session_id)).status == "scanned"

    sibling = {"Origin": "null", "Sec-Fetch-Site": "same-site"}  # another subdomain, no-referrer
    refused = await relay.phone.post(f"/phone/{started.session_id}/decline", headers=sibling)
    assert refused.status_code == 403

    # What a browser sends from the relay's own page under Referrer-Policy: no-referrer.
    own = {"Origin": "null", "Sec-Fetch-Site": "same-origin"}
    going = await relay.phone.post(f"/phone/{started.session_id}/continue", headers=own)
    assert going.status_code == 303
    cancelled = await relay.desktop.post(
        f"/sessions/{started.session_id}/cancel", headers={"Origin": relay.issuer}
    )
    assert cancelled.status_code == 303


async def test_refresh_twice_at_once_makes_one_new_login(relay: Relay) -> None:
    started = await relay.start()
    session = await relay.core.sessions.get(started.session_id)
    await relay.core.sessions.transition(session, Status.EXPIRED)
    before = len(relay.stored_keys("session:"))
    answers = await asyncio.gather(
        *(relay.desktop.post(f"/sessions/{started.session_id}/refresh") for _ in range(2))
    )
    locations = {answer.headers["location"] for answer in answers}
    assert len(locations) == 1
    after = len(relay.stored_keys("session:"))
    assert after == before + 1


async def test_going_back_to_the_app_drops_the_logins_cookie(relay: Relay) -> None:
    """One cookie per login would pile up in a browser that signs in often (a kiosk): the
    redirect back to the app removes it, and the page then says the sign-in is over."""
    started = await relay.start()
    await relay.scan(started.scan_url)
    await relay.approve(started.session_id)
    back = await relay.resume(started.session_id)
    assert back.status_code == 302
    assert "relay_bind_" in back.headers["set-cookie"] and "Max-Age=0" in back.headers["set-cookie"]
    assert not any(c.name.startswith("relay_bind_") for c in relay.desktop.cookies.jar)
    again = await relay.desktop.get(f"/sessions/{started.session_id}")
    assert again.status_code == 409
    assert "This sign-in is already complete" in again.text
    async with relay.browser() as stranger:  # a wrong cookie is still another browser
        stranger.cookies.set(relay.desktop_cookie_name(started.session_id), "not-the-secret")
        refused = await stranger.get(f"/sessions/{started.session_id}")
    assert refused.status_code == 403
