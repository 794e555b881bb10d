"""OpenID Provider metadata (OpenID Connect Discovery 1.0 §3) and the JWKS."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from relay.core import Relay
from relay.device import DEVICE_CODE_GRANT
from relay.i18n import SUPPORTED_LOCALES

SCOPES_SUPPORTED = ("openid", "profile")
CLAIMS_SUPPORTED = (
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "idp",
    "name",
    "picture",
    "preferred_username",
)


def metadata(relay: Relay) -> dict[str, object]:
    issuer = relay.settings.issuer
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/jwks.json",
        "device_authorization_endpoint": f"{issuer}/device_authorization",  # RFC 8628 §4
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", DEVICE_CODE_GRANT],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "subject_types_supported": ["public"],
        "scopes_supported": list(SCOPES_SUPPORTED),
        "claims_supported": list(CLAIMS_SUPPORTED),
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "authorization_response_iss_parameter_supported": True,
        # The languages of the pages, for the ui_locales parameter (OIDC Discovery §3).
        "ui_locales_supported": list(SUPPORTED_LOCALES),
    }


async def openid_configuration(request: Request) -> JSONResponse:
    relay: Relay = request.app.state.relay
    return JSONResponse(metadata(relay), headers={"Cache-Control": "public, max-age=300"})


async def jwks(request: Request) -> JSONResponse:
    relay: Relay = request.app.state.relay
    return JSONResponse(relay.keys.jwks(), headers={"Cache-Control": "public, max-age=300"})
