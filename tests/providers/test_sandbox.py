"""The sandbox adapter speaks standard OAuth 2.0 and turns every upstream failure into a
ProviderError with a reason code. Here its upstream is a fake handed in as an httpx transport."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from urllib.parse import parse_qs

import httpx
import pytest

from relay.errors import ProviderError
from relay.providers import Trip
from relay.providers.sandbox import SandboxProvider
from relay.settings import ProviderConfig

CONFIG = ProviderConfig(
    name="sandbox",
    kind="sandbox",
    display_name="Sandbox",
    client_id="relay",
    client_secret="sandbox-secret",
    token_url="https://idp.test/token",
    userinfo_url="https://idp.test/userinfo",
)


TRIP = Trip(
    state="s1",
    redirect_uri="https://relay.test/callback/sandbox",
    code_verifier="v" * 43,
    nonce="n1",
)


def adapter(handler: Callable[[httpx.Request], httpx.Response]) -> SandboxProvider:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return SandboxProvider(CONFIG, http, "https://relay.test")


async def test_sandbox_adapter_exchanges_with_basic_auth_and_pkce() -> None:
    seen: dict[str, object] = {}

    def upstream(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            seen["auth"] = request.headers["authorization"]
            seen["form"] = parse_qs(request.content.decode())
            return httpx.Response(200, json={"access_token": "at-1", "token_type": "Bearer"})
        assert request.headers["authorization"] == "Bearer at-1"
        return httpx.Response(200, json={"sub": "u1", "name": "Test User"})

    provider = adapter(upstream)
    grant = await provider.exchange_code("c1", TRIP)
    identity = await provider.fetch_identity(grant, TRIP)
    assert identity.sub == "sandbox:u1" and identity.name == "Test User"
    assert str(seen["auth"]).startswith("Basic ")
    assert seen["form"] == {
        "grant_type": ["authorization_code"],
        "code": ["c1"],
        "redirect_uri": ["https://relay.test/callback/sandbox"],
        "code_verifier": ["v" * 43],
    }


async def test_sandbox_adapter_authorization_url_is_standard() -> None:
    url = await adapter(lambda r: httpx.Response(500)).authorization_url(TRIP)
    assert url.startswith("https://relay.test/sandbox/authorize?")
    query = {k: v[0] for k, v in parse_qs(url.split("?", 1)[1]).items()}
    assert query == {
        "response_type": "code",
        "client_id": "relay",
        "redirect_uri": "https://relay.test/callback/sandbox",
        "scope": "profile",
        "state": "s1",
        "code_challenge": TRIP.code_challenge,
        "code_challenge_method": "S256",
    }


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (httpx.Response(400, json={"error": "invalid_grant"}), "invalid_code"),
        (httpx.Response(401, json={"error": "invalid_client"}), "invalid_client"),
        (httpx.Response(200, json={"token_type": "Bearer"}), "invalid_response"),
        (httpx.Response(502, text="<html>Bad gateway</html>"), "invalid_response"),
        (httpx.Response(200, content=json.dumps([1, 2]).encode()), "invalid_response"),
    ],
)
async def test_sandbox_adapter_token_errors_become_provider_errors(
    answer: httpx.Response, code: str
) -> None:
    provider = adapter(lambda request: answer)
    with pytest.raises(ProviderError) as caught:
        await provider.exchange_code("c", TRIP)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (httpx.ConnectError("refused"), "provider_unreachable"),
        (httpx.ReadTimeout("slow"), "provider_timeout"),
    ],
)
async def test_sandbox_adapter_network_failures(failure: Exception, code: str) -> None:
    def upstream(request: httpx.Request) -> httpx.Response:
        raise failure

    with pytest.raises(ProviderError) as caught:
        await adapter(upstream).exchange_code("c", TRIP)
    assert caught.value.code == code


async def test_sandbox_adapter_userinfo_without_sub_is_an_error() -> None:
    provider = adapter(lambda request: httpx.Response(200, json={"name": "No Sub"}))
    with pytest.raises(ProviderError) as caught:
        await provider.fetch_identity({"access_token": "at"}, TRIP)
    assert caught.value.code == "invalid_response"


async def test_sandbox_adapter_authorize_url_with_a_query_keeps_it() -> None:
    config = replace(CONFIG, authorize_url="https://idp.test/authorize?tenant=main")
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(500)))
    url = await SandboxProvider(config, http, "https://relay.test").authorization_url(TRIP)
    assert url.startswith("https://idp.test/authorize?tenant=main&response_type=code&")
    assert url.count("?") == 1


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (httpx.Response(400, json={"error": {"nested": "object"}}), "invalid_response"),
        (httpx.Response(400, json={"error": "Invalid Grant!"}), "invalid_code"),
        (httpx.Response(400, json={"error": "Slow Down!"}), "slow_down"),
    ],
)
async def test_sandbox_adapter_error_words_become_reason_codes(
    answer: httpx.Response, code: str
) -> None:
    with pytest.raises(ProviderError) as caught:
        await adapter(lambda request: answer).exchange_code("c", TRIP)
    assert caught.value.code == code


async def test_sandbox_adapter_error_description_keeps_no_secret() -> None:
    said = {"error": "invalid_client", "error_description": "wrong sandbox-secret for relay"}
    with pytest.raises(ProviderError) as caught:
        await adapter(lambda request: httpx.Response(401, json=said)).exchange_code("c", TRIP)
    assert caught.value.message == "wrong [redacted] for relay"


async def test_sandbox_adapter_profile_fields_of_other_types_are_dropped() -> None:
    answer = {"sub": "u1", "name": ["not", "a", "name"], "picture": 5}
    provider = adapter(lambda request: httpx.Response(200, json=answer))
    identity = await provider.fetch_identity({"access_token": "at"}, TRIP)
    assert (identity.subject, identity.name, identity.picture) == ("u1", None, None)
