"""The authorization endpoint: which errors are a page and which go back to the relying party
(RFC 6749 §4.1.2.1, RFC 9207), PKCE at the door, scopes, the provider picker, and bad input."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest

from tests.flows import Relay, pkce, query_of
from tests.store.raw import memory_store_of

RP_REDIRECT = "https://rp.example/callback"
REFUSED_PAGE = "This sign-in request cannot be used"


def stored(relay: Relay) -> int:
    """How many records the memory store holds (sessions, tickets, codes, tokens)."""
    return len(memory_store_of(relay.core.store))


def assert_refused_page(response: httpx.Response) -> None:
    """An error page: 400, HTML, and no redirect anywhere."""
    assert response.status_code == 400, response.text
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert REFUSED_PAGE in response.text


def error_back(
    response: httpx.Response, redirect_uri: str = RP_REDIRECT, status_code: int = 302
) -> dict[str, str]:
    """An error redirect to the registered redirect_uri; its query."""
    assert response.status_code == status_code, response.text
    location = response.headers["location"]
    assert location.startswith(redirect_uri + ("&" if "?" in redirect_uri else "?")), location
    assert response.headers["cache-control"] == "no-store"
    answer = query_of(location)
    assert "code" not in answer
    assert answer["error_description"]
    return answer


def assert_login_started(response: httpx.Response) -> None:
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith("/sessions/")


async def get_pairs(relay: Relay, pairs: list[tuple[str, str]]) -> httpx.Response:
    """GET /authorize with exactly these parameters, repeats included, in this order."""
    return await relay.desktop.get("/authorize", params=pairs)


async def asgi_get(relay: Relay, path: str, query: bytes) -> tuple[int, dict[str, str], str]:
    """A GET straight into the ASGI app, with a query string httpx would refuse to send."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"relay.test")],
        "client": ("127.0.0.1", 50000),
        "server": ("relay.test", 80),
        "state": {},
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await relay.app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], headers, body.decode()


# --- errors that must never redirect ----------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"client_id": "nobody"}, id="unknown-client"),
        pytest.param({"client_id": None}, id="missing-client"),
        pytest.param({"client_id": ""}, id="empty-client"),
        pytest.param({"redirect_uri": "https://evil.example/callback"}, id="foreign-uri"),
        pytest.param({"redirect_uri": RP_REDIRECT + "/"}, id="trailing-slash"),
        pytest.param({"redirect_uri": "https://RP.example/callback"}, id="host-case"),
        pytest.param({"redirect_uri": "https://rp.example/Callback"}, id="path-case"),
        pytest.param({"redirect_uri": RP_REDIRECT + "?x=1"}, id="extra-query"),
        pytest.param({"redirect_uri": RP_REDIRECT + "#top"}, id="fragment"),
        pytest.param({"redirect_uri": "http://rp.example/callback"}, id="http-not-https"),
        pytest.param({"redirect_uri": "https://rp.example:443/callback"}, id="explicit-port"),
        pytest.param({"redirect_uri": "https://multi.example/a"}, id="other-clients-uri"),
        pytest.param({"client_id": "multi", "redirect_uri": None}, id="omitted-with-several"),
        pytest.param(
            {"client_id": "multi", "redirect_uri": "https://multi.example/b"},
            id="multi-query-dropped",
        ),
    ],
)
async def test_authorize_untrusted_client_or_redirect_uri_gets_a_page(
    relay: Relay, params: dict[str, str | None]
) -> None:
    assert stored(relay) == 0
    response = await relay.authorize(**params)
    assert_refused_page(response)
    assert "invalid_request" in response.text
    assert stored(relay) == 0
    assert "set-cookie" not in response.headers


async def test_authorize_unknown_client_page_names_the_problem(relay: Relay) -> None:
    response = await relay.authorize(client_id="nobody")
    assert_refused_page(response)
    assert "unknown client_id" in html.unescape(response.text)


async def test_authorize_unregistered_redirect_uri_even_with_other_errors_never_redirects(
    relay: Relay,
) -> None:
    response = await relay.authorize(
        redirect_uri="https://evil.example/cb", response_type="token", prompt="none"
    )
    assert_refused_page(response)
    assert stored(relay) == 0


async def test_authorize_repeated_client_id_gets_a_page(relay: Relay) -> None:
    pairs = [*relay.authorize_params().items(), ("client_id", "rp")]
    response = await get_pairs(relay, pairs)
    assert_refused_page(response)
    assert "client_id is repeated" in response.text
    assert stored(relay) == 0


async def test_authorize_repeated_redirect_uri_gets_a_page(relay: Relay) -> None:
    pairs = [*relay.authorize_params().items(), ("redirect_uri", RP_REDIRECT)]
    response = await get_pairs(relay, pairs)
    assert_refused_page(response)
    assert "redirect_uri is repeated" in response.text
    assert stored(relay) == 0


async def test_authorize_omitted_redirect_uri_with_one_registered_starts_a_login(
    relay: Relay,
) -> None:
    response = await relay.authorize(redirect_uri=None)
    assert_login_started(response)
    assert stored(relay) > 0


async def test_authorize_omitted_redirect_uri_errors_go_to_the_registered_one(
    relay: Relay,
) -> None:
    answer = error_back(await relay.authorize(redirect_uri=None, response_type="token"))
    assert answer["error"] == "unsupported_response_type"
    assert answer["state"] == "rp-state-123"


# --- errors that go back to the relying party -------------------------------------------------


_, CHALLENGE = pkce()


@pytest.mark.parametrize(
    ("params", "error"),
    [
        pytest.param({"response_type": None}, "invalid_request", id="no-response-type"),
        pytest.param({"response_type": "token"}, "unsupported_response_type", id="token"),
        pytest.param({"response_type": "code id_token"}, "unsupported_response_type", id="hybrid"),
        pytest.param(
            {"code_challenge": CHALLENGE, "code_challenge_method": "plain"},
            "invalid_request",
            id="pkce-plain",
        ),
        pytest.param({"code_challenge": CHALLENGE}, "invalid_request", id="pkce-no-method"),
        pytest.param({"code_challenge_method": "S256"}, "invalid_request", id="pkce-method-alone"),
        pytest.param(
            {"code_challenge": "too-short", "code_challenge_method": "S256"},
            "invalid_request",
            id="pkce-short",
        ),
        pytest.param(
            {"code_challenge": CHALLENGE[:-1] + "=", "code_challenge_method": "S256"},
            "invalid_request",
            id="pkce-not-base64url",
        ),
        pytest.param(
            {"code_challenge": CHALLENGE + "A", "code_challenge_method": "S256"},
            "invalid_request",
            id="pkce-long",
        ),
        pytest.param({"provider": "sandbox2"}, "invalid_request", id="provider-not-enabled"),
        pytest.param({"provider": "nonexistent"}, "invalid_request", id="provider-unknown"),
        pytest.param({"prompt": "none"}, "login_required", id="prompt-none"),
        pytest.param({"prompt": "consent none"}, "login_required", id="prompt-list-none"),
        pytest.param({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported", id="req"),
        pytest.param(
            {"request_uri": "https://rp.example/r/1"}, "request_uri_not_supported", id="req-uri"
        ),
        pytest.param({"nonce": "n" * 513}, "invalid_request", id="nonce-oversized"),
        pytest.param({"nonce": "a\nb"}, "invalid_request", id="nonce-control-chars"),
    ],
)
async def test_authorize_error_redirects_with_error_state_and_iss(
    relay: Relay, params: dict[str, str | None], error: str
) -> None:
    answer = error_back(await relay.authorize(**params))
    assert answer["error"] == error
    assert answer["state"] == "rp-state-123"
    assert answer["iss"] == relay.issuer
    assert stored(relay) == 0


async def test_authorize_error_description_keeps_to_the_characters_rfc_6749_allows(
    relay: Relay,
) -> None:
    """RFC 6749 §4.1.2.1: no '"', '\\' or characters outside printable ASCII, even in an echo."""
    answer = error_back(await relay.authorize(provider='x"\\é'))
    assert answer["error"] == "invalid_request"
    assert answer["error_description"] == "provider x'?? is not enabled for this client"


@pytest.mark.parametrize("name", ["scope", "nonce", "response_type", "code_challenge"])
async def test_authorize_repeated_parameter_redirects_invalid_request(
    relay: Relay, name: str
) -> None:
    _, challenge = pkce()
    params = relay.authorize_params(code_challenge=challenge, code_challenge_method="S256")
    pairs = [*params.items(), (name, params[name])]
    answer = error_back(await get_pairs(relay, pairs))
    assert answer["error"] == "invalid_request"
    assert name in answer["error_description"]
    assert answer["state"] == "rp-state-123"
    assert answer["iss"] == relay.issuer
    assert stored(relay) == 0


async def test_authorize_repeated_state_redirects_without_state(relay: Relay) -> None:
    pairs = [*relay.authorize_params().items(), ("state", "second")]
    response = await get_pairs(relay, pairs)
    answer = error_back(response)
    assert answer["error"] == "invalid_request"
    assert "state" not in answer
    assert answer["iss"] == relay.issuer
    assert "second" not in response.headers["location"]
    assert "rp-state-123" not in response.headers["location"]
    assert stored(relay) == 0


async def test_authorize_oversized_state_redirects_without_state(relay: Relay) -> None:
    response = await relay.authorize(state="s" * 2049)
    answer = error_back(response)
    assert answer["error"] == "invalid_request"
    assert "state" not in answer
    assert answer["iss"] == relay.issuer
    assert len(response.headers["location"]) < 1024
    assert stored(relay) == 0


async def test_authorize_state_at_the_limit_is_accepted(relay: Relay) -> None:
    assert_login_started(await relay.authorize(state="s" * 2048, nonce="n" * 512))


async def test_authorize_error_without_state_carries_no_state(relay: Relay) -> None:
    answer = error_back(await relay.authorize(state=None, response_type="token"))
    assert answer["error"] == "unsupported_response_type"
    assert "state" not in answer
    assert answer["iss"] == relay.issuer


async def test_authorize_error_keeps_the_redirect_uris_own_query(relay: Relay) -> None:
    response = await relay.authorize(
        client_id="multi", redirect_uri="https://multi.example/b?x=1", response_type="token"
    )
    answer = error_back(response, "https://multi.example/b?x=1")
    assert answer["x"] == "1"
    assert answer["error"] == "unsupported_response_type"
    assert answer["state"] == "rp-state-123"
    assert answer["iss"] == relay.issuer
    location = urlsplit(response.headers["location"])
    assert (location.scheme, location.netloc, location.path) == (
        "https",
        "multi.example",
        "/b",
    )
    assert location.query.startswith("x=1&")
    assert stored(relay) == 0


async def test_authorize_error_description_and_state_are_url_encoded(relay: Relay) -> None:
    state = "a b&c=d/é"
    answer = error_back(await relay.authorize(state=state, response_type="token"))
    assert answer["state"] == state
    assert answer["error"] == "unsupported_response_type"


# --- what is accepted -------------------------------------------------------------------------


async def test_authorize_unknown_parameters_are_ignored(relay: Relay) -> None:
    response = await relay.authorize(foo="bar", ui_locales="fr", display="page", max_age="0")
    assert_login_started(response)


async def test_authorize_with_s256_challenge_starts_a_login(relay: Relay) -> None:
    _, challenge = pkce()
    assert_login_started(
        await relay.authorize(code_challenge=challenge, code_challenge_method="S256")
    )


async def test_authorize_unknown_scopes_are_dropped_from_the_grant(relay: Relay) -> None:
    answer = await relay.login(scope="openid weird profile weird")
    tokens = await relay.token(code=answer["code"])
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["scope"] == "openid profile"
    assert "id_token" in body


async def test_authorize_scope_without_openid_gives_no_id_token(relay: Relay) -> None:
    answer = await relay.login(scope="profile")
    tokens = await relay.token(code=answer["code"])
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert "id_token" not in body
    assert body["scope"] == "profile"
    assert body["access_token"]


async def test_authorize_success_redirect_carries_code_state_and_iss(relay: Relay) -> None:
    answer = await relay.login()
    assert set(answer) == {"code", "state", "iss"}
    assert answer["state"] == "rp-state-123"
    assert answer["iss"] == relay.issuer
    assert len(answer["code"]) >= 22  # at least 128 bits of base64url


async def test_authorize_multi_redirect_uri_with_query_keeps_it_on_success(
    relay: Relay,
) -> None:
    started = await relay.start(
        client_id="multi", redirect_uri="https://multi.example/b?x=1", provider="sandbox"
    )
    assert (await relay.scan(started.scan_url)).status_code == 303
    await relay.approve(started.session_id)
    back = await relay.resume(started.session_id)
    assert back.status_code == 302
    assert back.headers["location"].startswith("https://multi.example/b?x=1&")
    answer = query_of(back.headers["location"])
    assert answer["x"] == "1" and answer["code"] and answer["iss"] == relay.issuer


# --- POST /authorize --------------------------------------------------------------------------


async def test_authorize_post_form_body_works_like_get(relay: Relay) -> None:
    response = await relay.desktop.post("/authorize", data=relay.authorize_params())
    assert_login_started(response)
    page = await relay.desktop.get(response.headers["location"])
    assert page.status_code == 200
    assert "Sign in to Example RP" in page.text


async def test_authorize_post_form_errors_redirect_like_get(relay: Relay) -> None:
    response = await relay.desktop.post(
        "/authorize", data=relay.authorize_params(response_type="token")
    )
    answer = error_back(response, status_code=303)  # 303 after a POST, RFC 9700 §4.11
    assert answer["error"] == "unsupported_response_type"
    assert answer["state"] == "rp-state-123"


async def test_authorize_post_json_body_gets_a_page(relay: Relay) -> None:
    response = await relay.desktop.post("/authorize", json=relay.authorize_params())
    assert_refused_page(response)
    assert "application/x-www-form-urlencoded" in response.text
    assert stored(relay) == 0


async def test_authorize_post_oversized_body_gets_a_page(relay: Relay) -> None:
    response = await relay.desktop.post(
        "/authorize", data=relay.authorize_params(padding="x" * 20_000)
    )
    assert_refused_page(response)
    assert stored(relay) == 0


async def test_authorize_post_ignores_the_query(relay: Relay) -> None:
    """A POST reads its parameters from the body only."""
    response = await relay.desktop.post(
        "/authorize?" + urlencode(relay.authorize_params()),
        data={"unrelated": "1"},
    )
    assert_refused_page(response)
    assert stored(relay) == 0


# --- a kiosk page's client --------------------------------------------------------------------

KIOSK_PAGE = {"kiosk": True, "kiosk_key": "k" * 32}


async def test_authorize_refuses_a_kiosk_pages_client(relay_from: Callable[..., Relay]) -> None:
    """A code for the kiosk's client means "someone stood at the kiosk": had from /authorize at
    home, it could be handed to the kiosk's application (attendance, a door). Refused with
    unauthorized_client, back to the registered redirect_uri as every error after it is trusted."""
    relay = relay_from(rp=KIOSK_PAGE)
    answer = error_back(await relay.authorize())
    assert answer["error"] == "unauthorized_client"
    assert "kiosk" in answer["error_description"]
    assert answer["state"] == "rp-state-123" and answer["iss"] == relay.issuer
    # Whatever else the request says, and posted as well.
    other = error_back(await relay.authorize(response_type="token", request="x"))
    assert other["error"] == "unauthorized_client"
    posted = await relay.desktop.post("/authorize", data=relay.authorize_params())
    assert error_back(posted, status_code=303)["error"] == "unauthorized_client"
    assert stored(relay) == 0
    # A redirect_uri that is not the client's is still a page: nothing goes there.
    assert_refused_page(await relay.authorize(redirect_uri="https://evil.example/callback"))


async def test_authorize_still_serves_a_device_only_kiosk_client(
    relay_from: Callable[..., Relay],
) -> None:
    """`kiosk = true` without a kiosk_key (the device flow only) leaves /authorize open."""
    relay = relay_from(rp={"kiosk": True})
    assert_login_started(await relay.authorize())


# --- the provider picker ----------------------------------------------------------------------


async def test_authorize_several_providers_without_choice_shows_a_picker(relay: Relay) -> None:
    response = await relay.authorize(client_id="multi", redirect_uri="https://multi.example/a")
    assert response.status_code == 200
    assert "location" not in response.headers
    assert "Sign in to Multi RP" in response.text
    assert "Sandbox" in response.text and "Second sandbox" in response.text
    assert stored(relay) == 0  # choosing starts the session, showing the choice does not

    links = [html.unescape(h) for h in re.findall(r'href="(/authorize\?[^"]+)"', response.text)]
    providers = sorted(query_of(link)["provider"] for link in links)
    assert providers == ["sandbox", "sandbox2"]
    for link in links:
        params = query_of(link)
        assert params["client_id"] == "multi"
        assert params["redirect_uri"] == "https://multi.example/a"
        assert params["state"] == "rp-state-123"
        assert params["nonce"] == "rp-nonce-456"


async def test_authorize_picker_links_lead_to_a_login(relay: Relay) -> None:
    picker = await relay.authorize(client_id="multi", redirect_uri="https://multi.example/a")
    links = [html.unescape(h) for h in re.findall(r'href="(/authorize\?[^"]+)"', picker.text)]
    assert len(links) == 2
    for link in links:
        chosen = await relay.desktop.get(link)
        assert_login_started(chosen)
        page = await relay.desktop.get(chosen.headers["location"])
        assert page.status_code == 200
        expected = "Second sandbox" if query_of(link)["provider"] == "sandbox2" else "Sandbox"
        assert expected in page.text


async def test_authorize_picker_is_skipped_when_the_provider_is_named(relay: Relay) -> None:
    response = await relay.authorize(
        client_id="multi", redirect_uri="https://multi.example/a", provider="sandbox2"
    )
    assert_login_started(response)


# --- malformed input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("client_id=rp&redirect_uri=%FF", id="invalid-utf8-escape"),
        pytest.param("client_id=%C3%28&response_type=code", id="invalid-utf8-sequence"),
        pytest.param("client_id=rp&state=%ED%A0%80", id="surrogate"),
        pytest.param("client_id=%ZZ", id="bad-percent"),
        pytest.param("client_id=rp%", id="truncated-percent"),
        pytest.param("client_id=r%00p", id="nul"),
        pytest.param("&&&=&client_id", id="empty-pairs"),
    ],
)
async def test_authorize_malformed_query_gets_a_page(relay: Relay, query: str) -> None:
    response = await relay.desktop.get("/authorize?" + query)
    assert_refused_page(response)
    assert stored(relay) == 0


async def test_authorize_invalid_utf8_with_valid_client_never_redirects(relay: Relay) -> None:
    query = urlencode(relay.authorize_params()) + "&state=%FF%FE"
    response = await relay.desktop.get("/authorize?" + query)
    assert_refused_page(response)
    assert stored(relay) == 0


async def test_authorize_raw_non_ascii_bytes_in_query_get_a_page(relay: Relay) -> None:
    status, headers, body = await asgi_get(
        relay, "/authorize", b"client_id=rp&redirect_uri=https://rp.example/\xff\xfe"
    )
    assert status == 400
    assert "location" not in headers
    assert REFUSED_PAGE in body
    assert stored(relay) == 0


async def test_authorize_too_many_parameters_gets_a_page(relay: Relay) -> None:
    pairs = [*relay.authorize_params().items(), *((f"p{i}", "x") for i in range(100))]
    response = await get_pairs(relay, pairs)
    assert_refused_page(response)
    assert stored(relay) == 0


async def test_authorize_other_method_is_refused(relay: Relay) -> None:
    response = await relay.desktop.put("/authorize", data=relay.authorize_params())
    assert response.status_code == 405
    assert "location" not in response.headers
    assert stored(relay) == 0
