"""The whole QR login, end to end: a relying party, a desktop browser with its websocket, a
phone, the sandbox provider, /token, the id_token checked against the JWKS, /userinfo."""

from __future__ import annotations

import json

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.flows import Relay, pkce, query_of


async def test_login_loop_end_to_end_over_real_sockets(served: Relay) -> None:
    verifier, challenge = pkce()
    started = await served.start(code_challenge=challenge, code_challenge_method="S256")
    page = started.page.text
    assert "Sign in to Example RP" in page
    assert "<svg" in page and "Sandbox" in page
    assert "Open on this device" in page and "phone simulator" in page and "Cancel" in page

    socket = await served.live(started.session_id, served.desktop_cookie(started.session_id))
    try:
        assert json.loads(await socket.recv())["status"] == "pending"

        scanned = await served.scan(started.scan_url)
        assert scanned.status_code == 303
        assert json.loads(await socket.recv())["status"] == "scanned"

        phone_page = await served.phone.get(scanned.headers["location"])
        assert "Sign in to Example RP?" in phone_page.text
        assert "This wasn't me" in phone_page.text

        done = await served.approve(started.session_id, "Grace Hopper")
        assert "Done. Return to your computer" in done.text
        confirmed = json.loads(await socket.recv())
        assert confirmed["status"] == "confirmed"
        assert confirmed["at"].endswith("Z")
    finally:
        await socket.close()

    back = await served.resume(started.session_id)
    assert back.status_code == 302
    location = back.headers["location"]
    assert location.startswith("https://rp.example/callback?")
    answer = query_of(location)
    assert answer["state"] == "rp-state-123"
    assert answer["iss"] == served.issuer

    tokens = await served.token(code=answer["code"], code_verifier=verifier)
    assert tokens.status_code == 200, tokens.text
    assert tokens.headers["cache-control"] == "no-store"
    body = tokens.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "openid profile"

    async with served.browser() as rp:
        discovery = (await rp.get("/.well-known/openid-configuration")).json()
        keys = KeySet.import_key_set((await rp.get(discovery["jwks_uri"])).json())
        id_token = jwt.decode(body["id_token"], keys, algorithms=["RS256"])
        claims = id_token.claims
        assert id_token.header["kid"] == keys.keys[0].kid
        assert claims["iss"] == served.issuer
        assert claims["aud"] == "rp"
        assert claims["nonce"] == "rp-nonce-456"
        assert claims["idp"] == "sandbox"
        assert claims["sub"].startswith("sandbox:")
        assert claims["name"] == "Grace Hopper"
        assert claims["exp"] > claims["iat"] >= claims["auth_time"] - 1

        profile = await rp.get(
            discovery["userinfo_endpoint"],
            headers={"Authorization": f"Bearer {body['access_token']}"},
        )
        assert profile.status_code == 200
        assert profile.json() == {
            "sub": claims["sub"],
            "idp": "sandbox",
            "name": "Grace Hopper",
            "preferred_username": "grace.hopper",
        }


async def test_login_same_name_gives_same_sub_other_name_another(relay: Relay) -> None:
    first = await relay.login("Ada Lovelace")
    second = await relay.login("Ada Lovelace")
    third = await relay.login("Alan Turing")
    subs = []
    for answer in (first, second, third):
        tokens = (await relay.token(code=answer["code"])).json()
        subs.append(jwt.decode(tokens["id_token"], relay.core.keys._key).claims["sub"])
    assert subs[0] == subs[1] != subs[2]


@pytest.mark.parametrize("served", [{"session_ttl": 1}], indirect=True)
async def test_login_expiry_is_pushed_to_the_desktop_and_refresh_starts_afresh(
    served: Relay,
) -> None:
    started = await served.start()
    socket = await served.live(started.session_id, served.desktop_cookie(started.session_id))
    try:
        assert json.loads(await socket.recv())["status"] == "pending"
        assert json.loads(await socket.recv())["status"] == "expired"  # after about 1 s
    finally:
        await socket.close()

    old_ticket_page = await served.scan(started.scan_url)
    assert old_ticket_page.status_code == 404
    assert "no longer valid" in old_ticket_page.text

    refreshed = await served.desktop.post(f"/sessions/{started.session_id}/refresh")
    assert refreshed.status_code == 303
    new_id = refreshed.headers["location"].rsplit("/", 1)[1]
    assert new_id != started.session_id
    page = await served.desktop.get(refreshed.headers["location"])
    assert page.status_code == 200 and "Sign in to Example RP" in page.text
    fresh = served.core.sessions
    session = await fresh.get(new_id)
    assert session.status == "pending"
    assert session.request.state == "rp-state-123"
    assert session.request.nonce == "rp-nonce-456"

    # A second click on Refresh, or the old page's Back, leads to the login that goes on.
    again = await served.desktop.post(f"/sessions/{started.session_id}/refresh")
    assert again.headers["location"] == f"/sessions/{new_id}"
    back = await served.resume(started.session_id)
    assert back.status_code == 303 and back.headers["location"] == f"/sessions/{new_id}"


@pytest.mark.parametrize("served", [{"session_ttl": 1}], indirect=True)
async def test_login_expired_and_given_up_returns_access_denied_once(served: Relay) -> None:
    started = await served.start()
    socket = await served.live(started.session_id, served.desktop_cookie(started.session_id))
    try:
        assert json.loads(await socket.recv())["status"] == "pending"
        assert json.loads(await socket.recv())["status"] == "expired"
    finally:
        await socket.close()
    gave_up = await served.resume(started.session_id)  # "Back to Example RP"
    answer = query_of(gave_up.headers["location"])
    assert answer["error"] == "access_denied"
    assert answer["error_description"] == "This code has expired"
    assert answer["state"] == "rp-state-123"

    refreshed = await served.desktop.post(f"/sessions/{started.session_id}/refresh")
    assert refreshed.status_code == 409  # the client was already told: no second login
    assert "This sign-in has ended" in refreshed.text
