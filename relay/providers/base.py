"""The Provider protocol, and the HTTP plumbing every adapter shares.

An adapter builds the provider's authorization URL for the phone, exchanges the code the phone
brings back, and reads the identity. It is given an `httpx.AsyncClient`; tests give it one whose
transport is a fake of that provider. Every upstream failure, including an HTTP 200 body that
carries an error, becomes a `ProviderError(code, message)`.

Reason codes shared by every adapter (the provider's own error words are kept as they come,
WeChat's errcodes as `errcode_N`):

    provider_unreachable   the connection failed
    provider_timeout       no whole answer within the provider's `timeout`
    invalid_response       not JSON, not an object, more than 1 MiB, or a field the login needs
                           is missing or unusable
    invalid_code           the provider refused the code (invalid, used or expired)
    access_denied          the user said no at the provider

What the provider says goes into messages only through `provider_words` (one line, at most
MAX_WORDS characters, secrets cut out by `redact`); the callback applies `scrubbed` to every
ProviderError once more with the values it knows (the secret, the code, the verifier, tokens).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, Protocol
from urllib.parse import quote, quote_plus, urlencode

import httpx

from relay.digests import s256
from relay.errors import ProviderError
from relay.sessions.model import Identity
from relay.settings import ProviderConfig

UpstreamGrant = dict[str, Any]  # the provider's token response, as it sent it

Endpoint = Literal["discovery", "jwks", "token", "userinfo"]

MAX_BODY = 1024 * 1024  # bytes of an answer the relay reads; more is not an answer it can use
MAX_WORDS = 200  # characters of the provider's own words kept in a message
REDACTED = "[redacted]"
MIN_HIDDEN = 8  # shorter values are not searched for: they would cut out ordinary words


class Upstream(NamedTuple):
    """What one upstream call is, for the relay's metrics (relay/observability/metrics.py):
    the provider's configured name and a word from a fixed set for the endpoint, never a URL
    (label values must stay few, and some providers put secrets in the query string)."""

    provider: str
    endpoint: Endpoint


UPSTREAM = "relay.upstream"  # the httpx request extension that carries an Upstream


@dataclass(frozen=True)
class Trip:
    """One trip of the phone to the provider and back: what the relay sent and must check."""

    state: str  # letters and digits only (WeChat's rule), single use
    redirect_uri: str  # {issuer}/callback/{provider name}
    code_verifier: str  # PKCE, for providers that support it
    nonce: str  # OpenID Connect providers put it into their id_token

    @property
    def code_challenge(self) -> str:
        return s256(self.code_verifier)


@dataclass(frozen=True)
class AppOnly:
    """A provider whose phone step works only inside its own app's browser (WeChat)."""

    app_name: str  # shown to people: "Open this in WeChat"
    user_agent_marker: str  # found in that browser's User-Agent


class Provider(Protocol):
    name: str  # the [providers.NAME] key; the first half of every `sub`
    kind: str
    display_name: str
    app_only: AppOnly | None  # None: any phone browser will do
    denial_without_code: bool  # the provider says "no" by coming back with neither code nor error

    async def authorization_url(self, trip: Trip) -> str:
        """Where the phone goes to sign in."""

    async def exchange_code(self, code: str, trip: Trip) -> UpstreamGrant:
        """Trade the code from the callback for the provider's tokens. Never retried: codes
        are single use."""

    async def fetch_identity(self, grant: UpstreamGrant, trip: Trip) -> Identity:
        """Who signed in: a stable subject and the profile the provider gives."""


# --- requests -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timeouts:
    """`total`: seconds one request may take in all (connecting, sending, and every byte of the
    answer); `connect`: seconds to connect. A profile GET retried after a failed connection is
    a second request with its own `total`."""

    total: float = 10.0
    connect: float = 3.0


def timeout_of(config: ProviderConfig) -> Timeouts:
    return Timeouts(total=config.timeout, connect=config.connect_timeout)


async def request_json(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    timeouts: Timeouts | None = None,
    retry_connect: bool = False,
    upstream: Upstream | None = None,
    **kwargs: Any,
) -> tuple[int, dict[str, Any]]:
    """Send one upstream request; (status, JSON object), or ProviderError when the provider
    cannot be reached, does not answer in time (`timeouts.total` bounds the whole request, not
    each read), answers more than MAX_BODY bytes, or does not answer with a JSON object
    (whatever its Content-Type says: WeChat serves JSON as text/plain). `retry_connect` retries
    once when the connection could not be made, for idempotent reads only (a profile GET, never
    a token exchange). `upstream` names the call for the relay's metrics; the relay's client
    times it."""
    limits = timeouts or Timeouts()
    options: dict[str, Any] = dict(kwargs)
    options["timeout"] = httpx.Timeout(limits.total, connect=limits.connect)
    if upstream is not None:
        options["extensions"] = {UPSTREAM: upstream}
    where = host(url)
    attempts = 2 if retry_connect else 1
    for attempt in range(1, attempts + 1):
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation.
            async with asyncio.timeout(limits.total):
                status, content = await read_answer(http, method, url, options)
            break
        except httpx.ConnectError:
            if attempt < attempts:
                continue
            raise ProviderError("provider_unreachable", f"{where}: cannot connect") from None
        except (httpx.TimeoutException, TimeoutError):
            raise ProviderError(
                "provider_timeout", f"{where} did not answer within {limits.total:g} s"
            ) from None
        except httpx.HTTPError as exc:
            raise ProviderError("provider_unreachable", f"{where}: {type(exc).__name__}") from None
        except ValueError:  # UnicodeEncodeError included: a value from the provider, sent back
            raise ProviderError(
                "invalid_response", f"a value from the provider cannot be sent to {where}"
            ) from None
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):  # RecursionError: JSON nested too deep
        raise ProviderError(
            "invalid_response", f"{where} answered HTTP {status} without JSON"
        ) from None
    if not isinstance(body, dict):
        raise ProviderError("invalid_response", f"{where} answered JSON that is not an object")
    return status, body


async def read_answer(
    http: httpx.AsyncClient, method: str, url: str, options: dict[str, Any]
) -> tuple[int, bytes]:
    """The status and at most MAX_BODY bytes of the (decoded) body, read as it streams in."""
    async with http.stream(method, url, **options) as response:
        declared = response.headers.get("content-length", "")
        if re.fullmatch(r"[0-9]{1,18}", declared) and int(declared) > MAX_BODY:
            raise too_big(url)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > MAX_BODY:
                raise too_big(url)
            chunks.append(chunk)
        return response.status_code, b"".join(chunks)


def too_big(url: str) -> ProviderError:
    return ProviderError(
        "invalid_response", f"{host(url)} answered more than {MAX_BODY // 1024} KiB"
    )


def with_query(url: str, query: str | Mapping[str, str]) -> str:
    """`url` with `query` (already encoded, or a mapping to urlencode) appended: after "?", or
    after "&" when the URL has a query already (a configured URL with fixed parameters)."""
    encoded = query if isinstance(query, str) else urlencode(query)
    if not encoded:
        return url
    if "?" not in url:
        return f"{url}?{encoded}"
    return f"{url}{'' if url.endswith(('?', '&')) else '&'}{encoded}"


TOKEN = re.compile(r"[\x21-\x7e]{1,4096}")  # visible ASCII: what an HTTP header can carry


def bearer(token: Any) -> str:
    """The Authorization header for a provider's access token; a token that no header can
    carry (not a string, spaces, characters outside ASCII) is the provider's mistake."""
    if not isinstance(token, str) or not TOKEN.fullmatch(token):
        raise ProviderError(
            "invalid_response", "the provider's access_token cannot be sent in a header"
        )
    return f"Bearer {token}"


async def read_profile(
    http: httpx.AsyncClient,
    url: str,
    provider: str,
    timeouts: Timeouts,
    **kwargs: Any,
) -> tuple[int, dict[str, Any]]:
    """The profile read every adapter makes: a GET labelled "userinfo", retried once when the
    connection fails (an idempotent read, unlike the token exchange)."""
    return await request_json(
        http,
        "GET",
        url,
        timeouts=timeouts,
        upstream=Upstream(provider, "userinfo"),
        retry_connect=True,
        **kwargs,
    )


def host(url: str) -> str:
    """Only the host goes into messages: some providers put secrets in the query string."""
    try:
        return httpx.URL(url).host or "the provider"
    except httpx.InvalidURL:
        return "the provider"


# --- reading answers ------------------------------------------------------------------------------


def dig(body: Any, path: str | None) -> Any:
    """The value at a dotted path ("data.user") in a JSON object; None when any step is missing."""
    if not path:
        return body
    for step in path.split("."):
        if not isinstance(body, dict):
            return None
        body = body.get(step)
    return body


def required_str(body: Any, path: str, what: str) -> str:
    value = dig(body, path)
    if isinstance(value, int) and not isinstance(value, bool) and number(value) is not None:
        value = str(value)
    if not isinstance(value, str) or not value:
        raise ProviderError("invalid_response", f"the provider's {what} has no {path}")
    return value


def optional_str(body: Any, path: str | None) -> str | None:
    value = dig(body, path) if path else None
    return value if isinstance(value, str) and value else None


NUMBER = re.compile(r"-?[0-9]{1,18}")


def number(value: Any) -> int | None:
    """An error number as providers write it: an integer, or a string of ASCII digits with an
    optional minus, of at most 18 digits; None for anything else ("²", "--5", 5000 digits)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if -(10**18) < value < 10**18 else None
    if isinstance(value, str) and NUMBER.fullmatch(value):
        return int(value)
    return None


# --- what may be said -----------------------------------------------------------------------------

# `name=value`, `name: value` or `"name": "value"` for a parameter that carries a secret, and
# the credentials of an Authorization header a provider quotes back ("Basic <base64 of
# id:secret>", "Bearer <token>"; a credential has a digit or a sign, a word like "authentication"
# is kept): the hidden values cannot be found in those as they are.
SECRET_PAIR = re.compile(
    r"(?i)\b(client_secret|app_?secret|secret|code_verifier|code|access_token|refresh_token"
    r"|id_token|token|password)([\"']?\s*[=:]\s*[\"']?)([^\s&\"',;}]+)"
    r"|\b(basic|bearer)(\s+)((?=[A-Za-z]*[0-9._~+/=-])[A-Za-z0-9._~+/=-]{8,})"
)


def hidden(hide: Iterable[object]) -> list[str]:
    """The values worth searching for: strings of at least MIN_HIDDEN characters."""
    return [value for value in hide if isinstance(value, str) and len(value) >= MIN_HIDDEN]


def redact(text: str, hide: Iterable[object] = ()) -> str:
    """`text` without the values in `hide` (as they are, or URL-encoded) and without the value
    of any `secret=`, `code=`, `access_token=` ... it quotes."""
    values: set[str] = set()
    for value in hidden(hide):
        values.update((value, quote(value, safe=""), quote_plus(value)))
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, REDACTED)
    return SECRET_PAIR.sub(redacted_pair, text)


def redacted_pair(found: re.Match[str]) -> str:
    name, separator, value = found.group(1, 2, 3) if found[1] else found.group(4, 5, 6)
    return found[0] if value == REDACTED else f"{name}{separator}{REDACTED}"


def shorten(text: str, limit: int = MAX_WORDS) -> str:
    """On one line, whitespace collapsed, at most `limit` characters (cut with "…")."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def provider_words(value: Any, hide: Iterable[object] = ()) -> str:
    """The provider's own description, fit for a message: "" when it is not a string."""
    return shorten(redact(value, hide)) if isinstance(value, str) else ""


def scrubbed(exc: ProviderError, hide: Iterable[object]) -> ProviderError:
    """The error with `hide` and secret parameters cut out of its message, and a reason code
    that spells one of them replaced (the reason is a word from the provider's answer)."""
    values = hidden(hide)
    code = exc.code
    squeezed = re.sub(r"[^a-z0-9]+", "", code.lower())
    for value in values:
        letters = re.sub(r"[^a-z0-9]+", "", value.lower())
        if value in code or (len(letters) >= MIN_HIDDEN and letters in squeezed):
            code = "provider_error"
    message = shorten(redact(exc.message, values), limit=2 * MAX_WORDS)
    if (code, message) == (exc.code, exc.message):
        return exc
    return ProviderError(code, message)


TOKEN_FIELDS = ("access_token", "refresh_token", "id_token")


def tokens_in(grant: Any, depth: int = 3) -> list[str]:
    """The tokens in a token response, wherever it wraps them ({"data": {...}})."""
    if not isinstance(grant, dict) or depth == 0:
        return []
    found = [v for k in TOKEN_FIELDS if isinstance(v := grant.get(k), str)]
    for value in grant.values():
        if isinstance(value, dict):
            found.extend(tokens_in(value, depth - 1))
    return found


# --- what httpx logs ------------------------------------------------------------------------------

URL_IN_TEXT = re.compile(
    r"(?i)\b([a-z][a-z0-9+.\-]*://)(?:[^\s/?#@\"'<>]*@)?([^\s?#\"'<>]*)(?:\?[^\s#\"'<>]*)?"
)


class QueryFreeURLs(logging.Filter):
    """Rewrites a log record's text so that no URL in it keeps a query string or user info.
    httpx logs every request it sends ("HTTP Request: GET https://...?appid=&secret=&code=")
    at INFO, and WeChat's token URL carries the app secret and the code."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except (TypeError, ValueError):  # a broken record: logging reports it itself
            return True
        cleaned = URL_IN_TEXT.sub(r"\1\2", text)
        if cleaned != text:
            record.msg, record.args = cleaned, None
        return True


GUARDED_LOGGERS = ("httpx",)


def guard_upstream_logs() -> None:
    """Install QueryFreeURLs on httpx's logger, once per process; the relay calls it when it is
    built, so an application that embeds it (whatever its logging setup) gets it too."""
    for name in GUARDED_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, QueryFreeURLs) for f in logger.filters):
            logger.addFilter(QueryFreeURLs())
