"""Any OpenID Connect provider (OpenID Connect Core 1.0, code flow), from its discovery document.

The provider's metadata is read once from `{issuer}/.well-known/openid-configuration`
(OpenID Connect Discovery 1.0 §4) and kept; a document that cannot be read or names another
issuer fails the login (`discovery_failed`) and is asked for again by the next one. The
id_token is trusted only after the checks of Core §3.1.3.7: a signature by a key of the
provider's JWKS (RS256 or ES256; never "none", never a MAC), iss, aud (and azp), exp, iat and
the nonce this trip sent. Any failure is `invalid_id_token`.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import math
import time
from dataclasses import dataclass
from typing import Any, TypeGuard
from urllib.parse import urlsplit

import httpx
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, Key, RSAKey

from relay.errors import ConfigError, ProviderError
from relay.providers._dialect import (
    basic_auth,
    check_answer,
    check_known_keys,
    claims_option,
    path_option,
    profile,
)
from relay.providers.base import (
    AppOnly,
    Trip,
    Upstream,
    UpstreamGrant,
    bearer,
    dig,
    host,
    provider_words,
    read_profile,
    request_json,
    required_str,
    timeout_of,
    with_query,
)
from relay.sessions.model import Identity
from relay.settings import ProviderConfig, check_url

ALGORITHMS = {"RS256": "RSA", "ES256": "EC"}  # alg -> the key type that may verify it
LEEWAY = 60  # seconds of clock skew allowed on exp and iat
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}  # where an issuer may be plain http


@dataclass(frozen=True)
class Metadata:
    """What the relay uses from the discovery document (Discovery §3)."""

    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str | None
    jwks_uri: str
    pkce: bool  # send an S256 challenge
    basic_auth: bool  # client_secret_basic, else client_secret_post


def invalid(reason: str) -> ProviderError:
    return ProviderError("invalid_id_token", f"the provider's id_token {reason}")


class OIDCProvider:
    kind = "oidc"
    app_only: AppOnly | None = None
    denial_without_code = False

    def __init__(self, config: ProviderConfig, http: httpx.AsyncClient, issuer: str) -> None:
        where = f"providers.{config.name}"
        check_known_keys(config)
        if "issuer" not in config.options:
            raise ConfigError(f"{where}.issuer", 'is required for kind "oidc"')
        self.issuer = check_issuer(f"{where}.issuer", config.options["issuer"])
        self.name = config.name
        self.display_name = config.display_name
        self._config = config
        self._http = http
        self._timeout = timeout_of(config)
        scopes = (config.scope or "openid profile").split()
        self._scope = " ".join(scopes if "openid" in scopes else ["openid", *scopes])
        self._subject = path_option(config, "subject", "sub") or "sub"
        self._claims = claims_option(config)
        self._metadata: Metadata | None = None
        self._discovering = asyncio.Lock()  # one discovery request for many first logins
        self._keys: list[Key] | None = None

    # --- discovery ----------------------------------------------------------------------------

    async def metadata(self) -> Metadata:
        if self._metadata is None:
            async with self._discovering:
                if self._metadata is None:
                    self._metadata = await self._discover()
        return self._metadata

    async def _discover(self) -> Metadata:
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            status, doc = await request_json(
                self._http,
                "GET",
                url,
                timeouts=self._timeout,
                retry_connect=True,
                upstream=Upstream(self.name, "discovery"),
            )
        except ProviderError as exc:
            raise ProviderError("discovery_failed", exc.message) from None
        if status != 200:
            raise ProviderError("discovery_failed", f"{host(url)} answered HTTP {status}")
        # Discovery §4.3: the issuer in the document is exactly the one configured.
        if doc.get("issuer") != self.issuer:
            raise ProviderError(
                "discovery_failed", f"the discovery document of {host(url)} names another issuer"
            )
        pkce_methods = doc.get("code_challenge_methods_supported")
        auth_methods = doc.get("token_endpoint_auth_methods_supported")
        userinfo = doc.get("userinfo_endpoint")
        return Metadata(
            authorization_endpoint=self._config.authorize_url
            or self._endpoint(doc, "authorization_endpoint"),
            token_endpoint=self._config.token_url or self._endpoint(doc, "token_endpoint"),
            userinfo_endpoint=self._config.userinfo_url
            or (None if userinfo is None else self._endpoint(doc, "userinfo_endpoint")),
            jwks_uri=self._endpoint(doc, "jwks_uri"),
            pkce=not isinstance(pkce_methods, list) or "S256" in pkce_methods,
            # Discovery §3: without the list, client_secret_basic is the default.
            basic_auth=not isinstance(auth_methods, list)
            or not auth_methods
            or "client_secret_basic" in auth_methods,
        )

    def _endpoint(self, doc: dict[str, Any], key: str) -> str:
        try:
            url = check_url(key, doc.get(key))
        except ConfigError:
            raise ProviderError(
                "discovery_failed", f"the discovery document has no valid {key}"
            ) from None
        if self.issuer.startswith("https://") and not url.startswith("https://"):
            raise ProviderError("discovery_failed", f"the discovery document's {key} is not https")
        return url

    # --- the three steps ----------------------------------------------------------------------

    async def authorization_url(self, trip: Trip) -> str:
        metadata = await self.metadata()
        params = {
            "response_type": "code",
            "client_id": self._config.client_id,
            "redirect_uri": trip.redirect_uri,
            "scope": self._scope,
            "state": trip.state,
            "nonce": trip.nonce,
        }
        if metadata.pkce:
            params["code_challenge"] = trip.code_challenge
            params["code_challenge_method"] = "S256"
        return with_query(metadata.authorization_endpoint, params)

    async def exchange_code(self, code: str, trip: Trip) -> UpstreamGrant:
        metadata = await self.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": trip.redirect_uri,
        }
        headers = {"Accept": "application/json"}
        config = self._config
        if metadata.basic_auth:
            headers["Authorization"] = basic_auth(config.client_id, config.client_secret)
        else:
            form["client_id"] = config.client_id
            form["client_secret"] = config.client_secret
        if metadata.pkce:
            form["code_verifier"] = trip.code_verifier
        status, answer = await request_json(
            self._http,
            "POST",
            metadata.token_endpoint,
            timeouts=self._timeout,
            upstream=Upstream(self.name, "token"),
            headers=headers,
            data=form,
        )
        check_answer(
            status, answer, "token response", hide=(config.client_secret, code, trip.code_verifier)
        )
        required_str(answer, "access_token", "token response")
        required_str(answer, "id_token", "token response")
        return answer

    async def fetch_identity(self, grant: UpstreamGrant, trip: Trip) -> Identity:
        metadata = await self.metadata()
        claims = await self.verified_claims(
            required_str(grant, "id_token", "token response"), trip, metadata
        )
        sources: list[Any] = [claims]
        if metadata.userinfo_endpoint is not None:
            status, userinfo = await read_profile(
                self._http,
                metadata.userinfo_endpoint,
                self.name,
                self._timeout,
                headers={
                    "Authorization": bearer(grant.get("access_token")),
                    "Accept": "application/json",
                },
            )
            check_answer(
                status,
                userinfo,
                "userinfo",
                hide=(self._config.client_secret, grant.get("access_token")),
            )
            # Core §5.3.2: a userinfo answer about anyone else must not be used.
            if userinfo.get("sub") != claims["sub"]:
                raise ProviderError("invalid_response", "the userinfo is about another user")
            sources.append(userinfo)
        # `subject` may name a claim the id_token leaves to the userinfo.
        source = next((s for s in sources if dig(s, self._subject) is not None), claims)
        return Identity(
            provider=self.name,
            subject=required_str(source, self._subject, "id_token"),
            **profile(sources, self._claims),
        )

    # --- the id_token -------------------------------------------------------------------------

    async def verified_claims(
        self, id_token: str, trip: Trip, metadata: Metadata
    ) -> dict[str, Any]:
        try:
            signed = jws.extract_compact(id_token.encode())
            header = signed.headers()
        except (JoseError, ValueError, UnicodeError):
            raise invalid("is not a signed JWT") from None
        alg = header.get("alg")
        if alg == "none":
            raise invalid("is not signed (alg none)")
        if not isinstance(alg, str) or alg not in ALGORITHMS:
            raise invalid(f"is signed with {provider_words(str(alg))[:16]}, not RS256 or ES256")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise invalid("names its key with something other than a string (kid)")
        fetched_now = self._keys is None
        keys = self._keys_for(await self._jwks(metadata), alg, kid)
        if not keys and kid is not None and not fetched_now:
            # An unknown kid: the provider may have rotated its keys since we read them.
            keys = self._keys_for(await self._jwks(metadata, refresh=True), alg, kid)
        if not keys and kid is None:
            raise invalid(f"names no key (kid), and the provider publishes no {alg} key")
        if not keys:
            raise invalid(f"names a key ({provider_words(kid)[:40]}) the provider does not publish")
        if not any(self._verifies(signed, key, alg) for key in keys):
            raise invalid("has a signature that does not verify")
        try:
            claims = json.loads(signed.payload)
        except (TypeError, ValueError, RecursionError):
            raise invalid("is not JSON") from None
        if not isinstance(claims, dict):
            raise invalid("is not a JSON object")
        self._check_claims(claims, trip)
        return claims

    async def _jwks(self, metadata: Metadata, *, refresh: bool = False) -> list[Key]:
        if self._keys is None or refresh:
            status, body = await request_json(
                self._http,
                "GET",
                metadata.jwks_uri,
                timeouts=self._timeout,
                retry_connect=True,
                upstream=Upstream(self.name, "jwks"),
            )
            if status != 200 or not isinstance(body.get("keys"), list):
                raise invalid(f"cannot be checked: {host(metadata.jwks_uri)} sent no key set")
            self._keys = [key for jwk in body["keys"] if (key := import_jwk(jwk)) is not None]
        return self._keys

    @staticmethod
    def _keys_for(keys: list[Key], alg: str, kid: str | None) -> list[Key]:
        return [
            key
            for key in keys
            if key.key_type == ALGORITHMS[alg]
            and (kid is None or key.kid == kid)
            and key.get("alg", alg) == alg
            and (alg != "ES256" or key.get("crv") == "P-256")
        ]

    @staticmethod
    def _verifies(signed: Any, key: Key, alg: str) -> bool:
        try:
            return jws.validate_compact(signed, key, algorithms=[alg])
        except Exception:  # a signature that does not fit the key: no match
            return False

    def _check_claims(self, claims: dict[str, Any], trip: Trip) -> None:
        """OpenID Connect Core §3.1.3.7, steps 2, 3, 4, 5, 9, 10, 11."""
        client_id = self._config.client_id
        if claims.get("iss") != self.issuer:
            raise invalid("was issued by someone else (iss)")
        audience = claims.get("aud")
        audiences = [audience] if isinstance(audience, str) else audience
        if not isinstance(audiences, list) or client_id not in audiences:
            raise invalid("is meant for another client (aud)")
        if (len(audiences) > 1 or "azp" in claims) and claims.get("azp") != client_id:
            raise invalid("was handed to another client (azp)")
        now = time.time()
        exp, iat = claims.get("exp"), claims.get("iat")
        if not is_time(exp):
            raise invalid("has no expiry (exp)")
        if now > exp + LEEWAY:
            raise invalid("has expired (exp)")
        if not is_time(iat):
            raise invalid("has no issue time (iat)")
        if iat > now + LEEWAY:
            raise invalid("was issued in the future (iat)")
        nonce = claims.get("nonce")
        if not isinstance(nonce, str) or not hmac.compare_digest(
            nonce.encode(), trip.nonce.encode()
        ):
            raise invalid("does not carry this sign-in's nonce")
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise invalid("has no subject (sub)")


def is_time(value: Any) -> TypeGuard[int | float]:
    """A NumericDate: a finite number (Python's json reads Infinity and NaN too)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def import_jwk(jwk: Any) -> Key | None:
    """A signing key from the JWKS; None for what the relay cannot use (other types,
    encryption keys, malformed entries): one odd key must not hide the others."""
    if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
        return None
    kinds: dict[str, type[RSAKey] | type[ECKey]] = {"RSA": RSAKey, "EC": ECKey}
    kty = jwk.get("kty")
    kind = kinds.get(kty) if isinstance(kty, str) else None
    if kind is None:
        return None
    try:
        key: Key = kind.import_key(jwk)
    except Exception:  # any malformed key (an unknown curve is a KeyError)
        return None
    return key


def check_issuer(key: str, value: Any) -> str:
    """An https URL; plain http only for a provider on this machine (tests, development)."""
    url = check_url(key, value)
    parts = urlsplit(url)
    if parts.query:
        raise ConfigError(key, "must not have a query")
    if parts.scheme != "https" and parts.hostname not in LOCAL_HOSTS:
        raise ConfigError(key, "must be an https URL (http only for localhost)")
    return url
