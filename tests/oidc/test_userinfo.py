"""The UserInfo endpoint (OpenID Connect Core §5.3) with Bearer tokens (RFC 6750 §2 and §3)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from joserfc import jwt

from tests.flows import Relay


async def access_token(relay: Relay, scope: str = "openid profile") -> str:
    answer = await relay.login("Ada Lovelace", scope=scope)
    response = await relay.token(code=answer["code"])
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def call(relay: Relay, method: str = "GET", **kwargs: Any) -> httpx.Response:
    async with relay.browser() as rp:
        return await rp.request(method, "/userinfo", **kwargs)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_claims(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    claims: dict[str, Any] = response.json()
    return claims


# --- presenting the token ---------------------------------------------------------------------


async def test_userinfo_get_with_bearer_header_gives_the_claims(relay: Relay) -> None:
    token = await access_token(relay)
    claims = assert_claims(await call(relay, headers=bearer(token)))
    assert claims["sub"].startswith("sandbox:")
    assert claims["idp"] == "sandbox"
    assert claims["name"] == "Ada Lovelace"
    assert claims["preferred_username"] == "ada.lovelace"


async def test_userinfo_sub_matches_the_id_token(relay: Relay) -> None:
    answer = await relay.login()
    body = (await relay.token(code=answer["code"])).json()
    id_token = jwt.decode(body["id_token"], relay.core.keys._key, algorithms=["RS256"])
    claims = assert_claims(await call(relay, headers=bearer(body["access_token"])))
    assert claims["sub"] == id_token.claims["sub"]


async def test_userinfo_post_with_bearer_header_gives_the_claims(relay: Relay) -> None:
    token = await access_token(relay)
    claims = assert_claims(await call(relay, "POST", headers=bearer(token)))
    assert claims["sub"].startswith("sandbox:")
    assert claims["name"] == "Ada Lovelace"


async def test_userinfo_post_with_token_in_form_body_gives_the_claims(relay: Relay) -> None:
    """RFC 6750 §2.2: the form-encoded body parameter."""
    token = await access_token(relay)
    claims = assert_claims(await call(relay, "POST", data={"access_token": token}))
    assert claims["sub"].startswith("sandbox:")
    assert claims["idp"] == "sandbox"


async def test_userinfo_lowercase_bearer_scheme_is_accepted(relay: Relay) -> None:
    token = await access_token(relay)
    assert_claims(await call(relay, headers={"Authorization": f"bearer {token}"}))


async def test_userinfo_token_in_header_and_body_is_invalid_request(relay: Relay) -> None:
    token = await access_token(relay)
    response = await call(relay, "POST", headers=bearer(token), data={"access_token": token})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response.headers["cache-control"] == "no-store"
    assert 'error="invalid_request"' in response.headers["www-authenticate"]


async def test_userinfo_token_in_query_is_not_read(relay: Relay) -> None:
    """RFC 6750 §2.3 is optional and leaks tokens into logs; the relay does not read it."""
    token = await access_token(relay)
    response = await call(relay, params={"access_token": token})
    assert response.status_code == 401


async def test_userinfo_repeated_token_in_body_is_invalid_request(relay: Relay) -> None:
    token = await access_token(relay)
    response = await call(
        relay,
        "POST",
        content=f"access_token={token}&access_token={token}".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_userinfo_without_token_is_401_with_bearer_challenge(
    relay: Relay, method: str
) -> None:
    response = await call(relay, method)
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer")
    assert "error=" not in challenge  # RFC 6750 §3.1: no error code without credentials
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_userinfo_unknown_token_is_401_invalid_token(relay: Relay, method: str) -> None:
    response = await call(relay, method, headers=bearer("not-a-token-the-relay-issued"))
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer")
    assert 'error="invalid_token"' in challenge
    assert response.json()["error"] == "invalid_token"
    assert response.headers["cache-control"] == "no-store"


async def test_userinfo_unknown_token_in_body_is_401_invalid_token(relay: Relay) -> None:
    response = await call(relay, "POST", data={"access_token": "not-a-token"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_userinfo_oversized_token_is_401_invalid_token(relay: Relay) -> None:
    response = await call(relay, headers=bearer("t" * 5000))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Bearer", id="bearer-without-token"),
        pytest.param("Bearer   ", id="bearer-blank"),
    ],
)
async def test_userinfo_empty_bearer_is_invalid_request(relay: Relay, header: str) -> None:
    response = await call(relay, headers={"Authorization": header})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Basic cnA6cnAtc2VjcmV0", id="basic"),
        pytest.param("Token abc", id="other-scheme"),
    ],
)
async def test_userinfo_other_scheme_is_401_with_plain_bearer_challenge(
    relay: Relay, header: str
) -> None:
    """RFC 6750 §3.1: an unsupported authentication method counts as no credentials."""
    response = await call(relay, headers={"Authorization": header})
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer") and "error=" not in challenge
    assert response.headers["cache-control"] == "no-store"


# --- what the scope allows --------------------------------------------------------------------


async def test_userinfo_openid_scope_only_gives_sub_and_idp(relay: Relay) -> None:
    token = await access_token(relay, scope="openid")
    claims = assert_claims(await call(relay, headers=bearer(token)))
    assert set(claims) == {"sub", "idp"}
    assert claims["idp"] == "sandbox"


async def test_userinfo_profile_scope_adds_profile_claims(relay: Relay) -> None:
    token = await access_token(relay, scope="openid profile")
    claims = assert_claims(await call(relay, headers=bearer(token)))
    assert set(claims) == {"sub", "idp", "name", "preferred_username"}
