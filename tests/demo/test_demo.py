"""The demo relying party: a whole login through the relay, the id_token verified."""

from __future__ import annotations

import re

from tests.flows import Relay


async def demo_login(relay: Relay) -> tuple[str, str]:
    """Start at /demo like a person; returns (session id, the demo callback URL)."""
    start = await relay.desktop.post("/demo/login")
    assert start.status_code == 303
    login = await relay.desktop.get(start.headers["location"].removeprefix(relay.issuer))
    assert login.status_code == 303
    page = await relay.desktop.get(login.headers["location"])
    assert "Sign in to Demo app" in page.text
    session_id = login.headers["location"].rsplit("/", 1)[1]
    found = re.search(r'data-scan-url="(http[^"]+/s/[^"]+)"', page.text)
    assert found, "the login page shows no scan URL"
    scan_url = found.group(1)
    await relay.scan(scan_url)
    await relay.approve(session_id, "Demo Person")
    back = await relay.resume(session_id)
    assert back.status_code == 302
    return session_id, back.headers["location"].removeprefix(relay.issuer)


async def test_demo_shows_verified_claims_and_userinfo(relay: Relay) -> None:
    _, callback = await demo_login(relay)
    result = await relay.desktop.get(callback)
    assert result.status_code == 200, result.text
    assert "Signed in as Demo Person" in result.text
    assert "signature, issuer, audience, expiry and nonce were verified" in result.text
    assert '"idp": "sandbox"' in result.text


async def test_demo_callback_replay_is_refused(relay: Relay) -> None:
    _, callback = await demo_login(relay)
    assert (await relay.desktop.get(callback)).status_code == 200
    again = await relay.desktop.get(callback)
    assert again.status_code == 400
    assert "Sign-in did not finish" in again.text


async def test_demo_callback_from_another_browser_fails_the_state_check(relay: Relay) -> None:
    _, callback = await demo_login(relay)
    async with relay.browser() as other:
        result = await other.get(callback)
    assert result.status_code == 400
    assert "CSRF" in result.text


async def test_demo_index_offers_sign_in(relay: Relay) -> None:
    page = await relay.desktop.get("/demo")
    assert page.status_code == 200
    assert "Sign in with a QR code" in page.text
    home = await relay.desktop.get("/")
    assert home.status_code == 302 and home.headers["location"] == "/demo"
