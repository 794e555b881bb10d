"""The login session: one record per QR login, and the state machine it moves through."""

from relay.sessions.model import (
    FINAL,
    TRANSITIONS,
    AuthorizationRequest,
    Identity,
    LoginSession,
    Status,
)
from relay.sessions.service import LoginSessions

__all__ = [
    "FINAL",
    "TRANSITIONS",
    "AuthorizationRequest",
    "Identity",
    "LoginSession",
    "LoginSessions",
    "Status",
]
