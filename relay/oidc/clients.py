"""Client authentication at a token endpoint (RFC 6749 §2.3.1): client_secret_basic or
client_secret_post. Used by the relay's /token and by the sandbox provider's."""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable
from urllib.parse import unquote

from starlette.requests import Request

from relay.errors import InvalidClient, InvalidRequest
from relay.params import Params


class BasicAuthFailed(InvalidClient):
    """invalid_client after HTTP Basic was tried: the answer carries WWW-Authenticate (§5.2)."""


def basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":  # a bare "Basic" is a Basic attempt too (§5.2)
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except ValueError:  # binascii.Error, UnicodeDecodeError, and non-ASCII input
        raise BasicAuthFailed("the Basic authorization header is malformed") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise BasicAuthFailed("the Basic authorization header is malformed")
    # RFC 6749 §2.3.1: both halves are form-urlencoded before the Basic encoding.
    return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))


def authenticate_client(
    request: Request, params: Params, secret_of: Callable[[str], str | None]
) -> str:
    """The authenticated client_id. client_secret_basic or client_secret_post, exactly one of
    them; `secret_of(client_id)` gives the registered secret, None for an unknown client."""
    basic = basic_credentials(request)
    posted_secret = params.get("client_secret")
    posted_id = params.get("client_id")
    if basic is not None:
        if posted_secret is not None:
            raise InvalidRequest("use one client authentication method, not Basic and the body")
        client_id, secret = basic
        if posted_id is not None and posted_id != client_id:
            raise BasicAuthFailed("client_id in the body differs from the Basic credentials")
        failure: type[InvalidClient] = BasicAuthFailed
    else:
        if posted_id is None or posted_secret is None:
            raise InvalidClient("client authentication is required (client_secret_basic or _post)")
        client_id, secret = posted_id, posted_secret
        failure = InvalidClient
    registered = secret_of(client_id)
    # Compare in constant time, and compare something even for an unknown client.
    expected = registered if registered is not None else "-" * 32
    if not hmac.compare_digest(secret.encode(), expected.encode()) or registered is None:
        raise failure("client authentication failed")
    return client_id
