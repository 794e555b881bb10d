"""A sweep of junk over every endpoint: a clear answer (4xx page or OAuth error), never a 500,
never a redirect off the relay to an address nobody registered, and no session changes state."""

from __future__ import annotations

import pytest

from tests.flows import Relay

JUNK_QUERIES = [
    "",
    "a=%ff%fe",
    "client_id=rp&client_id=rp",
    "state=" + "x" * 5000,
    "&&&==&=",
    "code=%00&state=%0d%0a",
    "redirect_uri=javascript:alert(1)&client_id=rp",
    "=" * 70,
    "&".join(f"p{i}=1" for i in range(100)),
]

JUNK_BODIES: list[tuple[bytes, str]] = [
    (b"", "application/x-www-form-urlencoded"),
    (b"\xff\xfe\x00", "application/x-www-form-urlencoded"),
    (b'{"client_id": "rp"}', "application/json"),
    (
        b"grant_type=authorization_code&grant_type=authorization_code",
        "application/x-www-form-urlencoded",
    ),
    (b"x=" + b"y" * 40_000, "application/x-www-form-urlencoded"),
    (
        b"--b\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--b--",
        "multipart/form-data; boundary=b",
    ),
]

GET_PATHS = [
    "/authorize",
    "/userinfo",
    "/sessions/{sid}",
    "/sessions/{sid}/resume",
    "/s/{ticket}",
    "/phone/{sid}",
    "/callback/sandbox",
    "/sandbox/authorize",
    "/sandbox/userinfo",
    "/demo/callback",
    "/.well-known/openid-configuration",
    "/jwks.json",
]

POST_PATHS = [
    "/authorize",
    "/token",
    "/userinfo",
    "/sessions/{sid}/cancel",
    "/sessions/{sid}/refresh",
    "/phone/{sid}/continue",
    "/phone/{sid}/decline",
    "/sandbox/authorize",
    "/sandbox/token",
]


def off_relay_redirect(relay: Relay, location: str | None) -> bool:
    if location is None:
        return False
    return not (location.startswith("/") or location.startswith(relay.issuer))


@pytest.mark.parametrize("path", GET_PATHS)
async def test_bad_input_get_never_500(relay: Relay, path: str) -> None:
    started = await relay.start()
    await relay.scan(started.scan_url)
    before = (await relay.core.sessions.get(started.session_id)).status
    target = path.format(sid=started.session_id, ticket="T" * 22)
    for query in JUNK_QUERIES:
        for browser in (relay.desktop, relay.phone):
            response = await browser.get(f"{target}?{query}")
            assert response.status_code < 500, (target, query, response.text[:300])
            assert not off_relay_redirect(relay, response.headers.get("location")), (
                target,
                query,
            )
    assert (await relay.core.sessions.get(started.session_id)).status == before


@pytest.mark.parametrize("path", POST_PATHS)
async def test_bad_input_post_never_500(relay: Relay, path: str) -> None:
    started = await relay.start()
    await relay.scan(started.scan_url)
    target = path.format(sid="A" * 22)  # not this session: junk must not reach it
    for body, content_type in JUNK_BODIES:
        for browser in (relay.desktop, relay.phone):
            response = await browser.post(
                target, content=body, headers={"Content-Type": content_type}
            )
            assert response.status_code < 500, (target, body[:40], response.text[:300])
            assert not off_relay_redirect(relay, response.headers.get("location"))
    assert (await relay.core.sessions.get(started.session_id)).status == "scanned"


async def test_bad_input_headers_never_500(relay: Relay) -> None:
    headers = ("Bearer", "Bearer " + "x" * 5000, "Basic %%%", "Basic", "Digest abc", "")
    headers += ("Basic \xe9\xe9", "Bearer \xe9t\xe9")
    for header in headers:
        for path, method in (
            ("/userinfo", "GET"),
            ("/token", "POST"),
            ("/sandbox/userinfo", "GET"),
            ("/sandbox/token", "POST"),
        ):
            raw = header.encode("latin-1")  # bytes: httpx sends non-ASCII header bytes as they are
            response = await relay.desktop.request(
                method,
                path,
                headers={"Authorization": raw},
                data={"grant_type": "authorization_code", "code": "x"}
                if method == "POST"
                else None,
            )
            assert response.status_code < 500, (path, header[:20], response.text[:200])


async def test_bad_input_wrong_method_on_api_answers_json(relay: Relay) -> None:
    for method, path in (("GET", "/token"), ("PUT", "/userinfo"), ("POST", "/jwks.json")):
        response = await relay.desktop.request(method, path)
        assert response.status_code == 405
        assert response.json()["error"] == "invalid_request"
        assert "allow" in response.headers
    page = await relay.desktop.request("PUT", "/authorize")
    assert page.status_code == 405 and page.headers["content-type"].startswith("text/html")
