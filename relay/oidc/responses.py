"""Answers of the client face: redirects back to the relying party, and JSON errors."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

from starlette.responses import JSONResponse, RedirectResponse

from relay.errors import OAuthError

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

# RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3: error_description is printable ASCII without '"' and '\'.
DESCRIPTION_CHARS = frozenset(chr(c) for c in range(0x20, 0x7F)) - {'"', "\\"}


def description_text(text: str) -> str:
    """`text` within the characters an error_description may hold: a double quote becomes a
    single one, anything else outside the set a "?". Messages are written within it; this keeps
    an echoed value (a client's parameter) from breaking the rule or a WWW-Authenticate header."""
    text = text.replace('"', "'")
    return "".join(c if c in DESCRIPTION_CHARS else "?" for c in text) or "?"


def with_query(uri: str, params: dict[str, str | None]) -> str:
    """Add `params` to `uri`, keeping the query it already has (RFC 6749 §3.1.2)."""
    parts = urlsplit(uri)
    extra = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def redirect_to_client(
    redirect_uri: str, issuer: str, params: dict[str, str | None], *, after_post: bool = False
) -> RedirectResponse:
    """An authorization response: always carries iss (RFC 9207). After a POST it is a 303, so
    the browser does not resend the form to the client (RFC 9700 §4.11)."""
    location = with_query(redirect_uri, {**params, "iss": issuer})
    return RedirectResponse(
        location, status_code=303 if after_post else 302, headers={"Cache-Control": "no-store"}
    )


def error_redirect(
    redirect_uri: str,
    issuer: str,
    error: OAuthError,
    state: str | None,
    *,
    after_post: bool = False,
) -> RedirectResponse:
    """RFC 6749 §4.1.2.1: the error goes back to the client's registered redirect_uri."""
    return redirect_to_client(
        redirect_uri,
        issuer,
        {
            "error": error.error,
            "error_description": description_text(error.description),
            "state": state,
        },
        after_post=after_post,
    )


def error_json(error: OAuthError, headers: dict[str, str] | None = None) -> JSONResponse:
    """RFC 6749 §5.2. A 401 (invalid_client) always names the Basic scheme: RFC 6749 §5.2 asks
    for it when Basic was tried, and RFC 9110 §15.5.2 for every 401."""
    extra = dict(headers or {})
    if error.status_code == 401:
        extra.setdefault("WWW-Authenticate", 'Basic realm="token", charset="UTF-8"')
    return JSONResponse(
        {"error": error.error, "error_description": description_text(error.description)},
        status_code=error.status_code,
        headers={**NO_STORE, **extra},
    )
