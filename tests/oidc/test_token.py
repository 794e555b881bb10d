"""The token endpoint: client authentication, the code's binding, PKCE, replay revocation, exact
error codes (RFC 6749 §5.2), Cache-Control: no-store, and the id_token's claims."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.applications import Starlette

from relay.settings import Settings
from tests.flows import Relay, pkce, query_of

RP_REDIRECT = "https://rp.example/callback"


def assert_error(response: httpx.Response, error: str, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["error"] == error, body
    assert "access_token" not in body
    return body


async def post_token(
    relay: Relay,
    *,
    data: dict[str, str] | None = None,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
    auth: httpx.Auth | None = None,
) -> httpx.Response:
    """POST /token exactly as given: no defaults, no client authentication unless asked."""
    async with relay.browser() as rp:
        return await rp.post("/token", data=data, content=content, headers=headers, auth=auth)


def form(code: str, **extra: str) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": RP_REDIRECT,
        **extra,
    }


async def userinfo(relay: Relay, access_token: str) -> httpx.Response:
    async with relay.browser() as rp:
        return await rp.get("/userinfo", headers={"Authorization": f"Bearer {access_token}"})


async def verified_claims(relay: Relay, id_token: str) -> dict[str, Any]:
    """The id_token's claims, its signature checked against the published JWKS."""
    async with relay.browser() as rp:
        keys = KeySet.import_key_set((await rp.get("/jwks.json")).json())
    token = jwt.decode(id_token, keys, algorithms=["RS256"])
    assert token.header["alg"] == "RS256"
    assert token.header["kid"] == keys.keys[0].kid
    claims: dict[str, Any] = token.claims
    return claims


def left_half_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


# --- the happy path ---------------------------------------------------------------------------


async def test_token_client_secret_basic_issues_tokens(relay: Relay) -> None:
    answer = await relay.login()
    response = await post_token(
        relay, data=form(answer["code"]), auth=httpx.BasicAuth("rp", "rp-secret")
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope", "id_token"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == relay.settings.access_token_ttl
    assert body["scope"] == "openid profile"
    assert len(body["access_token"]) >= 22
    assert (await userinfo(relay, body["access_token"])).status_code == 200


async def test_token_client_secret_post_issues_tokens(relay: Relay) -> None:
    answer = await relay.login()
    response = await post_token(
        relay, data=form(answer["code"], client_id="rp", client_secret="rp-secret")
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["id_token"] and body["access_token"]


async def test_token_basic_with_matching_client_id_in_body_is_accepted(relay: Relay) -> None:
    answer = await relay.login()
    response = await post_token(
        relay,
        data=form(answer["code"], client_id="rp"),
        auth=httpx.BasicAuth("rp", "rp-secret"),
    )
    assert response.status_code == 200, response.text


async def test_token_basic_with_other_client_id_in_body_is_invalid_client(relay: Relay) -> None:
    answer = await relay.login()
    response = await post_token(
        relay,
        data=form(answer["code"], client_id="multi"),
        auth=httpx.BasicAuth("rp", "rp-secret"),
    )
    assert_error(response, "invalid_client", 401)
    assert response.headers["www-authenticate"].startswith("Basic")


async def test_token_basic_credentials_are_form_urlencoded(relay: Relay) -> None:
    """RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding."""
    answer = await relay.login()
    raw = base64.b64encode(b"rp:rp%2Dsecret").decode()
    response = await post_token(
        relay, data=form(answer["code"]), headers={"Authorization": f"Basic {raw}"}
    )
    assert response.status_code == 200, response.text


# --- client authentication --------------------------------------------------------------------


async def test_token_without_client_authentication_is_invalid_client(relay: Relay) -> None:
    answer = await relay.login()
    response = await post_token(relay, data=form(answer["code"], client_id="rp"))
    body = assert_error(response, "invalid_client", 401)
    assert response.headers["www-authenticate"].startswith("Basic")  # RFC 9110 §15.5.2
    assert body["error_description"]


async def test_token_wrong_secret_via_basic_is_invalid_client_with_challenge(
    relay: Relay,
) -> None:
    answer = await relay.login()
    response = await post_token(
        relay, data=form(answer["code"]), auth=httpx.BasicAuth("rp", "wrong")
    )
    assert_error(response, "invalid_client", 401)
    assert response.headers["www-authenticate"].startswith("Basic")


async def test_token_wrong_secret_via_post_is_invalid_client(relay: Relay) -> None:
    answer = await relay.login()
    response = await post_token(
        relay, data=form(answer["code"], client_id="rp", client_secret="wrong")
    )
    assert_error(response, "invalid_client", 401)


async def test_token_another_clients_secret_is_invalid_client(relay: Relay) -> None:
    answer = await relay.login()
    response = await post_token(
        relay, data=form(answer["code"]), auth=httpx.BasicAuth("rp", "multi-secret")
    )
    assert_error(response, "invalid_client", 401)


@pytest.mark.parametrize("via", ["basic", "post"])
async def test_token_unknown_client_is_invalid_client(relay: Relay, via: str) -> None:
    answer = await relay.login()
    if via == "basic":
        response = await post_token(
            relay, data=form(answer["code"]), auth=httpx.BasicAuth("nobody", "rp-secret")
        )
        assert response.headers["www-authenticate"].startswith("Basic")
    else:
        response = await post_token(
            relay, data=form(answer["code"], client_id="nobody", client_secret="rp-secret")
        )
    assert_error(response, "invalid_client", 401)


async def test_token_basic_and_secret_in_body_is_invalid_request(relay: Relay) -> None:
    answer = await relay.login()
    response = await post_token(
        relay,
        data=form(answer["code"], client_id="rp", client_secret="rp-secret"),
        auth=httpx.BasicAuth("rp", "rp-secret"),
    )
    assert_error(response, "invalid_request", 400)


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Basic !!!not-base64!!!", id="not-base64"),
        pytest.param("Basic " + base64.b64encode(b"no-colon").decode(), id="no-colon"),
        pytest.param("Basic " + base64.b64encode(b"rp:\xff\xfe").decode(), id="not-utf8"),
        pytest.param("Basic ", id="empty"),
        pytest.param("Basic", id="bare-scheme"),
        pytest.param("basic " + base64.b64encode(b"rp:wrong").decode(), id="lowercase-wrong"),
    ],
)
async def test_token_malformed_basic_header_is_invalid_client(relay: Relay, header: str) -> None:
    answer = await relay.login()
    response = await post_token(relay, data=form(answer["code"]), headers={"Authorization": header})
    assert_error(response, "invalid_client", 401)
    assert response.headers["www-authenticate"].startswith("Basic")


# --- the request itself -----------------------------------------------------------------------


async def test_token_missing_grant_type_is_invalid_request(relay: Relay) -> None:
    answer = await relay.login()
    response = await relay.token(code=answer["code"], grant_type="")
    assert_error(response, "invalid_request")


@pytest.mark.parametrize("grant_type", ["password", "client_credentials", "refresh_token"])
async def test_token_other_grant_type_is_unsupported_grant_type(
    relay: Relay, grant_type: str
) -> None:
    answer = await relay.login()
    response = await relay.token(code=answer["code"], grant_type=grant_type)
    assert_error(response, "unsupported_grant_type")


async def test_token_error_description_keeps_to_the_characters_rfc_6749_allows(
    relay: Relay,
) -> None:
    """RFC 6749 §5.2: error_description is printable ASCII without '"' or '\\', even where it
    echoes what the client sent (schemathesis found the quoted grant_type)."""
    response = await relay.token(code="some-code", grant_type='pass"word\\é')
    body = assert_error(response, "unsupported_grant_type")
    assert body["error_description"] == "grant_type pass'word?? is not supported"


async def test_token_missing_code_is_invalid_request(relay: Relay) -> None:
    response = await relay.token()
    assert_error(response, "invalid_request")


async def test_token_unknown_code_is_invalid_grant(relay: Relay) -> None:
    response = await relay.token(code="not-a-code-the-relay-issued")
    assert_error(response, "invalid_grant")


async def test_token_oversized_code_is_invalid_request(relay: Relay) -> None:
    response = await relay.token(code="c" * 300)
    assert_error(response, "invalid_request")


async def test_token_json_body_is_invalid_request(relay: Relay) -> None:
    answer = await relay.login()
    async with relay.browser() as rp:
        response = await rp.post(
            "/token", json=form(answer["code"]), auth=httpx.BasicAuth("rp", "rp-secret")
        )
    assert_error(response, "invalid_request")


async def test_token_repeated_code_is_invalid_request(relay: Relay) -> None:
    answer = await relay.login()
    body = (
        f"grant_type=authorization_code&code={answer['code']}&code={answer['code']}"
        f"&redirect_uri={RP_REDIRECT}"
    )
    response = await post_token(
        relay,
        content=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=httpx.BasicAuth("rp", "rp-secret"),
    )
    assert_error(response, "invalid_request")


async def test_token_repeated_client_secret_is_invalid_request(relay: Relay) -> None:
    answer = await relay.login()
    body = (
        f"grant_type=authorization_code&code={answer['code']}&redirect_uri={RP_REDIRECT}"
        "&client_id=rp&client_secret=rp-secret&client_secret=rp-secret"
    )
    response = await post_token(
        relay,
        content=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_error(response, "invalid_request")


async def test_token_body_over_16_kib_is_invalid_request(relay: Relay) -> None:
    answer = await relay.login()
    response = await relay.token(code=answer["code"], padding="x" * (16 * 1024 + 1))
    assert_error(response, "invalid_request")


async def test_token_invalid_utf8_body_is_invalid_request(relay: Relay) -> None:
    response = await post_token(
        relay,
        content=b"grant_type=authorization_code&code=%FF%FE",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=httpx.BasicAuth("rp", "rp-secret"),
    )
    assert_error(response, "invalid_request")


async def test_token_get_is_not_allowed(relay: Relay) -> None:
    async with relay.browser() as rp:
        response = await rp.get("/token")
    assert response.status_code == 405


# --- the code's binding -----------------------------------------------------------------------


async def test_token_code_of_another_client_is_invalid_grant(relay: Relay) -> None:
    answer = await relay.login()
    response = await post_token(
        relay,
        data=form(answer["code"], redirect_uri="https://multi.example/a"),
        auth=httpx.BasicAuth("multi", "multi-secret"),
    )
    assert_error(response, "invalid_grant")


async def test_token_redirect_uri_mismatch_is_invalid_grant(relay: Relay) -> None:
    answer = await relay.login()
    response = await relay.token(code=answer["code"], redirect_uri=RP_REDIRECT + "/")
    assert_error(response, "invalid_grant")


async def test_token_redirect_uri_omitted_after_sent_at_authorize_is_invalid_grant(
    relay: Relay,
) -> None:
    answer = await relay.login()
    response = await relay.token(code=answer["code"], redirect_uri="")
    assert_error(response, "invalid_grant")


async def test_token_redirect_uri_may_be_omitted_when_authorize_omitted_it(
    relay: Relay,
) -> None:
    answer = await relay.login(redirect_uri=None)
    response = await relay.token(code=answer["code"], redirect_uri="")
    assert response.status_code == 200, response.text


async def test_token_redirect_uri_sent_after_authorize_omitted_it_must_match(
    relay: Relay,
) -> None:
    answer = await relay.login(redirect_uri=None)
    response = await relay.token(code=answer["code"], redirect_uri="https://rp.example/other")
    assert_error(response, "invalid_grant")


# --- PKCE -------------------------------------------------------------------------------------


async def test_token_pkce_right_verifier_is_accepted(relay: Relay) -> None:
    verifier, challenge = pkce()
    answer = await relay.login(code_challenge=challenge, code_challenge_method="S256")
    response = await relay.token(code=answer["code"], code_verifier=verifier)
    assert response.status_code == 200, response.text
    assert response.json()["id_token"]


async def test_token_pkce_wrong_verifier_is_invalid_grant(relay: Relay) -> None:
    _, challenge = pkce()
    other_verifier, _ = pkce()
    answer = await relay.login(code_challenge=challenge, code_challenge_method="S256")
    response = await relay.token(code=answer["code"], code_verifier=other_verifier)
    assert_error(response, "invalid_grant")


async def test_token_pkce_missing_verifier_is_invalid_grant(relay: Relay) -> None:
    _, challenge = pkce()
    answer = await relay.login(code_challenge=challenge, code_challenge_method="S256")
    response = await relay.token(code=answer["code"])
    assert_error(response, "invalid_grant")


async def test_token_verifier_without_challenge_is_invalid_grant(relay: Relay) -> None:
    """RFC 9700 §4.8.2: a code_verifier for a code issued without a code_challenge."""
    verifier, _ = pkce()
    answer = await relay.login()
    response = await relay.token(code=answer["code"], code_verifier=verifier)
    assert_error(response, "invalid_grant")


async def test_token_pkce_too_short_verifier_is_invalid_grant(relay: Relay) -> None:
    verifier = "a" * 42  # RFC 7636 §4.1: 43 to 128 characters
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    answer = await relay.login(code_challenge=challenge, code_challenge_method="S256")
    response = await relay.token(code=answer["code"], code_verifier=verifier)
    assert_error(response, "invalid_grant")


async def test_token_pkce_verifier_with_forbidden_characters_is_invalid_grant(
    relay: Relay,
) -> None:
    verifier = "+" * 43
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    answer = await relay.login(code_challenge=challenge, code_challenge_method="S256")
    response = await relay.token(code=answer["code"], code_verifier=verifier)
    assert_error(response, "invalid_grant")


async def test_token_pkce_failure_burns_the_code(relay: Relay) -> None:
    verifier, challenge = pkce()
    answer = await relay.login(code_challenge=challenge, code_challenge_method="S256")
    wrong = await relay.token(code=answer["code"], code_verifier=pkce()[0])
    assert_error(wrong, "invalid_grant")
    right = await relay.token(code=answer["code"], code_verifier=verifier)
    assert_error(right, "invalid_grant")


# --- single use, short lived ------------------------------------------------------------------


async def test_token_code_replay_is_invalid_grant_and_revokes_the_tokens(relay: Relay) -> None:
    answer = await relay.login()
    first = await relay.token(code=answer["code"])
    assert first.status_code == 200, first.text
    access_token = first.json()["access_token"]
    assert (await userinfo(relay, access_token)).status_code == 200

    replay = await relay.token(code=answer["code"])
    assert_error(replay, "invalid_grant")

    revoked = await userinfo(relay, access_token)
    assert revoked.status_code == 401
    assert 'error="invalid_token"' in revoked.headers["www-authenticate"]


async def test_token_code_replay_does_not_touch_other_logins(relay: Relay) -> None:
    first = await relay.login()
    second = await relay.login()
    tokens_one = (await relay.token(code=first["code"])).json()
    tokens_two = (await relay.token(code=second["code"])).json()
    assert_error(await relay.token(code=first["code"]), "invalid_grant")
    assert (await userinfo(relay, tokens_one["access_token"])).status_code == 401
    assert (await userinfo(relay, tokens_two["access_token"])).status_code == 200


async def test_token_code_expires_after_code_ttl(
    settings: Settings, app_factory: Callable[[Settings], Starlette]
) -> None:
    short = replace(settings, code_ttl=1)
    async with Relay(app_factory(short), short) as relay:
        answer = await relay.login()
        await asyncio.sleep(1.1)
        response = await relay.token(code=answer["code"])
        body = assert_error(response, "invalid_grant")
        assert "expired" in body["error_description"]


# --- the id_token -----------------------------------------------------------------------------


async def test_token_id_token_verifies_and_carries_the_claims(relay: Relay) -> None:
    before = int(time.time())
    answer = await relay.login("Ada Lovelace")
    body = (await relay.token(code=answer["code"])).json()
    claims = await verified_claims(relay, body["id_token"])
    after = int(time.time())

    assert claims["iss"] == relay.issuer
    assert claims["sub"].startswith("sandbox:") and len(claims["sub"]) > len("sandbox:")
    assert claims["aud"] == "rp"
    assert claims["idp"] == "sandbox"
    assert claims["nonce"] == "rp-nonce-456"
    assert before <= claims["iat"] <= after
    assert claims["exp"] > claims["iat"]
    assert before - 1 <= claims["auth_time"] <= claims["iat"]
    assert claims["at_hash"] == left_half_hash(body["access_token"])
    assert claims["name"] == "Ada Lovelace"
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": relay.issuer},
        aud={"essential": True, "value": "rp"},
        exp={"essential": True},
    ).validate(claims)


async def test_token_id_token_has_no_nonce_when_none_was_sent(relay: Relay) -> None:
    answer = await relay.login(nonce=None)
    body = (await relay.token(code=answer["code"])).json()
    claims = await verified_claims(relay, body["id_token"])
    assert "nonce" not in claims
    assert claims["sub"].startswith("sandbox:")


async def test_token_id_token_without_profile_scope_has_no_profile_claims(relay: Relay) -> None:
    answer = await relay.login(scope="openid")
    body = (await relay.token(code=answer["code"])).json()
    assert body["scope"] == "openid"
    claims = await verified_claims(relay, body["id_token"])
    assert "name" not in claims and "preferred_username" not in claims
    assert claims["idp"] == "sandbox"


async def test_token_id_token_audience_is_the_requesting_client(relay: Relay) -> None:
    started = await relay.start(
        client_id="multi", redirect_uri="https://multi.example/a", provider="sandbox2"
    )
    assert (await relay.scan(started.scan_url)).status_code == 303
    await relay.approve(started.session_id)
    back = await relay.resume(started.session_id)
    code = query_of(back.headers["location"])["code"]
    response = await post_token(
        relay,
        data=form(code, redirect_uri="https://multi.example/a"),
        auth=httpx.BasicAuth("multi", "multi-secret"),
    )
    assert response.status_code == 200, response.text
    claims = await verified_claims(relay, response.json()["id_token"])
    assert claims["aud"] == "multi"
    assert claims["idp"] == "sandbox2"
    assert claims["sub"].startswith("sandbox2:")
