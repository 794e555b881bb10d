"""What the configurable adapters (oauth2, oidc) share: checking their options, reading a
provider's error out of any body shape, client authentication at the token endpoint, and the
profile claims.

Error shapes recognised in an answer body, whatever the HTTP status (some providers say "no"
with HTTP 200 or 202):

    {"error": "invalid_grant", "error_description": "..."}      RFC 6749 §5.2, GitHub, TikTok
    {"error": {"code": 20117, "description": "..."}}            an error object (Mixin)
    {"error": {"code": "ok", "message": ""}}                     not an error (TikTok's success)
    {"errcode": 40029, "errmsg": "invalid code"}                 WeChat; also error_code, code
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any, TypeGuard
from urllib.parse import quote_plus, urlencode

from relay.errors import ConfigError, ProviderError
from relay.providers.base import optional_str
from relay.settings import KIND_KEYS, ProviderConfig

# The profile claims an Identity carries; each is read from the provider's field of that name
# unless `claims` maps it elsewhere.
PROFILE_CLAIMS = ("name", "picture", "preferred_username")

# RFC 6749 §5.2 words that mean something the relay already has a reason code for.
OAUTH_REASONS = {
    "invalid_grant": "invalid_code",
    "invalid_client": "invalid_client",
    "unauthorized_client": "invalid_client",
}
NUMERIC_ERROR_FIELDS = ("errcode", "error_code", "code")
MESSAGE_FIELDS = ("error_description", "errmsg", "message", "msg", "description")
SUCCESS_WORDS = {"", "0", "ok", "success"}
PATH = re.compile(r"[^.\s]+(\.[^.\s]+)*")  # "data.user"
MAX_MESSAGE = 200  # characters of the provider's own words kept in a message


def check_known_keys(config: ProviderConfig) -> None:
    """Settings already refuse unknown keys; an adapter built directly gets the same answer."""
    unknown = set(config.options) - KIND_KEYS[config.kind]
    if unknown:
        key = sorted(unknown)[0]
        raise ConfigError(f"providers.{config.name}.{key}", f'unknown key for kind "{config.kind}"')


def choice(config: ProviderConfig, key: str, allowed: tuple[str, ...]) -> str:
    """An option that is one of a few words; the first is the default."""
    value = config.options.get(key, allowed[0])
    if value not in allowed:
        words = " or ".join(f'"{word}"' for word in allowed)
        raise ConfigError(f"providers.{config.name}.{key}", f"must be {words}")
    return str(value)


def path_option(config: ProviderConfig, key: str, default: str | None = None) -> str | None:
    """A dotted path into a JSON answer ("data.user")."""
    value = config.options.get(key, default)
    if value is None:
        return None
    if not isinstance(value, str) or not PATH.fullmatch(value):
        raise ConfigError(
            f"providers.{config.name}.{key}", 'must be a dotted path such as "data.user"'
        )
    return value


def string_table(config: ProviderConfig, key: str) -> dict[str, str]:
    value = config.options.get(key, {})
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and k and isinstance(v, str) for k, v in value.items()
    ):
        raise ConfigError(f"providers.{config.name}.{key}", "must be a table of strings")
    return dict(value)


def claims_option(config: ProviderConfig) -> dict[str, str]:
    """`claims`: relay claim -> the provider's field path; unnamed claims keep their own name."""
    where = f"providers.{config.name}.claims"
    table = string_table(config, "claims")
    for claim, path in table.items():
        if claim not in PROFILE_CLAIMS:
            raise ConfigError(where, f'"{claim}" is not one of {", ".join(PROFILE_CLAIMS)}')
        if not PATH.fullmatch(path):
            raise ConfigError(where, f'"{path}" for {claim} is not a dotted path')
    return {claim: table.get(claim, claim) for claim in PROFILE_CLAIMS}


def profile(sources: list[Any], claims: Mapping[str, str]) -> dict[str, str | None]:
    """Each profile claim from the first source that has it as a non-empty string."""
    return {
        claim: next((v for s in sources if (v := optional_str(s, path)) is not None), None)
        for claim, path in claims.items()
    }


def with_query(url: str, params: Mapping[str, str]) -> str:
    """The configured URL may carry a query already (fixed parameters, TikTok's `fields`)."""
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


def basic_auth(client_id: str, client_secret: str) -> str:
    """RFC 6749 §2.3.1: both halves form-urlencoded before Base64 (differs from a plain
    RFC 7617 header only when they hold characters outside letters, digits and -._~)."""
    pair = f"{quote_plus(client_id)}:{quote_plus(client_secret)}"
    return "Basic " + base64.b64encode(pair.encode()).decode("ascii")


def check_answer(status: int, body: dict[str, Any], what: str) -> None:
    """ProviderError when the body carries an error (whatever the status) or the status is
    HTTP 400 or more (whatever the body)."""
    found = body_error(body)
    if found is not None:
        reason, message = found
        raise ProviderError(reason, f"the provider's {what}: {message}")
    if status >= 400:
        raise ProviderError("invalid_response", f"the provider's {what}: HTTP {status}")


def body_error(body: dict[str, Any]) -> tuple[str, str] | None:
    """(reason code, message) when the body says the request failed."""
    error = body.get("error")
    if isinstance(error, str) and error:
        return reason_of(error), described(body, error)
    if isinstance(error, dict):
        code = error.get("code")
        words = described(error, "")
        if is_success(code) and (code is not None or not words):
            return None
        if is_number(code):
            return f"error_{code}", f"{words or 'error'} (code {code})"
        if isinstance(code, str):
            return reason_of(code), words or code
        return "provider_error", words
    for field in NUMERIC_ERROR_FIELDS:
        value = body.get(field)
        if is_number(value) and int(value) != 0:
            return f"{field}_{int(value)}", f"{described(body, 'error')} ({field} {value})"
    return None


def reason_of(word: str) -> str:
    """The provider's own error word as a reason code: lowercase letters, digits and _."""
    word = re.sub(r"[^a-z0-9_]+", "_", word.strip().lower()).strip("_")[:64]
    return OAUTH_REASONS.get(word, word or "provider_error")


def described(body: dict[str, Any], fallback: str) -> str:
    for field in MESSAGE_FIELDS:
        value = body.get(field)
        if isinstance(value, str) and value.strip():
            return value.strip()[:MAX_MESSAGE]
    return fallback


def is_number(value: Any) -> TypeGuard[int | str]:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, str) and value.lstrip("-").isdigit())


def is_success(code: Any) -> bool:
    return code is None or code == 0 or (isinstance(code, str) and code.lower() in SUCCESS_WORDS)
