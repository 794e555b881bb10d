"""The steps of one login over HTTP and a websocket, as a desktop browser, a phone and the
relying party make them (tests/flows.py does the same in-process).

Cookies are carried by hand, one login at a time: httpx's cookie jar is searched linearly on
every request, which with thousands of logins in one client would time the harness, not the
relay. Every URL the relay hands out (scan URL, provider redirect, callback) is followed by its
path and query on the client given for that party, so a phone can talk to another relay process
than the desktop did.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import http.cookiejar
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import websockets
from relay_process import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI
from websockets.asyncio.client import ClientConnection

RECEIVE_TIMEOUT = 30.0  # seconds a websocket read may wait for the next status
SCAN_URL = re.compile(r'data-scan-url="(http[^"]+/s/[^"]+)"')
FORM_FIELD = re.compile(r'name="([^"]+)" value="([^"]*)"')


class StepFailed(RuntimeError):
    pass


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False


def client(base: str, connections: int) -> httpx.AsyncClient:
    """An HTTP/1.1 client for one relay process that keeps no cookies of its own."""
    return httpx.AsyncClient(
        base_url=base,
        cookies=http.cookiejar.CookieJar(policy=_NoCookies()),
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        timeout=httpx.Timeout(30.0),
    )


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def cookies_from(response: httpx.Response) -> dict[str, str]:
    found = {}
    for header in response.headers.get_list("set-cookie"):
        name, _, value = header.split(";", 1)[0].partition("=")
        found[name.strip()] = value.strip()
    return found


def only_cookie(response: httpx.Response, prefix: str) -> str:
    """`name=value` of the one cookie set whose name starts with `prefix` (each login has its
    own cookie, named after it)."""
    (found,) = [f"{k}={v}" for k, v in cookies_from(response).items() if k.startswith(prefix)]
    return found


def expect(response: httpx.Response, status: int, step: str) -> httpx.Response:
    if response.status_code != status:
        raise StepFailed(f"{step}: HTTP {response.status_code}, wanted {status}")
    return response


@dataclass
class Login:
    desktop: httpx.AsyncClient
    phone: httpx.AsyncClient
    verifier: str = ""
    session_id: str = ""
    desktop_cookie: str = ""
    scan_path: str = ""
    phone_cookie: str = ""
    sandbox_path: str = ""
    sandbox_form: dict[str, str] = field(default_factory=dict)
    callback_path: str = ""
    callback_cookie: str = ""
    code: str = ""
    access_token: str = ""
    ws: ClientConnection | None = None
    seen: list[str] = field(default_factory=list)  # statuses received on the websocket

    # --- the desktop --------------------------------------------------------------------------

    async def authorize(self) -> None:
        self.verifier, challenge = pkce()
        params = {
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "scope": "openid profile",
            "state": secrets.token_urlsafe(16),
            "nonce": secrets.token_urlsafe(16),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        response = expect(await self.desktop.get("/authorize", params=params), 303, "authorize")
        location = response.headers["location"]
        self.session_id = location.rsplit("/", 1)[1]
        self.desktop_cookie = only_cookie(response, "relay_bind_")

    async def login_page(self) -> None:
        response = expect(
            await self.desktop.get(
                f"/sessions/{self.session_id}", headers={"Cookie": self.desktop_cookie}
            ),
            200,
            "login page",
        )
        found = SCAN_URL.search(response.text)
        if found is None:
            raise StepFailed("login page: no scan URL")
        self.scan_path = path_of(found.group(1))

    async def open_live(self, ws_base: str) -> None:
        """The login page's websocket; reads the first message (the current status)."""
        self.ws = await websockets.connect(
            f"{ws_base}/sessions/{self.session_id}/live",
            additional_headers={"Cookie": self.desktop_cookie},
            open_timeout=30,
            ping_interval=None,  # the harness's own pings would be load the relay never sees
            close_timeout=5,
        )
        await self.receive("pending")

    async def receive(self, wanted: str) -> float:
        """Reads websocket messages until `wanted`; returns the perf_counter() at its arrival.
        New QR codes (`pending` with a `scan_url`, every qr_rotate seconds) are taken in passing."""
        assert self.ws is not None
        others = 0
        while others < 8:
            message = await asyncio.wait_for(self.ws.recv(), RECEIVE_TIMEOUT)
            arrived = time.perf_counter()
            event = websockets_json(message)
            status = str(event.get("status"))
            if status == wanted:
                self.seen.append(status)
                return arrived
            if status == "pending" and isinstance(event.get("scan_url"), str):
                self.scan_path = path_of(event["scan_url"])  # a new QR, not a change
                continue
            self.seen.append(status)
            others += 1
        raise StepFailed(f"websocket: no {wanted} among {self.seen}")

    async def close_live(self) -> None:
        if self.ws is not None:
            await self.ws.close()
            self.ws = None

    async def resume(self) -> None:
        response = expect(
            await self.desktop.get(
                f"/sessions/{self.session_id}/resume", headers={"Cookie": self.desktop_cookie}
            ),
            302,
            "resume",
        )
        query = parse_qs(urlsplit(response.headers["location"]).query)
        self.code = query["code"][0]

    # --- the phone ----------------------------------------------------------------------------

    async def scan(self) -> None:
        response = expect(await self.phone.get(self.scan_path), 303, "scan")
        self.phone_cookie = only_cookie(response, "relay_phone_")

    async def phone_page(self) -> None:
        headers = {"Cookie": self.phone_cookie}
        expect(await self.phone.get(f"/phone/{self.session_id}", headers=headers), 200, "phone")

    async def continue_(self) -> None:
        """Continue on the phone: the relay sends it to the provider (here the sandbox)."""
        going = expect(
            await self.phone.post(
                f"/phone/{self.session_id}/continue", headers={"Cookie": self.phone_cookie}
            ),
            303,
            "continue",
        )
        name, value = next(iter(cookies_from(going).items()))
        self.callback_cookie = f"{name}={value}"
        self.sandbox_path = path_of(going.headers["location"])

    async def sandbox_page(self) -> None:
        page = expect(await self.phone.get(self.sandbox_path), 200, "sandbox page")
        self.sandbox_form = {k: html.unescape(v) for k, v in FORM_FIELD.findall(page.text)}

    async def sandbox_approve(self) -> None:
        fields = {**self.sandbox_form, "decision": "approve", "name": "Bench User"}
        back = expect(await self.phone.post("/sandbox/authorize", data=fields), 303, "approve")
        self.callback_path = path_of(back.headers["location"])

    async def to_sandbox(self) -> None:
        """Continue, the sandbox's sign-in page, Approve: ends holding the callback URL."""
        await self.continue_()
        await self.sandbox_page()
        await self.sandbox_approve()

    async def callback(self) -> None:
        response = expect(
            await self.phone.get(self.callback_path, headers={"Cookie": self.callback_cookie}),
            200,
            "callback",
        )
        if "Return to your computer" not in response.text:
            raise StepFailed("callback: the phone was not told the login is done")

    # --- the relying party --------------------------------------------------------------------

    async def token(self) -> None:
        response = expect(
            await self.desktop.post(
                "/token",
                data={
                    "grant_type": "authorization_code",
                    "code": self.code,
                    "redirect_uri": REDIRECT_URI,
                    "code_verifier": self.verifier,
                },
                auth=(CLIENT_ID, CLIENT_SECRET),
            ),
            200,
            "token",
        )
        body = response.json()
        if "id_token" not in body:
            raise StepFailed("token: no id_token")
        self.access_token = body["access_token"]

    async def userinfo(self) -> None:
        response = expect(
            await self.desktop.get(
                "/userinfo", headers={"Authorization": f"Bearer {self.access_token}"}
            ),
            200,
            "userinfo",
        )
        if "sub" not in response.json():
            raise StepFailed("userinfo: no sub")


def websockets_json(message: str | bytes) -> dict[str, Any]:
    value = json.loads(message)
    return value if isinstance(value, dict) else {}
