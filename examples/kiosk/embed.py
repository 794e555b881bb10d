"""A kiosk application that frames the relay's kiosk page and greets whoever signs in.

    export RELAY_URL=http://127.0.0.1:8000 CLIENT_ID=lobby-kiosk CLIENT_SECRET=...
    python examples/kiosk/embed.py            # then open http://127.0.0.1:8001 on the kiosk

::

    kiosk browser, http://127.0.0.1:8001        this server                    relay
    ┌ GET / ──────────────────────────────┐
    │ <iframe RELAY_URL/kiosk/CLIENT_ID> ◀┼───────── the QR, one login after another ──
    │   postMessage {type: "qr-relay-login", code, state, iss}
    │ embed.js: POST /signed-in {code} ───┼──▶ POST /token (client secret) ──▶
    │ "Welcome, Grace Hopper"  ◀── name ──┼─── id_token checked (/jwks.json) ◀──
    └─────────────────────────────────────┘

The relay serves its kiosk page in message mode (`kiosk_mode = "message"`) to be framed by the
origin of the client's first redirect_uri only (CSP frame-ancestors): here
`redirect_uris = ["http://127.0.0.1:8001/signed-in"]`. The page posts each approved login's code
to this window; the code is worth nothing without the client's secret, which only this server
holds, so the browser never sees a token. The frame gets the relay's kiosk cookie only when this
app is on the relay's site (SameSite: same host name; the port does not count), and only after
the kiosk's browser opened the relay's unlock address once (printed at start, the key in it
taken from KIOSK_KEY when set).

Needs starlette, uvicorn, httpx and joserfc: all four are the relay's own dependencies.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import os
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import uvicorn
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

HTTP_TIMEOUT = 10.0  # seconds for each request to the relay


@dataclass(frozen=True)
class Config:
    relay_url: str  # the relay's issuer: the id_token's iss must equal it
    client_id: str
    client_secret: str

    @property
    def relay_origin(self) -> str:
        """What the browser gives as event.origin for messages from the relay's page."""
        parts = urlsplit(self.relay_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def kiosk_url(self) -> str:
        return f"{self.relay_url}/kiosk/{quote(self.client_id, safe='')}"


# --- the page (no inline script or style: its own files, and a strict policy) -------------------

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Lobby</title>
<link rel="stylesheet" href="/embed.css">
<script src="/embed.js" defer></script>
</head>
<body>
<main id="lobby" data-relay-origin="{origin}" data-issuer="{issuer}">
  <iframe id="kiosk" src="{kiosk_url}" title="Sign in"></iframe>
  <p id="welcome" role="status" aria-live="polite"></p>
</main>
</body>
</html>
"""

SCRIPT = """\
// Takes the code the relay's kiosk page posts, and shows who it signed in.
(function () {
  "use strict";
  const lobby = document.getElementById("lobby");
  const frame = document.getElementById("kiosk");
  const welcome = document.getElementById("welcome");
  const SHOW_MS = 5000; // the frame meanwhile shows the next person's QR
  let hiding = null;

  function say(text) {
    welcome.textContent = text; // text, never HTML: the name comes from the person
    window.clearTimeout(hiding);
    hiding = window.setTimeout(() => { welcome.textContent = ""; }, SHOW_MS);
  }

  window.addEventListener("message", async (event) => {
    // Any window may post here: only the relay's page, in our own frame, is listened to.
    if (event.origin !== lobby.dataset.relayOrigin) return;
    if (event.source !== frame.contentWindow) return;
    const data = event.data;
    if (!data || data.type !== "qr-relay-login" || typeof data.code !== "string") return;
    if (data.iss !== lobby.dataset.issuer) return; // a code from another relay (RFC 9207)
    let name = null;
    try {
      const response = await fetch("/signed-in", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ code: data.code }),
      });
      if (response.ok) name = (await response.json()).name;
    } catch (failed) {
      name = null;
    }
    say(name ? "Welcome, " + name : "That did not work. Please scan again.");
  });
})();
"""

STYLE = """\
body { margin: 0; font: 2rem system-ui, sans-serif; background: #f4f4f4; }
main { display: flex; align-items: center; gap: 2rem; height: 100vh; padding: 0 2rem; }
iframe { flex: 0 0 60%; height: 90vh; border: 0; background: #fff; }
#welcome { flex: 1; font-weight: bold; }
"""

# 'self' and the relay's frame only; and no one frames this page.
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "frame-src {origin}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def headers(policy: str | None = None) -> dict[str, str]:
    extra = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
    if policy:
        extra["Content-Security-Policy"] = policy
    return extra


async def home(request: Request) -> Response:
    config: Config = request.app.state.config
    page = PAGE.format(
        origin=html.escape(config.relay_origin),
        issuer=html.escape(config.relay_url),
        kiosk_url=html.escape(config.kiosk_url),
    )
    return HTMLResponse(page, headers=headers(POLICY.format(origin=config.relay_origin)))


async def script(request: Request) -> Response:
    return Response(SCRIPT, media_type="text/javascript", headers=headers())


async def style(request: Request) -> Response:
    return Response(STYLE, media_type="text/css", headers=headers())


# --- the code, redeemed ---------------------------------------------------------------------------


class Refused(Exception):
    """An answer for the page: `status` and what went wrong."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def posted_code(request: Request) -> str:
    """The code our page posted. A JSON body can only come from our own page (a cross-site form
    cannot send one without CORS), and the browser says where a fetch came from."""
    if request.headers.get("sec-fetch-site", "same-origin") != "same-origin":
        raise Refused(403, "only this app's page may post here")
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise Refused(415, 'send JSON: {"code": ...}')
    try:
        body = await request.json()
    except ValueError:
        raise Refused(400, "the body is not JSON") from None
    code = body.get("code") if isinstance(body, dict) else None
    if not isinstance(code, str) or not 0 < len(code) <= 256:
        raise Refused(400, "code is missing")
    return code


async def redeem(http: httpx.AsyncClient, config: Config, code: str) -> dict[str, Any]:
    """POST /token with the client's secret (client_secret_basic). A kiosk code needs neither
    redirect_uri (the kiosk page's login had none in its request) nor PKCE (the secret proves
    who redeems it). The code's `state` was made by the relay itself: nothing to compare here."""
    response = await http.post(
        "/token",
        data={"grant_type": "authorization_code", "code": code},
        auth=(config.client_id, config.client_secret),
    )
    if response.status_code != 200:
        try:
            error = str(response.json().get("error", ""))
        except (ValueError, AttributeError):
            error = f"HTTP {response.status_code}"
        # invalid_grant: a code used or expired; anything else is this app's configuration.
        raise Refused(400 if error == "invalid_grant" else 502, f"/token refused: {error}")
    tokens: dict[str, Any] = response.json()
    return tokens


async def verified_claims(http: httpx.AsyncClient, config: Config, id_token: str) -> dict[str, Any]:
    """The id_token's claims, once its RS256 signature (against /jwks.json), issuer, audience and
    expiry check out: the name shown is the one the relay signed."""
    jwks = await http.get("/jwks.json")
    jwks.raise_for_status()
    try:
        token = jwt.decode(id_token, KeySet.import_key_set(jwks.json()), algorithms=["RS256"])
        jwt.JWTClaimsRegistry(
            now=int(time.time()),
            iss={"essential": True, "value": config.relay_url},
            aud={"essential": True, "value": config.client_id},
            exp={"essential": True},
        ).validate(token.claims)
    except JoseError as error:
        raise Refused(502, f"the id_token does not verify: {error}") from error
    claims: dict[str, Any] = token.claims
    return claims


async def signed_in(request: Request) -> Response:
    """POST /signed-in {code}: who signed in, {name}; or {error} for the page."""
    config: Config = request.app.state.config
    http: httpx.AsyncClient = request.app.state.http
    try:
        code = await posted_code(request)
        tokens = await redeem(http, config, code)
        claims = await verified_claims(http, config, tokens["id_token"])
    except Refused as refused:
        return JSONResponse({"error": str(refused)}, status_code=refused.status)
    except httpx.HTTPError as error:
        return JSONResponse({"error": f"cannot talk to the relay: {error!r}"}, status_code=502)
    # A real kiosk would open this person's session here (claims["sub"] is who they are).
    print(f"Signed in: {claims.get('name')} ({claims['sub']})", flush=True)
    return JSONResponse({"name": claims.get("name") or claims["sub"]})


def make_app(config: Config) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with httpx.AsyncClient(base_url=config.relay_url, timeout=HTTP_TIMEOUT) as http:
            app.state.http = http
            yield

    app = Starlette(
        routes=[
            Route("/", home),
            Route("/embed.js", script),
            Route("/embed.css", style),
            Route("/signed-in", signed_in, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
    app.state.config = config
    return app


# --- the command ----------------------------------------------------------------------------------


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description="A kiosk app that frames the relay's kiosk page.")
    parser.add_argument("--relay-url", default=env("RELAY_URL"), help="the relay (RELAY_URL)")
    parser.add_argument("--client-id", default=env("CLIENT_ID"), help="(CLIENT_ID)")
    parser.add_argument(
        "--client-secret",
        default=env("CLIENT_SECRET"),
        help="(CLIENT_SECRET; prefer the variable: other users can read arguments in ps)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="(default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8001, help="(default 8001)")
    args = parser.parse_args(argv)
    for option in ("relay_url", "client_id", "client_secret"):
        if not getattr(args, option):
            flag = "--" + option.replace("_", "-")
            parser.error(f"{flag} or the environment variable {option.upper()} is required")
    args.relay_url = args.relay_url.rstrip("/")
    if urlsplit(args.relay_url).scheme not in ("http", "https"):
        parser.error("--relay-url must start with http:// or https://")
    return args


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    config = Config(args.relay_url, args.client_id, args.client_secret)
    # The unlock address holds the key: printed on this terminal only, never sent anywhere.
    key = os.environ.get("KIOSK_KEY")
    print("In the kiosk's browser, open once (it unlocks the relay's kiosk page there):")
    print(f"  {config.kiosk_url}?key={quote(key, safe='') if key else '<the kiosk_key>'}")
    print(f"then this app: http://{args.host}:{args.port}", flush=True)
    uvicorn.run(make_app(config), host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
