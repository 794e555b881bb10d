"""Which logins a request started, for the limit on waiting logins per IP (`waiting_per_ip`).

The limit is kept as: at most `waiting_per_ip` logins started by one IP address within one
`session_ttl`. A login waits at most `session_ttl`, so that also bounds how many of that
address's logins can be waiting at once, without a count to keep in step with every
completion, cancellation and expiry (in Redis, across processes).

Logins start in /authorize and in /sessions/{id}/refresh (a fresh QR for an expired one). The
guard around those two routes (relay/abuse/guards.py) asks before the handler runs whether one
more login fits, then counts the logins the handler did start: LoginSessions tells its
observers of each new session, and LoginStarts, one of them, notes it for the request that is
running, whichever handler started it and however it got there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from relay.sessions import LoginSession

# The list of the request being counted; each request runs in a context of its own.
_STARTED: ContextVar[list[str] | None] = ContextVar("relay_login_starts", default=None)


class LoginStarts:
    """A SessionObserver: the ids of the sessions started inside `counting()`."""

    @contextmanager
    def counting(self) -> Iterator[list[str]]:
        started: list[str] = []
        token = _STARTED.set(started)
        try:
            yield started
        finally:
            _STARTED.reset(token)

    def started(self, session: LoginSession) -> None:
        started = _STARTED.get()
        if started is not None:
            started.append(session.id)

    def moved(self, session: LoginSession) -> None:
        pass
