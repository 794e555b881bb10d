"""What the configurable adapters (oauth2, oidc) share: checking their options, reading a
provider's error out of any body shape, client authentication at the token endpoint, and the
profile claims.

Error shapes recognised in an answer body, whatever the HTTP status (some providers say "no"
with HTTP 200 or 202). As issue 3 puts it: a non-empty `error` or a non-zero `errcode`, nothing
else; a top-level `code` or `error_code` is not read (`{"code": 200, "msg": "success", "data":
...}` is a common success wrapper).

    {"error": "invalid_grant", "error_description": "..."}      RFC 6749 §5.2, GitHub, TikTok
    {"error": {"code": 20117, "description": "..."}}            an error object (Mixin)
    {"error": {"code": "ok", "message": ""}}                     not an error (TikTok's success)
    {"errcode": 40029, "errmsg": "invalid code"}                 WeChat
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote_plus

from relay.errors import ConfigError, ProviderError
from relay.providers.base import number, optional_str, provider_words, shorten
from relay.settings import KIND_KEYS, ProviderConfig

# The profile claims an Identity carries; each is read from the provider's field of that name
# unless `claims` maps it elsewhere.
PROFILE_CLAIMS = ("name", "picture", "preferred_username")

# RFC 6749 §5.2 words that mean something the relay already has a reason code for.
OAUTH_REASONS = {
    "invalid_grant": "invalid_code",
    "invalid_client": "invalid_client",
    "unauthorized_client": "invalid_client",
    "bad_verification_code": "invalid_code",  # GitHub: the code is wrong, used or expired
}
MESSAGE_FIELDS = ("error_description", "errmsg", "message", "msg", "description")
SUCCESS_WORDS = {"", "0", "ok", "success"}
PATH = re.compile(r"[^.\s]+(\.[^.\s]+)*")  # "data.user"


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


def basic_auth(client_id: str, client_secret: str) -> str:
    """RFC 6749 §2.3.1: both halves form-urlencoded before Base64 (differs from a plain
    RFC 7617 header only when they hold characters outside letters, digits and -._~)."""
    pair = f"{quote_plus(client_id)}:{quote_plus(client_secret)}"
    return "Basic " + base64.b64encode(pair.encode()).decode("ascii")


def check_answer(
    status: int, body: dict[str, Any], what: str, hide: Iterable[str | None] = ()
) -> None:
    """ProviderError when the body carries an error (whatever the status) or the status is
    HTTP 400 or more (whatever the body). `hide`: values that must not reach the message."""
    found = body_error(body, tuple(hide))
    if found is not None:
        reason, message = found
        raise ProviderError(reason, f"the provider's {what}: {message}")
    if status >= 400:
        raise ProviderError("invalid_response", f"the provider's {what}: HTTP {status}")


def body_error(body: dict[str, Any], hide: tuple[str | None, ...] = ()) -> tuple[str, str] | None:
    """(reason code, message) when the body says the request failed: a non-empty `error`, or
    an `errcode` other than 0."""
    error = body.get("error")
    if isinstance(error, str) and error:
        return reason_of(error), described(body, shorten(error, 64), hide)
    if isinstance(error, dict):
        code = error.get("code")
        words = described(error, "", hide)
        if is_success(code) and (code is not None or not words):
            return None
        numeric = number(code)
        if numeric is not None:
            return f"error_{numeric}", f"{words or 'error'} (code {numeric})"
        if isinstance(code, str):
            return reason_of(code), words or shorten(code, 64)
        return "provider_error", words or "an error without a code"
    if error and not is_success(error):  # true, a non-empty list, a number: an error too
        return "provider_error", described(body, "an error", hide)
    errcode = body.get("errcode")
    if not is_success(errcode):
        numeric = number(errcode)
        if numeric is None:
            return "invalid_response", "an errcode that is not a number"
        if numeric != 0:
            return f"errcode_{numeric}", f"{described(body, 'error', hide)} (errcode {numeric})"
    return None


def reason_of(word: str) -> str:
    """The provider's own error word as a reason code: lowercase letters, digits and _."""
    word = re.sub(r"[^a-z0-9_]+", "_", word.strip().lower()).strip("_")[:64]
    return OAUTH_REASONS.get(word, word or "provider_error")


def described(body: dict[str, Any], fallback: str, hide: tuple[str | None, ...] = ()) -> str:
    for field in MESSAGE_FIELDS:
        words = provider_words(body.get(field), hide)
        if words:
            return words
    return provider_words(fallback, hide)


def is_success(code: Any) -> bool:
    return (
        code is None
        or number(code) == 0
        or (isinstance(code, str) and code.strip().lower() in SUCCESS_WORDS)
    )
