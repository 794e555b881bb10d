"""The kiosk page (relay/kiosk/page.py), in-process: its key (guesses limited) and cookie (renewed
while the kiosk runs), its refusals (framable in message mode), its logins in both modes up to the
relying party's /token, a code handed over once however often asked, and its key kept out of the
logs."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest

from relay.errors import ConfigError
from relay.settings import parse_settings
from tests.conftest import NO_RATE_LIMITS, RP_REDIRECT, make_settings
from tests.flows import Relay, browser_at, query_of

# Every logger at DEBUG, every line kept: a fixture, used by name (as tests/device/conftest.py).
from tests.observability.test_secrets_in_logs import DebugLog, debug_log  # noqa: F401

KEY = "lobby-screen-key-5f1c0e9a"
KIOSK = {"kiosk": True, "kiosk_key": KEY}
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}
COOKIE_MAX_AGE = "Max-Age=2592000"  # 30 days


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
    # Lax: the kiosk's application, on another site, sends the browser back here (redirect mode).
    assert "httponly" in lowered and "samesite=lax" in lowered and "path=/kiosk/rp" in lowered

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
    assert set(login) >= {"session_id", "scan_url", "expires_in", "expires_at"}
    # The page counts the seconds on its own clock (static/kiosk.js): however far off it is.
    assert login["expires_in"] == kiosk.settings.session_ttl
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

    tokens = await messaging.token(code=answer["code"], redirect_uri="")
    assert tokens.status_code == 200, tokens.text


async def test_kiosk_message_mode_code_is_not_handed_over_twice_even_with_the_cookie(
    messaging: Relay,
) -> None:
    await unlock(messaging)
    session_id = await approved(messaging)
    bind = messaging.desktop_cookie(session_id)  # "name=value", before the hand-over removes it
    path = f"/kiosk/rp/logins/{session_id}/code"
    assert (await messaging.desktop.post(path, headers=SAME_ORIGIN)).status_code == 200
    # The cookie put back (a copy kept by whoever read it): the login is over all the same.
    again = await messaging.desktop.post(
        path, headers={**SAME_ORIGIN, "Cookie": with_kiosk(messaging, bind)}
    )
    assert again.status_code == 409, again.text
    assert again.json()["error"] == "invalid_request" and "code" not in again.json()


def with_kiosk(relay: Relay, bind: str) -> str:
    """A Cookie header: the login's binding cookie and the unlocked kiosk's cookie."""
    return f"{bind}; relay_kiosk={relay.desktop.cookies['relay_kiosk']}"


@pytest.fixture(params=["memory", "redis"])
async def messaging_on(
    request: pytest.FixtureRequest, relay_from: Callable[..., Relay]
) -> AsyncIterator[Relay]:
    """A message-mode kiosk's relay on the memory store and on Redis (where two requests really
    run side by side), with a key prefix of its own."""
    if request.param == "memory":
        yield relay_from(rp={**KIOSK, "kiosk_mode": "message"})
        return
    store = request.getfixturevalue("redis_store")
    yield relay_from(rp={**KIOSK, "kiosk_mode": "message"}, store=store)


async def test_kiosk_two_hand_overs_at_once_give_one_code(messaging_on: Relay) -> None:
    relay = messaging_on
    await unlock(relay)
    session_id = await approved(relay)
    cookie = with_kiosk(relay, relay.desktop_cookie(session_id))
    path = f"/kiosk/rp/logins/{session_id}/code"
    browsers = [relay.browser(), relay.browser()]
    answers = await asyncio.gather(
        *(b.post(path, headers={**SAME_ORIGIN, "Cookie": cookie}) for b in browsers)
    )
    for browser in browsers:
        await browser.aclose()
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    handed = next(a for a in answers if a.status_code == 200).json()
    assert (await relay.token(code=handed["code"], redirect_uri="")).status_code == 200


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
    debug_log: DebugLog,  # noqa: F811 - the fixture imported above, by name
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
        environ = {"LOBBY_KEY": LONG_KEY, "SHORT_KEY": SHORT_KEY}
        settings = parse_settings({**base, "clients": clients}, environ=environ)
        return settings.clients["lobby"]

    lobby = client(kiosk=True, kiosk_key="env:LOBBY_KEY", kiosk_mode="message")
    assert lobby.kiosk_key == LONG_KEY and lobby.kiosk_mode == "message"
    assert client(kiosk=True, kiosk_key=LONG_KEY[:22]).kiosk_key == LONG_KEY[:22]
    assert client(kiosk=True).kiosk_mode == "redirect"
    for table, key in [
        ({"kiosk": True, "kiosk_mode": "popup"}, "clients.lobby.kiosk_mode"),
        ({"kiosk": True, "kiosk_key": "env:MISSING"}, "clients.lobby.kiosk_key"),
        ({"kiosk": True, "kiosk_key": ""}, "clients.lobby.kiosk_key"),
        ({"kiosk_key": LONG_KEY}, "clients.lobby.kiosk_key"),
        ({"kiosk": True, "kiosk_key": "env:SHORT_KEY"}, "clients.lobby.kiosk_key"),
        ({"kiosk": True, "kiosk_key": SHORT_KEY}, "clients.lobby.kiosk_key"),
    ]:
        with pytest.raises(ConfigError) as caught:
            client(**table)
        assert caught.value.key == key
        assert LONG_KEY not in str(caught.value) and SHORT_KEY not in str(caught.value)


LONG_KEY = "Xq3v9KpT2mWz8RbN4cYhL7dFs1Ae6Gu"  # 31 characters
SHORT_KEY = LONG_KEY[:21]  # one short of 128 bits in token_urlsafe's alphabet


async def test_kiosk_cookie_is_renewed_by_each_page_load_and_each_login(kiosk: Relay) -> None:
    """A kiosk that runs for months never reaches the cookie's 30 days: each page load and each
    login sets it again, same value, 30 days from then."""
    await unlock(kiosk)
    held = kiosk.desktop.cookies["relay_kiosk"]
    page = await kiosk.desktop.get("/kiosk/rp")
    assert page.status_code == 200
    login = await kiosk.desktop.post("/kiosk/rp/logins", headers=SAME_ORIGIN)
    assert login.status_code == 200
    for answer in (page, login):
        renewed = [c for c in answer.headers.get_list("set-cookie") if c.startswith("relay_kiosk=")]
        assert len(renewed) == 1, answer.headers.get_list("set-cookie")
        assert renewed[0].startswith(f"relay_kiosk={held};")
        assert COOKIE_MAX_AGE in renewed[0] and "Path=/kiosk/rp" in renewed[0]
        assert "SameSite=lax" in renewed[0] and "HttpOnly" in renewed[0]
    # Locked, or refused, the relay sets nothing: only the key unlocks.
    stranger = kiosk.browser()
    for answer in (
        await stranger.get("/kiosk/rp"),
        await stranger.post("/kiosk/rp/logins", headers=SAME_ORIGIN),
        await kiosk.desktop.post("/kiosk/rp/logins", headers={"Sec-Fetch-Site": "cross-site"}),
    ):
        assert answer.status_code == 403
        assert "relay_kiosk" not in answer.headers.get("set-cookie", "")
    await stranger.aclose()


async def test_kiosk_keys_tried_are_limited_per_address(relay_from: Callable[..., Relay]) -> None:
    """Every key tried counts against [limits] user_code for the address (as a user_code typed at
    /device), before it is compared: over the limit even the right key waits."""
    relay = relay_from(rp=KIOSK, limits=replace(NO_RATE_LIMITS, user_code="3/minute"))
    guesser = browser_at(relay, "198.51.100.7")
    for number in range(3):
        wrong = await guesser.get("/kiosk/rp", params={"key": f"guess-{number}"})
        assert wrong.status_code == 403 and "locked" in wrong.text
    refused = await guesser.get("/kiosk/rp", params={"key": "guess-3"})
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["cache-control"] == "no-store"
    assert "Too many" in refused.text
    right = await guesser.get("/kiosk/rp", params={"key": KEY})
    assert right.status_code == 429 and "set-cookie" not in right.headers
    # The page itself, without a key, is not counted: a kiosk's reloads never hit the limit.
    assert (await guesser.get("/kiosk/rp")).status_code == 403
    await guesser.aclose()
    # Another address is counted on its own.
    kiosk = browser_at(relay, "203.0.113.20")
    assert (await kiosk.get("/kiosk/rp", params={"key": KEY})).status_code == 303
    for _ in range(5):
        assert (await kiosk.get("/kiosk/rp")).status_code == 200
    await kiosk.aclose()


FRAMED_BY_RP = "frame-ancestors https://rp.example"


async def test_kiosk_message_mode_refusals_may_be_shown_in_its_frame(
    relay_from: Callable[..., Relay],
) -> None:
    """Inside the kiosk application's frame, "This kiosk is locked" (and the other refusals) must
    be allowed there, or the screen shows the browser's own error instead."""
    relay = relay_from(
        rp={**KIOSK, "kiosk_mode": "message"}, limits=replace(NO_RATE_LIMITS, user_code="1/minute")
    )
    locked_page = await relay.desktop.get("/kiosk/rp")
    assert locked_page.status_code == 403 and "This kiosk is locked" in locked_page.text
    wrong = await relay.desktop.get("/kiosk/rp", params={"key": "guess"})
    too_many = await relay.desktop.get("/kiosk/rp", params={"key": "guess"})
    provider = await relay.desktop.get("/kiosk/rp", params={"provider": "nope"})
    for answer, status in ((locked_page, 403), (wrong, 403), (too_many, 429), (provider, 400)):
        assert answer.status_code == status, answer.text
        csp = answer.headers["content-security-policy"]
        assert FRAMED_BY_RP in csp and "'none'" not in csp.split("frame-ancestors")[1]
        assert "x-frame-options" not in answer.headers
    # A message-mode client whose kiosk page is closed (no key): its 404 too.
    closed = relay_from(rp={"kiosk": True, "kiosk_mode": "message"})
    not_found = await closed.desktop.get("/kiosk/rp")
    assert not_found.status_code == 404
    assert FRAMED_BY_RP in not_found.headers["content-security-policy"]
    # Anyone else's refusals stay unframeable.
    for path in ("/kiosk/nobody", "/kiosk/multi"):
        other = await relay.desktop.get(path)
        assert other.status_code == 404
        assert "frame-ancestors 'none'" in other.headers["content-security-policy"]
        assert other.headers["x-frame-options"] == "DENY"
    redirecting = relay_from(rp=KIOSK)
    locked_redirect = await redirecting.desktop.get("/kiosk/rp")
    assert "frame-ancestors 'none'" in locked_redirect.headers["content-security-policy"]


async def test_kiosk_origin_of_a_redirect_uri_with_a_user_name(
    relay_from: Callable[..., Relay],
) -> None:
    relay = relay_from(
        rp={
            **KIOSK,
            "kiosk_mode": "message",
            "redirect_uris": ("https://kiosk-user@RP.example:8443/signed-in?x=1",),
        }
    )
    await unlock(relay)
    page = await relay.desktop.get("/kiosk/rp")
    assert 'data-target-origin="https://rp.example:8443"' in page.text
    csp = page.headers["content-security-policy"]
    assert csp.endswith("frame-ancestors https://rp.example:8443"), csp


async def test_kiosk_page_path_is_spelled_one_way_for_its_cookie_and_its_script(
    relay_from: Callable[..., Relay],
) -> None:
    """A client id that encodeURIComponent and the relay would spell differently (!'()*): the
    script calls the very path the cookie is set for, or its POSTs go without the cookie."""
    odd = "lobby (east)!*'"
    clients = dict(make_settings().clients)
    clients[odd] = replace(clients["rp"], client_id=odd, kiosk=True, kiosk_key=KEY)
    relay = relay_from(clients=clients)
    opened = await relay.desktop.get(f"/kiosk/{odd}", params={"key": KEY})
    assert opened.status_code == 303, opened.text
    path = opened.headers["location"]
    assert path == "/kiosk/lobby%20%28east%29%21%2A%27"
    assert f"Path={path};" in opened.headers["set-cookie"]
    page = await relay.desktop.get(path)
    assert page.status_code == 200, page.text
    found = re.search(r'data-base="([^"]*)"', page.text)
    assert found and found.group(1) == path  # static/kiosk.js posts to data-base + "/logins"
    login = await relay.desktop.post(f"{path}/logins", headers=SAME_ORIGIN)
    assert login.status_code == 200, login.text


async def test_a_busy_kiosk_is_not_held_to_the_waiting_logins_per_address(
    relay_from: Callable[..., Relay],
) -> None:
    """`waiting_per_ip` bounds the logins one address keeps waiting; a kiosk keeps one, and
    starts the next after each person: more than that bound within one session_ttl is its normal
    day. Its starts count against `[limits] authorize` instead."""
    limits = replace(NO_RATE_LIMITS, waiting_per_ip=2, authorize="4/minute")
    relay = relay_from(rp=KIOSK, limits=limits)
    await unlock(relay)
    for _ in range(4):
        await approved(relay)
    over = await relay.desktop.post("/kiosk/rp/logins", headers=SAME_ORIGIN)
    assert over.status_code == 429 and int(over.headers["retry-after"]) >= 1
