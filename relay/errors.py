"""Typed errors of the relay.

::

    RelayError
    ├── OAuthError                 carries the RFC 6749 `error` code as a class attribute
    │   ├── InvalidRequest         invalid_request
    │   ├── InvalidClient          invalid_client (401 at the token endpoint)
    │   ├── InvalidGrant           invalid_grant
    │   ├── UnsupportedGrantType   unsupported_grant_type
    │   ├── UnsupportedResponseType unsupported_response_type
    │   ├── UnauthorizedClient     unauthorized_client
    │   ├── InvalidScope           invalid_scope
    │   ├── AccessDenied           access_denied
    │   ├── AuthorizationPending   authorization_pending (RFC 8628 §3.5, the device grant)
    │   ├── SlowDown               slow_down (RFC 8628 §3.5)
    │   ├── ExpiredToken           expired_token (RFC 8628 §3.5)
    │   └── InvalidToken           invalid_token (RFC 6750 §3.1, the userinfo endpoint)
    ├── ProviderError              an upstream identity provider said no or broke
    ├── StoreUnavailable           the store (Redis) cannot be reached: answer 503, retry later
    ├── SealError                  a sealed store field does not open (relay/store/sealed.py)
    ├── InvalidTransition          a login session cannot move from its status to the asked one
    ├── SessionNotFound            no such login session (unknown or past its TTL)
    └── ConfigError                the configuration file is wrong; names the key
"""

from __future__ import annotations


class RelayError(Exception):
    """Base of every error the relay raises on purpose."""


class OAuthError(RelayError):
    """An OAuth 2.0 error response (RFC 6749 §4.1.2.1 and §5.2)."""

    error = "invalid_request"
    status_code = 400

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class InvalidRequest(OAuthError):
    """The request is missing a required parameter, repeats one, or is otherwise malformed."""

    error = "invalid_request"


class InvalidClient(OAuthError):
    """Client authentication failed (RFC 6749 §5.2): unknown client, wrong or missing secret."""

    error = "invalid_client"
    status_code = 401


class InvalidGrant(OAuthError):
    """The code is invalid, expired, used, or was issued to another client or redirect_uri."""

    error = "invalid_grant"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class UnauthorizedClient(OAuthError):
    """RFC 6749 §5.2: the authenticated client may not use this grant (the device grant needs
    `kiosk = true`)."""

    error = "unauthorized_client"


class InvalidScope(OAuthError):
    """RFC 6749 §5.2: the requested scope is malformed (RFC 6749 §3.3 scope-token)."""

    error = "invalid_scope"


class AccessDenied(OAuthError):
    error = "access_denied"


class AuthorizationPending(OAuthError):
    """RFC 8628 §3.5: the user has not finished at the verification URI yet; poll again after
    the interval."""

    error = "authorization_pending"


class SlowDown(OAuthError):
    """RFC 8628 §3.5: still pending, and polled sooner than the interval allows; the interval
    grows by 5 seconds for this and every later request."""

    error = "slow_down"


class ExpiredToken(OAuthError):
    """RFC 8628 §3.5: the device_code has expired; start a new device authorization."""

    error = "expired_token"


class InvalidToken(OAuthError):
    """RFC 6750 §3.1: the access token is expired, revoked, malformed or unknown."""

    error = "invalid_token"
    status_code = 401


class ProviderError(RelayError):
    """An upstream provider answered with an error (or could not be reached).

    `code` is a short machine word kept on the failed session as its reason
    (`access_denied`, `invalid_code`, `provider_unreachable`, ...).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class StoreUnavailable(RelayError):
    """The shared store does not answer. Pages answer 503 "temporarily unavailable", the token
    endpoint `temporarily_unavailable`, websockets close with 1013 (try again later)."""


class InvalidTransition(RelayError):
    """A login session was asked to move along an edge the state machine does not have,
    or another process moved it first (the compare-and-set lost)."""

    def __init__(self, session_id: str, current: str, expected: str, target: str) -> None:
        self.session_id = session_id
        self.current = current
        self.expected = expected
        self.target = target
        if current != expected:
            message = (
                f'Cannot move login session {session_id[:8]}… from "{expected}" to "{target}": '
                f'it is "{current}" now.'
            )
        else:
            message = (
                f'Cannot move login session {session_id[:8]}… from "{current}" to "{target}": '
                "the state machine has no such transition."
            )
        super().__init__(message)


class SessionNotFound(RelayError):
    def __init__(self, session_id: str) -> None:
        super().__init__(f"No login session {session_id[:8]}… (unknown, or past its TTL).")
        self.session_id = session_id


class ConfigError(RelayError):
    """The configuration is wrong. The message names the key and the problem."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}" if key else problem)
        self.key = key
        self.problem = problem
