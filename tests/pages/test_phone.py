"""The phone face: the QR's URL scans once, the context page, Continue and decline."""

from __future__ import annotations

from tests.flows import Relay, query_of


async def test_scan_marks_scanned_and_binds_the_phone(relay: Relay) -> None:
    started = await relay.start()
    scanned = await relay.scan(started.scan_url)
    assert scanned.status_code == 303
    assert scanned.headers["location"] == f"/phone/{started.session_id}"
    assert scanned.headers["set-cookie"].startswith("relay_phone_")
    assert "Path=/;" in scanned.headers["set-cookie"]
    assert "HttpOnly" in scanned.headers["set-cookie"]
    assert "SameSite=lax" in scanned.headers["set-cookie"]
    assert (await relay.core.sessions.get(started.session_id)).status == "scanned"
    page = await relay.phone.get(scanned.headers["location"])
    assert page.status_code == 200
    assert "Continue with Sandbox" in page.text


async def test_scan_twice_gets_a_clear_page_and_changes_nothing(relay: Relay) -> None:
    started = await relay.start()
    await relay.scan(started.scan_url)
    async with relay.browser() as second_phone:
        again = await second_phone.get(started.scan_url.removeprefix(relay.issuer))
    assert again.status_code == 409
    assert "This QR code was scanned already" in again.text
    assert "Nothing was changed" in again.text
    session = await relay.core.sessions.get(started.session_id)
    assert session.status == "scanned"


async def test_scan_unknown_or_malformed_ticket(relay: Relay) -> None:
    for ticket in ("A" * 22, "short", "x" * 500, "%2e%2e", "abc%00def" * 3):
        page = await relay.phone.get(f"/s/{ticket}")
        assert page.status_code == 404, ticket
        assert "This QR code is no longer valid" in page.text


async def test_phone_page_and_continue_refused_to_another_phone(relay: Relay) -> None:
    started = await relay.start()
    await relay.scan(started.scan_url)
    async with relay.browser() as other:
        page = await other.get(f"/phone/{started.session_id}")
        going = await other.post(f"/phone/{started.session_id}/continue")
        declining = await other.post(f"/phone/{started.session_id}/decline")
    for response in (page, going, declining):
        assert response.status_code == 404
        assert "not on this phone" in response.text
    assert relay.stored_keys("upstream:") == []
    assert (await relay.core.sessions.get(started.session_id)).status == "scanned"


async def test_continue_goes_to_the_provider_with_state_and_pkce(relay: Relay) -> None:
    started = await relay.start()
    await relay.scan(started.scan_url)
    going = await relay.continue_to_provider(started.session_id)
    location = going.headers["location"]
    assert location.startswith(f"{relay.issuer}/sandbox/authorize?")
    query = query_of(location)
    assert query["client_id"] == "relay"
    assert query["response_type"] == "code"
    assert query["redirect_uri"] == f"{relay.issuer}/callback/sandbox"
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert query["state"].isalnum() and len(query["state"]) == 40  # WeChat's rule for state


async def test_continue_after_the_desktop_cancelled_shows_the_outcome(relay: Relay) -> None:
    started = await relay.start()
    await relay.scan(started.scan_url)
    await relay.desktop.post(f"/sessions/{started.session_id}/cancel")
    late = await relay.phone.post(f"/phone/{started.session_id}/continue")
    assert late.status_code == 200
    assert "Sign-in cancelled" in late.text
