"""A kiosk without a browser: signs people in with the relay's device flow (RFC 8628).

    python examples/kiosk/kiosk.py --relay-url https://login.example.com --client-id lobby-kiosk
    (the secret from CLIENT_SECRET; every option also reads its environment variable)

One sign-in, step by step:

1. POST /device_authorization with the client's credentials (client_secret_basic).
2. Show the QR of verification_uri_complete in the terminal, and the user_code and
   verification_uri for whoever would rather type.
3. Wait on WS /device/{device_code}/live until the login is confirmed or over; if no websocket
   can be opened (a proxy that refuses upgrades), poll /token every `interval` seconds instead,
   5 seconds more after each slow_down (RFC 8628 §3.5).
4. POST /token with the device_code grant; check the id_token's signature against /jwks.json,
   its issuer, audience and expiry; print its claims and /userinfo.

Exit status: 0 signed in; 1 denied, expired, or an error (the message says which); 2 bad
arguments. With --loop it starts over for the next person after each sign-in, denial or expiry,
and stops only on an error that another try would not fix.

Needs httpx, websockets and joserfc (the relay's own dependencies) and qrcode (a test extra of
the relay: `pip install qrcode`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import sys
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import qrcode
import websockets
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SCOPE = "openid profile"  # openid: an id_token; profile: the name in it and in /userinfo
SLOW_DOWN_STEP = 5  # seconds added to the interval at each slow_down (RFC 8628 §3.5)
LAST_STATUSES = {"confirmed", "completed", "denied", "cancelled", "failed", "expired"}
HTTP_TIMEOUT = 10.0  # seconds for each request to the relay


class SignInEnded(Exception):
    """This person's sign-in ended without tokens (denied, expired): the next one may start."""


class KioskError(Exception):
    """Something another try would not fix (wrong credentials, an unreachable relay)."""


# --- configuration --------------------------------------------------------------------------------


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description="Sign people in on this screen with the relay.")
    parser.add_argument("--relay-url", default=env("RELAY_URL"), help="the relay (RELAY_URL)")
    parser.add_argument("--client-id", default=env("CLIENT_ID"), help="(CLIENT_ID)")
    parser.add_argument(
        "--client-secret",
        default=env("CLIENT_SECRET"),
        help="(CLIENT_SECRET; prefer the variable: other users can read arguments in ps)",
    )
    parser.add_argument(
        "--provider", default=env("PROVIDER"), help="(PROVIDER; default: the client's first)"
    )
    parser.add_argument("--loop", action="store_true", help="start over for the next person")
    parser.add_argument("--poll", action="store_true", help="poll /token, never the websocket")
    args = parser.parse_args(argv)
    for option in ("relay_url", "client_id", "client_secret"):
        if not getattr(args, option):
            flag = "--" + option.replace("_", "-")
            parser.error(f"{flag} or the environment variable {option.upper()} is required")
    args.relay_url = args.relay_url.rstrip("/")
    if urlsplit(args.relay_url).scheme not in ("http", "https"):
        parser.error("--relay-url must start with http:// or https://")
    return args


# --- talking to the relay -------------------------------------------------------------------------


def client_auth(args: argparse.Namespace) -> httpx.BasicAuth:
    """client_secret_basic (RFC 6749 §2.3.1), at /device_authorization and /token only."""
    return httpx.BasicAuth(args.client_id, args.client_secret)


def oauth_error(response: httpx.Response) -> tuple[str, str]:
    """The `error` and `error_description` of an OAuth error answer (RFC 6749 §5.2)."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    return str(body.get("error", f"HTTP {response.status_code}")), str(
        body.get("error_description", "")
    )


def refused(what: str, response: httpx.Response) -> KioskError:
    error, description = oauth_error(response)
    return KioskError(f"{what} refused: {error}" + (f" ({description})" if description else ""))


async def start(http: httpx.AsyncClient, args: argparse.Namespace) -> dict[str, Any]:
    """RFC 8628 §3.1: the device authorization request."""
    form = {"scope": SCOPE}
    if args.provider:
        form["provider"] = args.provider
    response = await http.post("/device_authorization", data=form, auth=client_auth(args))
    if response.status_code != 200:
        raise refused("/device_authorization", response)
    started: dict[str, Any] = response.json()
    return started


def show(started: dict[str, Any]) -> None:
    """The screen: a QR to scan, and the code and address to type."""
    qr = qrcode.QRCode(border=2)
    qr.add_data(started["verification_uri_complete"])
    qr.print_ascii(invert=True)  # light modules drawn as ink: right for a light-on-dark terminal
    minutes = max(1, round(int(started["expires_in"]) / 60))
    print(f"Scan the code with your phone, or open {started['verification_uri']}")
    print(f"and type the code {started['user_code']}")
    print(f"(valid for {minutes} minutes)")


def live_url(relay_url: str, device_code: str) -> str:
    scheme = "wss" if relay_url.startswith("https://") else "ws"
    return f"{scheme}://{relay_url.split('://', 1)[1]}/device/{device_code}/live"


async def wait_on_websocket(relay_url: str, device_code: str, expires_in: int) -> bool:
    """Wait until the login is confirmed or over. False when no websocket could be opened or it
    was cut before then: the caller polls instead."""
    try:
        async with asyncio.timeout(expires_in + HTTP_TIMEOUT):
            async with websockets.connect(
                live_url(relay_url, device_code), open_timeout=HTTP_TIMEOUT
            ) as socket:
                async for message in socket:
                    status = json.loads(message).get("status")
                    if status == "scanned":
                        print("Code entered on a phone: waiting for the sign-in to finish...")
                    if status in LAST_STATUSES:
                        return True
    except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as error:
        print(f"(no websocket: {type(error).__name__}; polling /token instead)")
    return False


async def redeem(
    http: httpx.AsyncClient, args: argparse.Namespace, device_code: str
) -> httpx.Response:
    """RFC 8628 §3.4: the device access token request."""
    form = {"grant_type": DEVICE_CODE_GRANT, "device_code": device_code}
    return await http.post("/token", data=form, auth=client_auth(args))


def tokens_or_end(response: httpx.Response) -> dict[str, Any] | None:
    """The tokens; None while the person has not finished (poll again); SignInEnded or
    KioskError for every other answer (RFC 8628 §3.5)."""
    if response.status_code == 200:
        tokens: dict[str, Any] = response.json()
        return tokens
    error, description = oauth_error(response)
    if error in ("authorization_pending", "slow_down"):
        return None
    if error == "access_denied":
        raise SignInEnded(f"Sign-in denied: {description or 'the person said no'}")
    if error == "expired_token":
        raise SignInEnded("The code expired before anyone signed in.")
    raise refused("/token", response)


async def poll(
    http: httpx.AsyncClient, args: argparse.Namespace, device_code: str, interval: int
) -> dict[str, Any]:
    while True:
        response = await redeem(http, args, device_code)
        tokens = tokens_or_end(response)
        if tokens is not None:
            return tokens
        if oauth_error(response)[0] == "slow_down":
            interval += SLOW_DOWN_STEP  # for this and every later poll
        await asyncio.sleep(interval)


# --- who signed in --------------------------------------------------------------------------------


async def verified_claims(
    http: httpx.AsyncClient, id_token: str, issuer: str, client_id: str
) -> dict[str, Any]:
    """The id_token's claims once its signature (RS256, against /jwks.json), issuer, audience
    and expiry check out. The kiosk got it straight from /token over TLS, so this is belt and
    braces; but the claims are what it acts on."""
    jwks = await http.get("/jwks.json")
    jwks.raise_for_status()
    try:
        token = jwt.decode(id_token, KeySet.import_key_set(jwks.json()), algorithms=["RS256"])
        jwt.JWTClaimsRegistry(
            now=int(time.time()),
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": client_id},
            exp={"essential": True},
        ).validate(token.claims)
    except JoseError as error:
        raise KioskError(f"the id_token does not verify: {error}") from error
    claims: dict[str, Any] = token.claims
    return claims


async def userinfo(http: httpx.AsyncClient, access_token: str) -> dict[str, Any]:
    response = await http.get("/userinfo", headers={"Authorization": f"Bearer {access_token}"})
    if response.status_code != 200:
        raise refused("/userinfo", response)
    profile: dict[str, Any] = response.json()
    return profile


# --- one person, and the day --------------------------------------------------------------------


async def sign_in(http: httpx.AsyncClient, args: argparse.Namespace) -> None:
    started = await start(http, args)
    show(started)
    device_code = started["device_code"]
    waited = not args.poll and await wait_on_websocket(
        args.relay_url, device_code, int(started["expires_in"])
    )
    tokens = tokens_or_end(await redeem(http, args, device_code)) if waited else None
    if tokens is None:  # no websocket, or it was cut: poll until there is an answer
        tokens = await poll(http, args, device_code, int(started["interval"]))
    claims = await verified_claims(http, tokens["id_token"], args.relay_url, args.client_id)
    print("Signed in. The id_token's claims:")
    print(json.dumps(claims, indent=2, ensure_ascii=False))
    print("/userinfo:")
    print(json.dumps(await userinfo(http, tokens["access_token"]), indent=2, ensure_ascii=False))


async def run(args: argparse.Namespace) -> int:
    async with httpx.AsyncClient(base_url=args.relay_url, timeout=HTTP_TIMEOUT) as http:
        while True:
            try:
                await sign_in(http, args)
                outcome = 0
            except SignInEnded as ended:
                print(ended, file=sys.stderr)
                outcome = 1
            except KioskError as error:
                print(f"Error: {error}", file=sys.stderr)
                return 1
            except httpx.HTTPError as error:
                print(f"Error: cannot talk to {args.relay_url}: {error!r}", file=sys.stderr)
                return 1
            if not args.loop:
                return outcome
            print("\n" + "-" * 40 + "\nNext person\n")


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)  # each line shows at once, even in a pipe
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(run(args))
    return 130


if __name__ == "__main__":
    sys.exit(main())
