"""OpenID Provider metadata (OpenID Connect Discovery 1.0 §3) and the JWKS (RFC 7517)."""

from __future__ import annotations

from typing import Any

from joserfc.jwk import KeySet, RSAKey

from tests.flows import Relay

PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")


async def configuration(relay: Relay) -> dict[str, Any]:
    response = await relay.desktop.get("/.well-known/openid-configuration")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


async def test_discovery_names_the_issuer_and_endpoints_under_it(relay: Relay) -> None:
    config = await configuration(relay)
    assert config["issuer"] == relay.issuer == "http://relay.test"
    assert config["authorization_endpoint"] == f"{relay.issuer}/authorize"
    assert config["token_endpoint"] == f"{relay.issuer}/token"
    assert config["userinfo_endpoint"] == f"{relay.issuer}/userinfo"
    assert config["jwks_uri"] == f"{relay.issuer}/jwks.json"


async def test_discovery_advertises_exactly_what_the_relay_supports(relay: Relay) -> None:
    config = await configuration(relay)
    assert config["response_types_supported"] == ["code"]
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert config["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
    ]
    assert config["id_token_signing_alg_values_supported"] == ["RS256"]
    assert config["subject_types_supported"] == ["public"]
    assert config["authorization_response_iss_parameter_supported"] is True
    assert config["grant_types_supported"] == [
        "authorization_code",
        "urn:ietf:params:oauth:grant-type:device_code",
    ]
    assert config["device_authorization_endpoint"] == f"{relay.issuer}/device_authorization"


async def test_discovery_lists_scopes_and_claims(relay: Relay) -> None:
    config = await configuration(relay)
    assert "openid" in config["scopes_supported"]
    assert "profile" in config["scopes_supported"]
    for claim in ("sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "idp", "name"):
        assert claim in config["claims_supported"], claim


async def test_discovery_endpoints_answer_where_advertised(relay: Relay) -> None:
    config = await configuration(relay)
    jwks = await relay.desktop.get(config["jwks_uri"].removeprefix(relay.issuer))
    assert jwks.status_code == 200
    userinfo = await relay.desktop.get(config["userinfo_endpoint"].removeprefix(relay.issuer))
    assert userinfo.status_code == 401  # exists, wants a token
    token = await relay.desktop.get(config["token_endpoint"].removeprefix(relay.issuer))
    assert token.status_code == 405  # exists, POST only


async def test_discovery_jwks_holds_one_public_rsa_signing_key(relay: Relay) -> None:
    response = await relay.desktop.get("/jwks.json")
    assert response.status_code == 200
    keys = response.json()["keys"]
    assert len(keys) == 1
    key = keys[0]
    assert key["kty"] == "RSA"
    assert key["kid"]
    assert key["use"] == "sig"
    assert key["alg"] == "RS256"
    assert key["n"] and key["e"]
    for member in PRIVATE_MEMBERS:
        assert member not in key, f"the JWKS leaks the private member {member}"


async def test_discovery_jwks_kid_is_the_signing_key_thumbprint(relay: Relay) -> None:
    jwk = (await relay.desktop.get("/jwks.json")).json()["keys"][0]
    assert jwk["kid"] == relay.core.keys.kid
    imported = KeySet.import_key_set({"keys": [jwk]}).keys[0]
    assert isinstance(imported, RSAKey)
    assert not imported.is_private
    assert imported.thumbprint() == jwk["kid"]
