"""No secret, code, token or cookie value in any log line, with every logger at DEBUG.

Whole logins run (the sandbox, WeChat and an OpenID provider through their fakes, and one through
a real uvicorn with its websocket) while every record of every logger is kept twice: as
`qr-relay serve` prints it (a JSON line, with the extra fields it copies) and as the demo prints it
(a text line). The secrets are the values that went over the wire during the test, picked up from
the requests and answers of the desktop, the phone and the relay's own upstream client (cookies,
codes, states, nonces, verifiers, client secrets, tokens, the scan ticket), never guessed. No line
may hold any of them, as it is, URL-encoded or JSON-escaped.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from relay.observability.context import REQUEST_ID
from relay.observability.logs import JSONFormatter, formatter
from relay.settings import ProviderConfig
from tests.conftest import ISSUER, RelayFactory
from tests.flows import Relay, pkce, query_of
from tests.providers.fakes.oidc import FakeOIDC
from tests.providers.fakes.wechat import FakeWeChat

WECHAT_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2f) NetType/WIFI Language/zh_CN"
)
IDP = "https://idp.example.com"
IDP_SECRET = "acme-client-secret-0123456789"
RELAY = httpx.URL(ISSUER).host

# Every logger a login passes through, and the root logger.
LOGGERS = (
    "",
    "relay",
    "httpx",
    "httpcore",
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "uvicorn.asgi",
    "websockets",
    "websockets.server",
    "websockets.client",
)

# Parameters whose value is a secret, in a query string, a form or a JSON answer.
SECRET_PARAMS = frozenset(
    {
        "code",
        "state",
        "nonce",
        "code_verifier",
        "client_secret",
        "secret",
        "access_token",
        "refresh_token",
        "id_token",
    }
)
MIN_LENGTH = 8  # shorter values are not secrets, and would match ordinary words
# A long value's last characters are searched for on their own too: libraries elide the middle
# of what they log (websockets shows a frame's start and end). Not its first ones: a scan ticket
# starts with the session id, which log lines name on purpose.
TAIL = 16


# --- the log, at DEBUG ----------------------------------------------------------------------------


class DebugLog(logging.Handler):
    """Every record of every logger, formatted as a JSON line and as a text line."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.as_json = JSONFormatter()
        self.as_text = formatter("text")
        self.records: list[tuple[str, str]] = []  # (as JSON, as text)
        self.saved: dict[str, tuple[int, bool]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if not from_test_client(record):
            self.records.append((self.as_json.format(record), self.as_text.format(record)))

    def everything(self) -> None:
        """Every logger at DEBUG, passing its records on to the root logger (where this handler
        is). A test server's configuration stops uvicorn's loggers from propagating, and its
        access log is off (as `qr-relay serve` has it); here it is on, as an application that
        embeds the relay may have it."""
        for name in LOGGERS:
            logger = logging.getLogger(name)
            self.saved.setdefault(name, (logger.level, logger.propagate))
            logger.setLevel(logging.DEBUG)
            logger.propagate = True

    def restore(self) -> None:
        for name, (level, propagate) in self.saved.items():
            logging.getLogger(name).setLevel(level)
            logging.getLogger(name).propagate = propagate

    def loggers(self) -> set[str]:
        return {json.loads(as_json)["logger"] for as_json, _ in self.records}


def from_test_client(record: logging.LogRecord) -> bool:
    """Lines that the test's own clients write, not the relay: the websocket client's handshake
    (with the cookie it sends), and what httpx and httpcore log for a browser's requests, which
    are made outside any request of the relay (no request id). The relay's upstream calls are
    made while it serves a request, and are kept."""
    if record.name.startswith("websockets.client"):
        return True
    return record.name.startswith(("httpx", "httpcore")) and REQUEST_ID.get() is None


@pytest.fixture
def debug_log() -> Iterator[DebugLog]:
    handler = DebugLog()
    handler.everything()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        handler.restore()


# --- the secrets, as they went over the wire ------------------------------------------------------


class Witness:
    """The secret values of a test's traffic, by kind ("code in redirect to relay.test"). It
    hooks the desktop's and the phone's browsers and the relay's upstream client, and is told of
    what it cannot hook (the relying party's /token, values the test makes up)."""

    def __init__(self) -> None:
        self.seen: dict[str, set[str]] = defaultdict(set)

    def watch(self, client: httpx.AsyncClient) -> None:
        client.event_hooks["request"].append(self.request)
        client.event_hooks["response"].append(self.response)

    def add(self, kind: str, value: object) -> None:
        if isinstance(value, str) and len(value) >= MIN_LENGTH:
            self.seen[kind].add(value)

    def params(self, pairs: list[tuple[str, str]], where: str) -> None:
        for name, value in pairs:
            if name in SECRET_PARAMS:
                self.add(f"{name} {where}", value)

    def answer(self, body: Any, where: str) -> None:
        """Secrets in a JSON answer, however deep ({"data": {...}})."""
        if isinstance(body, dict):
            for name, value in body.items():
                if name in SECRET_PARAMS:
                    self.add(f"{name} {where}", value)
                self.answer(value, where)

    async def request(self, request: httpx.Request) -> None:
        to = f"in request to {request.url.host}"
        self.params(parse_qsl(request.url.query.decode(), keep_blank_values=True), to)
        if request.url.path.startswith("/s/"):
            self.add("scan ticket", request.url.path.removeprefix("/s/"))
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            self.params(parse_qsl(request.content.decode(), keep_blank_values=True), to)
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            self.add(f"basic credentials {to}", credentials)
            secret = base64.b64decode(credentials).decode().partition(":")[2]
            self.add(f"client_secret {to}", secret)
        elif scheme.lower() == "bearer":
            self.add(f"bearer token {to}", credentials)
        for pair in request.headers.get("cookie", "").split(";"):
            name, _, value = pair.strip().partition("=")
            self.add(f"cookie {cookie_kind(name)}", value)

    async def response(self, response: httpx.Response) -> None:
        for header in response.headers.get_list("set-cookie"):
            name, _, value = header.partition(";")[0].partition("=")
            self.add(f"cookie {cookie_kind(name)}", value)
        location = response.headers.get("location")
        if location:
            target = urlsplit(location).hostname or RELAY
            pairs = parse_qsl(urlsplit(location).query, keep_blank_values=True)
            self.params(pairs, f"in redirect to {target}")
        # WeChat serves JSON as text/plain: every answer is tried.
        if response.request.url.path.startswith(("/s/", "/sessions/", "/phone/")):
            return  # pages
        await response.aread()
        try:
            body = json.loads(response.content)
        except ValueError:
            return
        self.answer(body, f"from {response.request.url.host}{response.request.url.path}")


def cookie_kind(name: str) -> str:
    """The relay's cookie by role (bind, phone, cb), whatever the hash and prefix in its name."""
    return re.sub(r"^(?:__Host-)?(relay_[a-z]+)(?:_[0-9a-f]{16})?$", r"\1", name)


def spelled(value: str) -> set[str]:
    """The ways a value can appear in a line: as it is, URL-encoded, JSON-escaped; for a long
    value, its tail alone."""
    forms = {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}
    return forms | {value[-TAIL:]} if len(value) >= 2 * TAIL else forms


def assert_no_secret(log: DebugLog, witness: Witness, *required: str) -> None:
    """Each kind in `required` was seen (the test would otherwise prove nothing), and no line
    holds any value seen."""
    for kind in required:
        assert witness.seen.get(kind), f"no {kind!r} was seen; seen: {sorted(witness.seen)}"
    assert log.records, "nothing was logged"
    kinds: dict[str, list[str]] = defaultdict(list)
    for kind, values in sorted(witness.seen.items()):
        for value in values:
            kinds[value].append(kind)
    leaks = [
        f"{value!r} ({', '.join(kinds[value])}) in: {as_text}"
        for value in kinds
        for as_json, as_text in log.records
        if any(form in as_json or form in as_text for form in spelled(value))
    ]
    assert not leaks, "\n".join(leaks)


def witnessed(relay: Relay) -> Witness:
    witness = Witness()
    for client in (relay.desktop, relay.phone, relay.core.http):
        witness.watch(client)
    witness.add("client_secret of the relying party", relay.settings.clients["rp"].secret)
    for provider in relay.settings.providers.values():
        witness.add("client_secret of the provider", provider.client_secret)
    return witness


async def signed_in(relay: Relay, witness: Witness, *, at_sandbox: bool = True) -> tuple[str, str]:
    """A whole login with PKCE: the relying party redeems the code and reads /userinfo. The
    relay's code and the relying party's verifier."""
    verifier, challenge = pkce()
    witness.add("code_verifier of the relying party", verifier)
    started = await relay.start(code_challenge=challenge, code_challenge_method="S256")
    scanned = await relay.scan(started.scan_url)
    assert scanned.status_code == 303, scanned.text
    if at_sandbox:
        done = await relay.approve(started.session_id)
    else:
        done = await relay.through_provider(started.session_id)
    assert "Return to your computer" in done.text, done.text
    back = await relay.resume(started.session_id)
    assert back.status_code == 302, back.text
    code = query_of(back.headers["location"])["code"]
    tokens = await redeem(relay, witness, code=code, code_verifier=verifier)
    assert tokens.status_code == 200, tokens.text
    bearer = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
    assert (await relay.desktop.get("/userinfo", headers=bearer)).status_code == 200
    return code, verifier


async def redeem(relay: Relay, witness: Witness, **form: str) -> httpx.Response:
    """The relying party at /token, its request and answer told to the witness."""
    witness.params(list(form.items()), "in request to the relay's /token")
    answer = await relay.token(**form)
    witness.answer(answer.json(), "from the relay's /token")
    return answer


async def at_provider(relay: Relay) -> tuple[str, str]:
    """Start, scan and continue; the session id and where the provider sends the phone back
    (the relay's callback, not followed yet)."""
    started = await relay.start()
    scanned = await relay.scan(started.scan_url)
    assert scanned.status_code == 303, scanned.text
    going = await relay.continue_to_provider(started.session_id)
    target = httpx.URL(going.headers["location"]).copy_with(fragment=None)
    answer = await relay.phone.get(str(target))
    assert answer.status_code == 302, answer.text
    return started.session_id, answer.headers["location"]


def issued(relay_host: str = RELAY) -> tuple[str, ...]:
    """What every login below sends and receives, seen on the wire."""
    return (
        "client_secret of the relying party",
        "client_secret of the provider",
        "code_verifier of the relying party",
        f"state in request to {relay_host}",  # the relying party's
        f"nonce in request to {relay_host}",
        "code in redirect to rp.example",  # the relay's code
        "code in request to the relay's /token",
        "access_token from the relay's /token",
        "id_token from the relay's /token",
        f"bearer token in request to {relay_host}",
        "scan ticket",
        "cookie relay_bind",
        "cookie relay_phone",
        "cookie relay_cb",
    )


# --- the sandbox ----------------------------------------------------------------------------------


async def test_secrets_in_logs_none_in_a_sandbox_login_and_at_token_errors(
    relay: Relay, debug_log: DebugLog
) -> None:
    witness = witnessed(relay)
    code, verifier = await signed_in(relay, witness)
    # The errors at /token: a replayed code, a wrong client secret, a wrong verifier; a wrong
    # access token at /userinfo.
    replayed = await redeem(relay, witness, code=code, code_verifier=verifier)
    assert replayed.json()["error"] == "invalid_grant"
    wrong_secret = "rp-secret-but-wrong-0123"
    witness.add("a wrong client_secret", wrong_secret)
    refused = await redeem(relay, witness, client_id="rp", client_secret=wrong_secret, code=code)
    assert refused.json()["error"] == "invalid_client"
    second = (await relay.login(code_challenge=pkce()[1], code_challenge_method="S256"))["code"]
    wrong_verifier = pkce()[0]
    witness.add("a wrong code_verifier", wrong_verifier)
    mismatched = await redeem(relay, witness, code=second, code_verifier=wrong_verifier)
    assert mismatched.json()["error"] == "invalid_grant"
    forged = {"Authorization": "Bearer forged-access-token-0123456789abcdef"}
    assert (await relay.desktop.get("/userinfo", headers=forged)).status_code == 401

    assert_no_secret(
        debug_log,
        witness,
        *issued(),
        "a wrong client_secret",
        "a wrong code_verifier",
        "state in redirect to relay.test",  # the relay's state at the sandbox
        "code in redirect to relay.test",  # the sandbox's code
        "code_verifier in request to relay.test",  # the relay's verifier at the sandbox
        "basic credentials in request to relay.test",  # the relay's at the sandbox's /token
        "access_token from relay.test/sandbox/token",
    )


# --- WeChat ---------------------------------------------------------------------------------------


async def wechat_relay(relay_with: RelayFactory) -> tuple[Relay, FakeWeChat]:
    fake = FakeWeChat()
    fake.add_user("Ada")
    config = ProviderConfig(
        name="wechat",
        kind="wechat",
        display_name="WeChat",
        client_id=fake.appid,
        client_secret=fake.secret,
    )
    relay = await relay_with(providers={"wechat": config}, fakes=fake.hosts())
    relay.phone.headers["User-Agent"] = WECHAT_UA
    return relay, fake


async def test_secrets_in_logs_none_in_a_wechat_login(
    relay_with: RelayFactory, debug_log: DebugLog
) -> None:
    relay, _ = await wechat_relay(relay_with)
    witness = witnessed(relay)
    await signed_in(relay, witness, at_sandbox=False)

    assert_no_secret(
        debug_log,
        witness,
        *issued(),
        "state in redirect to relay.test",  # the relay's state at WeChat
        "code in redirect to relay.test",  # WeChat's code
        "secret in request to api.weixin.qq.com",  # the app secret, in the token URL
        "code in request to api.weixin.qq.com",
        "access_token from api.weixin.qq.com/sns/oauth2/access_token",
        "refresh_token from api.weixin.qq.com/sns/oauth2/access_token",
        "access_token in request to api.weixin.qq.com",  # in the userinfo URL
    )


async def test_secrets_in_logs_none_when_wechat_quotes_the_code_back(
    relay_with: RelayFactory, debug_log: DebugLog
) -> None:
    relay, fake = await wechat_relay(relay_with)
    witness = witnessed(relay)
    session_id, callback = await at_provider(relay)
    back = query_of(callback)
    fake.fail_next(
        "token",
        40029,
        f"invalid code {back['code']} for state {back['state']} and appsecret {fake.secret}",
    )
    page = await relay.phone.get(callback)
    assert "could not sign you in" in page.text
    assert (await relay.core.sessions.get(session_id)).reason == "invalid_code"  # 40029

    assert_no_secret(
        debug_log,
        witness,
        "client_secret of the provider",
        "code in redirect to relay.test",
        "state in redirect to relay.test",
        "cookie relay_cb",
    )


# --- an OpenID provider ---------------------------------------------------------------------------


def fake_oidc() -> FakeOIDC:
    fake = FakeOIDC(IDP, auth_methods=["client_secret_basic"])
    fake.pkce_methods = ["S256"]
    fake.register_client("relay-client", IDP_SECRET, [f"{ISSUER}/callback/acme"])
    fake.add_user("248289761001", name="Jane Doe", preferred_username="j.doe")
    return fake


async def oidc_relay(relay_with: RelayFactory, fake: ASGIApp) -> tuple[Relay, Witness]:
    config = ProviderConfig(
        name="acme",
        kind="oidc",
        display_name="Acme ID",
        client_id="relay-client",
        client_secret=IDP_SECRET,
        options={"issuer": IDP},
    )
    relay = await relay_with(providers={"acme": config}, fakes={httpx.URL(IDP).host: fake})
    return relay, witnessed(relay)


class QuotingBack:
    """An OpenID provider whose `endpoint` answers with an error that quotes every value the
    request carried (the code, the verifier, the Authorization header), as a careless provider's
    error_description might."""

    def __init__(self, fake: ASGIApp, endpoint: str) -> None:
        self.fake = fake
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.endpoint:
            await self.fake(scope, receive, send)
            return
        request = Request(scope, receive)
        values = [value for _, value in parse_qsl((await request.body()).decode())]
        values.append(request.headers.get("authorization", ""))
        answer = JSONResponse(
            {"error": "invalid_grant", "error_description": f"refused: {' '.join(values)}"},
            status_code=400 if self.endpoint == "/token" else 401,
        )
        await answer(scope, receive, send)


async def test_secrets_in_logs_none_in_an_oidc_login(
    relay_with: RelayFactory, debug_log: DebugLog
) -> None:
    relay, witness = await oidc_relay(relay_with, fake_oidc())
    await signed_in(relay, witness, at_sandbox=False)

    assert_no_secret(
        debug_log,
        witness,
        *issued(),
        "state in request to idp.example.com",  # the relay's state and nonce at the provider
        "nonce in request to idp.example.com",
        "code in redirect to relay.test",  # the provider's code
        "code_verifier in request to idp.example.com",
        "basic credentials in request to idp.example.com",
        "access_token from idp.example.com/token",
        "id_token from idp.example.com/token",
        "bearer token in request to idp.example.com",
    )


@pytest.mark.parametrize("endpoint", ["/token", "/userinfo"])
async def test_secrets_in_logs_none_when_an_oidc_provider_quotes_them_back(
    relay_with: RelayFactory, debug_log: DebugLog, endpoint: str
) -> None:
    relay, witness = await oidc_relay(relay_with, QuotingBack(fake_oidc(), endpoint))
    session_id, callback = await at_provider(relay)
    page = await relay.phone.get(callback)
    assert "could not sign you in" in page.text
    assert (await relay.core.sessions.get(session_id)).status == "failed"

    assert_no_secret(
        debug_log,
        witness,
        "client_secret of the provider",
        "code in redirect to relay.test",
        "code_verifier in request to idp.example.com",
        "basic credentials in request to idp.example.com",
    )


async def test_secrets_in_logs_none_when_a_provider_error_quotes_the_state(
    relay_with: RelayFactory, debug_log: DebugLog
) -> None:
    """The provider sends the phone back with an error whose description quotes the request
    (the relay's state and nonce) instead of a code."""
    relay, witness = await oidc_relay(relay_with, fake_oidc())
    started = await relay.start()
    await relay.scan(started.scan_url)
    going = await relay.continue_to_provider(started.session_id)
    asked = query_of(going.headers["location"])
    described = f"request with state {asked['state']} and nonce {asked['nonce']} rejected"
    answer = {"state": asked["state"], "error": "server_error", "error_description": described}
    page = await relay.phone.get(f"/callback/acme?{httpx.QueryParams(answer)}")
    assert "could not sign you in" in page.text
    assert (await relay.core.sessions.get(started.session_id)).reason == "server_error"

    assert_no_secret(
        debug_log,
        witness,
        "state in redirect to idp.example.com",
        "nonce in redirect to idp.example.com",
        "cookie relay_cb",
    )


# --- a real server --------------------------------------------------------------------------------


async def test_secrets_in_logs_none_through_a_real_server_and_its_websocket(
    served: Relay, debug_log: DebugLog
) -> None:
    """uvicorn and its websocket implementation log too: the handshake's headers (the cookie),
    the frames."""
    debug_log.everything()  # again: configuring uvicorn set its loggers' levels
    witness = witnessed(served)
    verifier, challenge = pkce()
    witness.add("code_verifier of the relying party", verifier)
    started = await served.start(code_challenge=challenge, code_challenge_method="S256")
    cookies = "; ".join(f"{c.name}={c.value}" for c in served.desktop.cookies.jar)
    socket = await served.live(started.session_id, cookies)
    try:
        assert json.loads(await socket.recv())["status"] == "pending"
        await served.scan(started.scan_url)
        assert json.loads(await socket.recv())["status"] == "scanned"
        done = await served.approve(started.session_id)
        assert "Return to your computer" in done.text, done.text
        assert json.loads(await socket.recv())["status"] == "confirmed"
    finally:
        await socket.close()
    back = await served.resume(started.session_id)
    code = query_of(back.headers["location"])["code"]
    tokens = await redeem(served, witness, code=code, code_verifier=verifier)
    bearer = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
    assert (await served.desktop.get("/userinfo", headers=bearer)).status_code == 200

    assert {"relay.access", "uvicorn.access", "uvicorn.error", "httpcore.http11"} <= (
        debug_log.loggers()
    )
    assert_no_secret(
        debug_log,
        witness,
        *issued("127.0.0.1"),
        "code in redirect to 127.0.0.1",  # the sandbox's
        "code_verifier in request to 127.0.0.1",
        "access_token from 127.0.0.1/sandbox/token",
    )
