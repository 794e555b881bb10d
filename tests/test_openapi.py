"""docs/openapi.yaml against the app: the same JSON endpoints on both sides, every answer as
documented, and schemathesis fuzzing /token and /userinfo with generated bodies and headers.

The fuzzing runs in-process: schemathesis calls the ASGI app through its own transport, from
Hypothesis strategies of each operation (`APIOperation.as_strategy`, positive and negative
data), with the Authorization header drawn too: absent, made up, or the real credentials (the
client's Basic secret, an access token from a whole login) so that cases get past
authentication into the grant and token checks. The run is bounded (MAX_EXAMPLES) and
derandomized: the same cases on every run.
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as run_with
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.schemas import OpenApiSchema
from starlette.applications import Starlette
from starlette.routing import Route

from relay.app import create_app
from relay.demo import app as demo_app
from relay.oidc.keys import SigningKey
from relay.sandbox import server as sandbox_server
from relay.settings import Settings
from tests.flows import Relay

SPEC = Path(__file__).resolve().parent.parent / "docs" / "openapi.yaml"
MAX_EXAMPLES = 300  # about 4 s on one core; every operation gets both kinds of data
# Every answer: never a 500, a documented status, content type, headers and JSON shape; and
# data that breaks the schema is refused with a 4xx.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
FUZZED = [("/token", "POST"), ("/userinfo", "GET"), ("/userinfo", "POST")]
NOT_THE_RELAYS = {id(route) for route in [*sandbox_server.routes, *demo_app.routes]}
# The kiosk page's own calls (static/kiosk.js): JSON, but only for that page, same-origin and
# behind its cookie; like the other browser-facing routes, not part of the machine API.
PAGE_CALLS = {"/kiosk/{client_id}/logins", "/kiosk/{client_id}/logins/{session_id}/code"}


def load_spec(app: Starlette) -> OpenApiSchema:
    schema = schemathesis.openapi.from_path(SPEC)
    schema.app = app  # cases are sent to the app in-process
    return schema


@dataclass
class Credentials:
    """What a relying party holds after a whole login: its client's secret, an access token,
    and a code it has not redeemed yet."""

    basic: str
    access_token: str
    code: str


async def log_in(app: Starlette, settings: Settings) -> Credentials:
    relay = Relay(app, settings)
    try:
        answer = await relay.login()
        redeemed = await relay.token(code=answer["code"])
        assert redeemed.status_code == 200, redeemed.text
        unredeemed = await relay.login()
    finally:  # the relay itself stays open: schemathesis calls it next
        await relay.desktop.aclose()
        await relay.phone.aclose()
    return Credentials(
        basic="Basic " + base64.b64encode(b"rp:rp-secret").decode(),
        access_token=redeemed.json()["access_token"],
        code=unredeemed["code"],
    )


@pytest.fixture
def spec_on(
    app_factory: Callable[[Settings], Starlette],
) -> Iterator[Callable[[Settings], OpenApiSchema]]:
    """The spec bound to a fresh relay built from the given settings; every app's lifespan,
    which schemathesis starts on the first call, is ended afterwards."""

    def bind(settings: Settings) -> OpenApiSchema:
        return load_spec(app_factory(settings))

    yield bind
    shutdown_lifespans()


def call_and_validate(
    schema: OpenApiSchema, path: str, method: str, *, checks: list[Any] = CHECKS, **parts: Any
) -> Any:
    """One request through schemathesis, its answer checked against the spec; the answer."""
    case = schema[path][method].Case(**parts)
    response = case.call()
    case.validate_response(response, checks=checks)
    return response


# --- the spec and the app list the same JSON endpoints ------------------------------------------


def test_openapi_spec_is_valid_openapi_3_1() -> None:
    schema = schemathesis.openapi.from_path(SPEC)
    schema.validate()
    assert schema.raw_schema["openapi"].startswith("3.1.")


async def json_endpoints(app: Starlette) -> set[tuple[str, str]]:
    """(path, method) of every route of the relay that answers JSON, found by asking each one
    (path parameters filled with a placeholder). The sandbox provider's and the demo relying
    party's routes are not the relay's API and are left out, nor are the kiosk page's calls."""
    found = set()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://relay.test") as client:
        for route in app.routes:
            if not isinstance(route, Route) or id(route) in NOT_THE_RELAYS:
                continue
            if route.path in PAGE_CALLS:
                continue
            path = re.sub(r"\{[^}]+\}", "placeholder", route.path)
            for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                response = await client.request(method, path)
                if response.headers.get("content-type", "").startswith("application/json"):
                    found.add((route.path, method))
    return found


async def test_openapi_paths_are_exactly_the_apps_json_endpoints(
    settings: Settings, signing_key: SigningKey
) -> None:
    """Every operation of docs/openapi.yaml exists in the app, and every route of the app that
    answers JSON is in docs/openapi.yaml."""
    app = create_app(settings, keys=signing_key)
    documented = {
        (path, method.upper())
        for path, operations in load_spec(app).raw_schema["paths"].items()
        for method in operations
    }
    assert await json_endpoints(app) == documented


# --- every answer as documented -----------------------------------------------------------------


def test_openapi_metadata_keys_and_probes_answer_as_documented(
    settings: Settings, spec_on: Callable[[Settings], OpenApiSchema]
) -> None:
    schema = spec_on(settings)
    for path in ("/.well-known/openid-configuration", "/jwks.json", "/healthz", "/readyz"):
        assert call_and_validate(schema, path, "GET").status_code == 200


def test_openapi_token_and_userinfo_answers_as_documented(
    settings: Settings, app_factory: Callable[[Settings], Starlette]
) -> None:
    """The success answers (tokens, claims), and the errors a relying party meets in a normal
    life: a replayed code, a revoked token, no token, a wrong secret."""
    app = app_factory(settings)
    real = asyncio.run(log_in(app, settings))
    schema = load_spec(app)
    try:
        bearer = {"Authorization": f"Bearer {real.access_token}"}
        assert call_and_validate(schema, "/userinfo", "GET", headers=bearer).status_code == 200
        body = {"access_token": real.access_token}
        assert call_and_validate(schema, "/userinfo", "POST", body=body).status_code == 200

        form = {"grant_type": "authorization_code", "code": real.code}
        form["redirect_uri"] = "https://rp.example/callback"
        auth = {"Authorization": real.basic}
        tokens = call_and_validate(schema, "/token", "POST", headers=auth, body=form)
        assert tokens.status_code == 200
        replay = call_and_validate(schema, "/token", "POST", headers=auth, body=form)
        assert replay.status_code == 400  # and the tokens are revoked:
        new_bearer = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
        assert call_and_validate(schema, "/userinfo", "GET", headers=new_bearer).status_code == 401

        assert call_and_validate(schema, "/userinfo", "GET").status_code == 401
        wrong = {"Authorization": "Basic " + base64.b64encode(b"rp:wrong").decode()}
        assert (
            call_and_validate(schema, "/token", "POST", headers=wrong, body=form).status_code == 401
        )
    finally:
        shutdown_lifespans()


def test_openapi_store_outage_answers_as_documented(
    settings: Settings, spec_on: Callable[[Settings], OpenApiSchema]
) -> None:
    """A store that does not answer (Redis on a closed port): 503 with Retry-After, in JSON.
    (A 503 here is the documented answer, so not_a_server_error is left out.)"""
    schema = spec_on(replace(settings, store="redis://127.0.0.1:1/0"))
    documented = [check for check in CHECKS if check is not not_a_server_error]
    bearer = {"Authorization": "Bearer some-token-the-relay-cannot-look-up"}
    form = {"grant_type": "authorization_code", "code": "a-code-the-relay-cannot-look-up"}
    auth = {"Authorization": "Basic " + base64.b64encode(b"rp:rp-secret").decode()}
    for path, method, parts in [
        ("/readyz", "GET", {}),
        ("/userinfo", "GET", {"headers": bearer}),
        ("/token", "POST", {"headers": auth, "body": form}),
    ]:
        response = call_and_validate(schema, path, method, checks=documented, **parts)
        assert response.status_code == 503, (path, response.text)


def test_openapi_size_refusals_answer_as_documented(
    settings: Settings, spec_on: Callable[[Settings], OpenApiSchema]
) -> None:
    """Every operation, sent a query string over `max_query` (414) or a body over `max_body`
    (413): the documented refusal, never a 500."""
    schema = spec_on(settings)
    limits = settings.limits
    too_long = {"padding": "q" * (limits.max_query + 1)}
    too_large = "b" * (limits.max_body + 1)
    for path, operations in schema.raw_schema["paths"].items():
        for method in operations:
            case = schema[path][method.upper()].Case()
            response = case.call(params=too_long)
            case.validate_response(response, checks=CHECKS)
            assert response.status_code == 414, (method, path)
            if method == "get":
                response = case.call(data=too_large)
            else:
                field = "code" if path == "/token" else "access_token"
                case = schema[path][method.upper()].Case(body={field: too_large})
                response = case.call()
            case.validate_response(response, checks=CHECKS)
            assert response.status_code == 413, (method, path)


# --- fuzzing ------------------------------------------------------------------------------------


def header_text() -> st.SearchStrategy[str]:
    """A header value as it travels (latin-1), minus what an HTTP client refuses to send
    (control characters, whitespace at either end)."""
    return st.text(st.characters(codec="latin-1", exclude_categories=["Cc"]), max_size=64).map(
        str.strip
    )


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def authorization_headers(real: str) -> st.SearchStrategy[dict[str, str]]:
    """The real credentials, none, or made-up ones: Basic pairs, other schemes, bare text."""
    schemes = st.sampled_from(["Basic", "basic", "Bearer", "BEARER", "Token", ""])
    made_up = st.one_of(
        st.builds(basic, header_text(), header_text()),
        st.builds("{} {}".format, schemes, header_text()),
        header_text(),
    )
    return st.one_of(
        st.just({"Authorization": real}),
        st.just({}),
        made_up.map(lambda value: {"Authorization": value.strip()}),
    )


CONTENT_TYPES = [
    "application/x-www-form-urlencoded; charset=UTF-8",
    "Application/X-WWW-Form-Urlencoded",
    "application/json",
    "text/plain",
    "multipart/form-data; boundary=relay",
]


def with_headers(case: Case, headers: dict[str, str]) -> Case:
    case.headers = {**(case.headers or {}), **headers}
    return case


def cases(schema: OpenApiSchema, real: Credentials) -> st.SearchStrategy[Case]:
    """Generated requests for each fuzzed operation: bodies from the spec, positive and
    negative; Authorization real (Basic for /token, the access token for /userinfo), absent or
    made up; and, on a POST with a valid body, now and then another Content-Type."""
    strategies = []
    for path, method in FUZZED:
        operation = schema[path][method]
        real_authorization = real.basic if path == "/token" else f"Bearer {real.access_token}"
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            headers = authorization_headers(real_authorization)
            if method == "POST" and mode is GenerationMode.POSITIVE:
                content_type = st.one_of(
                    st.just({}), st.sampled_from(CONTENT_TYPES).map(lambda v: {"Content-Type": v})
                )
                headers = st.builds(lambda a, b: {**a, **b}, headers, content_type)
            strategies.append(
                st.builds(with_headers, operation.as_strategy(generation_mode=mode), headers)
            )
    return st.one_of(strategies)


def test_openapi_fuzz_token_and_userinfo(
    settings: Settings, app_factory: Callable[[Settings], Starlette]
) -> None:
    """schemathesis on /token and /userinfo: no 500 ever, and every answer a documented status
    with the documented content type, headers and JSON shape (CHECKS)."""
    app = app_factory(settings)
    real = asyncio.run(log_in(app, settings))
    schema = load_spec(app)
    answered: Counter[tuple[str, str, int]] = Counter()

    @given(case=cases(schema, real))
    @run_with(
        max_examples=MAX_EXAMPLES,
        derandomize=True,  # the same cases every run: stable in CI
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def fuzz(case: Case) -> None:
        response = case.call()
        answered[(case.method, case.path, response.status_code)] += 1
        case.validate_response(response, checks=CHECKS)

    try:
        fuzz()
    finally:
        shutdown_lifespans()
    # The run reached past authentication: the grant checks and the claims answered too.
    for outcome in [("POST", "/token", 400), ("POST", "/token", 401), ("GET", "/userinfo", 200)]:
        assert answered[outcome], (outcome, answered)
    for outcome in [("GET", "/userinfo", 401), ("POST", "/userinfo", 200)]:
        assert answered[outcome], (outcome, answered)
