"""The kiosk page (relay/kiosk/page.py), in-process: its key and cookie, its refusals, its logins
in both modes up to the relying party's /token, and its key kept out of the logs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from relay.errors import ConfigError
from relay.settings import parse_settings
from tests.conftest import RP_REDIRECT
from tests.flows import Relay, query_of
from tests.observability.test_secrets_in_logs import DebugLog, debug_log  # noqa: F401

KEY = "lobby-screen-key-5f1c0e9a"
KIOSK = {"kiosk": True, "kiosk_key": KEY}
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}


@pytest.fixture
def kiosk(relay_from: Callable[..., Relay]) -> Relay:
    return relay_from(rp=KIOSK)


@pytest.fixture
def messaging(relay_from: Callable[..., Relay]) -> Relay:
    return relay_from(rp={**KIOSK, "kiosk_mode": "message"})


async def unlock(relay: Relay, browser: httpx.AsyncClient | None = None) -> httpx.AsyncClient:
    browser = browser or relay.desktop
    opened = await browser.get("/kiosk/rp", params={"key": KEY})
    assert opened.status_code == 303, opened.text
    return browser


async def new_login(relay: Relay, **params: str) -> dict[str, Any]:
    response = await relay.desktop.post("/kiosk/rp/logins", params=params, headers=SAME_ORIGIN)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    answer: dict[str, Any] = response.json()
    return answer


async def approved(relay: Relay) -> str:
    """A kiosk login, scanned and approved on the phone: its session id."""
    login = await new_login(relay)
    scanned = await relay.scan(login["scan_url"])
    assert scanned.status_code == 303, scanned.text
    done = await relay.approve(login["session_id"])
    assert "Return to your computer" in done.text, done.text
    return str(login["session_id"])


async def test_kiosk_opens_only_with_its_key_which_then_leaves_the_address(kiosk: Relay) -> None:
    wrong = await kiosk.desktop.get("/kiosk/rp", params={"key": "guess"})
    assert wrong.status_code == 403 and "locked" in wrong.text
    assert "set-cookie" not in wrong.headers
    bare = await kiosk.desktop.get("/kiosk/rp")
    assert bare.status_code == 403

    right = await kiosk.desktop.get("/kiosk/rp", params={"key": KEY})
    assert right.status_code == 303
    assert right.headers["location"] == "/kiosk/rp"  # the key is gone from the address
    cookie = right.headers["set-cookie"]
    assert KEY not in cookie
    lowered = cookie.lower()
    assert "httponly" in lowered and "samesite=strict" in lowered and "path=/kiosk/rp" in lowered

    page = await kiosk.desktop.get("/kiosk/rp")
    assert page.status_code == 200, page.text
    assert 'id="kiosk"' in page.text and 'data-mode="redirect"' in page.text
    assert '<script src="/static/kiosk.js"' in page.text and KEY not in page.text
    # Redirect mode is not embedded: the relay's own frame-ancestors 'none' stays.
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"

    # Another browser, with a cookie made up from anything but the key, stays locked.
    other = kiosk.browser()
    other.cookies.set("relay_kiosk", KEY, domain="relay.test", path="/kiosk/rp")
    assert (await other.get("/kiosk/rp")).status_code == 403
    refused = await other.post("/kiosk/rp/logins", headers=SAME_ORIGIN)
    assert refused.status_code == 403
    await other.aclose()


async def test_kiosk_page_is_not_found_for_other_clients(
    relay_from: Callable[..., Relay],
) -> None:
    relay = relay_from(rp={"kiosk": True})  # a kiosk for the device grant only: no key, no page
    for path in ("/kiosk/rp", "/kiosk/multi", "/kiosk/nobody", f"/kiosk/rp?key={KEY}"):
        response = await relay.desktop.get(path)
        assert response.status_code == 404, path
        assert "Page not found" in response.text
    posted = await relay.desktop.post("/kiosk/multi/logins", headers=SAME_ORIGIN)
    assert posted.status_code == 404


async def test_kiosk_starts_a_login_for_its_first_redirect_uri(kiosk: Relay) -> None:
    await unlock(kiosk)
    login = await new_login(kiosk)
    assert set(login) >= {"session_id", "scan_url", "expires_at"}
    assert login["scan_url"].startswith(f"{kiosk.issuer}/s/")
    session = await kiosk.core.sessions.get(login["session_id"])
    assert session.request.redirect_uri == RP_REDIRECT
    assert session.request.scope == ("openid", "profile")
    assert session.request.provider == "sandbox" and session.request.code_challenge is None
    assert session.request.state and len(session.request.state) >= 16
    assert login["expires_at"] == int(session.expires_at * 1000)
    # The login's own cookie lives no longer than the login.
    bind = kiosk.desktop_cookie_name(login["session_id"])
    assert bind in kiosk.desktop.cookies
    # The next login removes the cookie of the one before.
    following = await kiosk.desktop.post(
        "/kiosk/rp/logins", params={"previous": login["session_id"]}, headers=SAME_ORIGIN
    )
    assert following.status_code == 200
    assert bind not in kiosk.desktop.cookies
    cookies = following.headers.get_list("set-cookie")
    fresh = kiosk.desktop_cookie_name(following.json()["session_id"])
    max_age = f"Max-Age={kiosk.settings.session_ttl};"
    assert any(c.startswith(fresh) and max_age in c for c in cookies)


async def test_kiosk_offers_only_its_own_providers(relay_from: Callable[..., Relay]) -> None:
    relay = relay_from(rp={**KIOSK, "providers": ("sandbox", "sandbox2")})
    await unlock(relay)
    login = await new_login(relay, provider="sandbox2")
    assert (await relay.core.sessions.get(login["session_id"])).request.provider == "sandbox2"
    wrong = await relay.desktop.post(
        "/kiosk/rp/logins", params={"provider": "google"}, headers=SAME_ORIGIN
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_request"
    page = await relay.desktop.get("/kiosk/rp", params={"provider": "google"})
    assert page.status_code == 400


async def test_kiosk_redirect_mode_ends_at_the_redirect_uri_and_token_works(kiosk: Relay) -> None:
    await unlock(kiosk)
    session_id = await approved(kiosk)
    state = (await kiosk.core.sessions.get(session_id)).request.state
    back = await kiosk.resume(session_id)
    assert back.status_code == 302, back.text
    assert back.headers["location"].startswith(RP_REDIRECT + "?")
    query = query_of(back.headers["location"])
    assert query["state"] == state and query["iss"] == kiosk.issuer
    # The kiosk app authenticates with its secret; no PKCE, no redirect_uri to repeat.
    tokens = await kiosk.token(code=query["code"], redirect_uri="")
    assert tokens.status_code == 200, tokens.text
    assert {"id_token", "access_token"} <= set(tokens.json())
    assert kiosk.desktop_cookie_name(session_id) not in kiosk.desktop.cookies


async def test_kiosk_message_mode_hands_the_code_over_once(messaging: Relay) -> None:
    await unlock(messaging)
    page = await messaging.desktop.get("/kiosk/rp")
    assert 'data-mode="message"' in page.text
    assert 'data-target-origin="https://rp.example"' in page.text
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors https://rp.example" in csp and "frame-ancestors 'none'" not in csp
    assert "default-src 'self'" in csp
    # X-Frame-Options DENY would make an old browser refuse the kiosk app's frame.
    assert "x-frame-options" not in page.headers

    session_id = await approved(messaging)
    state = (await messaging.core.sessions.get(session_id)).request.state
    path = f"/kiosk/rp/logins/{session_id}/code"
    handed = await messaging.desktop.post(path, headers=SAME_ORIGIN)
    assert handed.status_code == 200, handed.text
    answer = handed.json()
    assert answer["state"] == state and answer["iss"] == messaging.issuer
    assert handed.headers["cache-control"] == "no-store"
    assert messaging.desktop_cookie_name(session_id) not in messaging.desktop.cookies

    again = await messaging.desktop.post(path, headers=SAME_ORIGIN)
    assert again.status_code in (403, 409), again.text
    assert "code" not in again.json()
    tokens = await messaging.token(code=answer["code"], redirect_uri="")
    assert tokens.status_code == 200, tokens.text


async def test_kiosk_code_waits_for_the_phone_and_belongs_to_its_browser(messaging: Relay) -> None:
    await unlock(messaging)
    login = await new_login(messaging)
    early = await messaging.desktop.post(
        f"/kiosk/rp/logins/{login['session_id']}/code", headers=SAME_ORIGIN
    )
    assert early.status_code == 409 and "pending" in early.json()["error_description"]
    stranger = messaging.browser()
    await unlock(messaging, stranger)  # another kiosk of the same client
    foreign = await stranger.post(
        f"/kiosk/rp/logins/{login['session_id']}/code", headers=SAME_ORIGIN
    )
    assert foreign.status_code == 403
    await stranger.aclose()


async def test_kiosk_redirect_mode_offers_no_code_endpoint(kiosk: Relay) -> None:
    await unlock(kiosk)
    session_id = await approved(kiosk)
    refused = await kiosk.desktop.post(f"/kiosk/rp/logins/{session_id}/code", headers=SAME_ORIGIN)
    assert refused.status_code == 404


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "https://x.example"},
    ],
)
async def test_kiosk_refuses_posts_from_another_site(
    messaging: Relay, headers: dict[str, str]
) -> None:
    await unlock(messaging)
    started = await messaging.desktop.post("/kiosk/rp/logins", headers=headers)
    assert started.status_code == 403 and started.json()["error"] == "access_denied"
    session_id = await approved(messaging)
    handed = await messaging.desktop.post(f"/kiosk/rp/logins/{session_id}/code", headers=headers)
    assert handed.status_code == 403
    # Still there for the kiosk itself.
    ok = await messaging.desktop.post(f"/kiosk/rp/logins/{session_id}/code", headers=SAME_ORIGIN)
    assert ok.status_code == 200


async def test_kiosk_key_never_reaches_a_log_line(
    messaging: Relay,
    debug_log: DebugLog,  # noqa: F811
) -> None:
    await messaging.desktop.get("/kiosk/rp", params={"key": "wrong-" + KEY})
    await unlock(messaging)
    await messaging.desktop.get("/kiosk/rp")
    session_id = await approved(messaging)
    await messaging.desktop.post(f"/kiosk/rp/logins/{session_id}/code", headers=SAME_ORIGIN)
    assert any("/kiosk/rp" in text for _, text in debug_log.records)
    for as_json, as_text in debug_log.records:
        assert KEY not in as_json and KEY not in as_text


def test_kiosk_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    base: dict[str, Any] = {
        "issuer": "https://login.example.com",
        "providers": {"sandbox": {"kind": "sandbox"}},
    }

    def client(**table: Any) -> Any:
        clients = {
            "lobby": {
                "secret": "s",
                "redirect_uris": ["https://lobby.example/cb"],
                "providers": ["sandbox"],
                **table,
            }
        }
        settings = parse_settings({**base, "clients": clients}, environ={"LOBBY_KEY": "k1"})
        return settings.clients["lobby"]

    lobby = client(kiosk=True, kiosk_key="env:LOBBY_KEY", kiosk_mode="message")
    assert lobby.kiosk_key == "k1" and lobby.kiosk_mode == "message"
    assert client(kiosk=True).kiosk_mode == "redirect"
    for table, key in [
        ({"kiosk": True, "kiosk_mode": "popup"}, "clients.lobby.kiosk_mode"),
        ({"kiosk": True, "kiosk_key": "env:MISSING"}, "clients.lobby.kiosk_key"),
        ({"kiosk": True, "kiosk_key": ""}, "clients.lobby.kiosk_key"),
        ({"kiosk_key": "k"}, "clients.lobby.kiosk_key"),
    ]:
        with pytest.raises(ConfigError) as caught:
            client(**table)
        assert caught.value.key == key
        assert "k1" not in str(caught.value)
