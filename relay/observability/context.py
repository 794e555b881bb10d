"""The request id and the session id that every log line of a request carries.

Both live in contextvars: the access middleware sets them when a request comes in and resets
them when it is over (an in-process request, such as a test's loop back into the relay, puts
back the ids of the request that made it). A handler that learns which session it serves from
something other than its path (the scan ticket, the callback's state) names it with
`bind_session`.
"""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar

REQUEST_ID: ContextVar[str | None] = ContextVar("relay_request_id", default=None)
SESSION_ID: ContextVar[str | None] = ContextVar("relay_session_id", default=None)

# An id a proxy or a client sent, kept when it is plain enough to be safe in a log line and a
# header; anything else is replaced, never trimmed or escaped.
GIVEN_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")

# Paths whose route names the session: /sessions/{id}..., /phone/{id}... (ids as in
# relay.pages.binding.URL_TOKEN).
SESSION_IN_PATH = re.compile(r"/(?:sessions|phone)/([A-Za-z0-9_-]{16,64})(?:/|$)")


def request_id_from(given: str | None) -> str:
    """The id a request is logged under: the `X-Request-ID` it came with when that is 8 to 64
    of [A-Za-z0-9._-], otherwise a new one."""
    if given is not None and GIVEN_REQUEST_ID.fullmatch(given):
        return given
    return secrets.token_hex(8)


def session_in_path(path: str) -> str | None:
    found = SESSION_IN_PATH.match(path)
    return found.group(1) if found else None


def bind_session(session_id: str) -> None:
    """Name the login session the current request serves, for its remaining log lines and its
    access line."""
    SESSION_ID.set(session_id)
