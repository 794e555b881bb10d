"""LoginSession, its statuses and the allowed transitions (shared/DESIGN.md).

::

    pending --> scanned --> confirmed --> completed
       |           |            |
       +-----------+------------+--> expired      (TTL passed)
       +-----------+--> cancelled                 (the desktop gave up)
       +-----------+--> denied                    (the user or the provider said no)
       +-----------+--> failed                    (upstream error; carries a reason code)

Everything here is plain data: `to_record()` gives a JSON-serialisable dict, `from_record()` reads
one back, so any store can keep it unchanged.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PENDING = "pending"
    SCANNED = "scanned"
    CONFIRMED = "confirmed"
    COMPLETED = "completed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    DENIED = "denied"
    FAILED = "failed"


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset(
        {Status.SCANNED, Status.EXPIRED, Status.CANCELLED, Status.DENIED, Status.FAILED}
    ),
    Status.SCANNED: frozenset(
        {Status.CONFIRMED, Status.EXPIRED, Status.CANCELLED, Status.DENIED, Status.FAILED}
    ),
    Status.CONFIRMED: frozenset({Status.COMPLETED, Status.EXPIRED}),
    Status.COMPLETED: frozenset(),
    Status.EXPIRED: frozenset(),
    Status.CANCELLED: frozenset(),
    Status.DENIED: frozenset(),
    Status.FAILED: frozenset(),
}

FINAL = frozenset(status for status, targets in TRANSITIONS.items() if not targets)


@dataclass(frozen=True)
class AuthorizationRequest:
    """What the relying party asked for at /authorize, validated. Kept so that an expired QR can be
    replaced by a fresh session for the same request."""

    client_id: str
    redirect_uri: str
    redirect_uri_given: bool  # RFC 6749 §4.1.3: then /token must repeat it
    scope: tuple[str, ...]
    provider: str
    state: str | None = None
    nonce: str | None = None
    code_challenge: str | None = None
    # OIDC Core §3.1.2.1: the languages the relying party asked its pages in, kept so that
    # every page of the login speaks one of them (relay/i18n/negotiation.py).
    ui_locales: str | None = None

    def to_record(self) -> dict[str, Any]:
        record = dataclasses.asdict(self)
        record["scope"] = list(self.scope)
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> AuthorizationRequest:
        # Keys this version does not know are left out: a record written by a newer process
        # (during a rolling upgrade, on a shared Redis) still reads.
        if not isinstance(record, dict):
            raise TypeError(f"an authorization request is a table, not {type(record).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in record.items() if k in known}
        return cls(**{**values, "scope": tuple(record["scope"])})


@dataclass(frozen=True)
class Identity:
    """Who signed in at the provider. `subject` is the provider's stable user id."""

    provider: str
    subject: str
    name: str | None = None
    picture: str | None = None
    preferred_username: str | None = None

    @property
    def sub(self) -> str:
        """The relay's subject: stable per provider user."""
        return f"{self.provider}:{self.subject}"

    def to_record(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Identity:
        return cls(**record)


@dataclass(frozen=True)
class LoginSession:
    id: str
    request: AuthorizationRequest
    status: Status
    created_at: float
    updated_at: float
    expires_at: float
    binding_hash: str  # SHA-256 of the desktop's binding cookie
    ticket_key: str  # the key of the scan tickets inside the QR (relay/sessions/tickets.py)
    phone_hash: str | None = None  # SHA-256 of the phone's cookie, once scanned
    # Scanned by the browser that started it (POST /sessions/{id}/here, not the QR): then that
    # browser finishes the login itself after the provider (relay/pages/same_device.py).
    same_device: bool = False
    desktop_ip: str | None = None  # who asked, as the phone is told (relay/crossdevice/)
    desktop_agent: str | None = None
    match_code: int | None = None  # the number on the screen, with match_code = true
    match_choices: tuple[int, ...] = ()  # the numbers the phone offers
    identity: Identity | None = None
    auth_time: float | None = None
    reason: str | None = None  # machine word on failed/denied (access_denied, invalid_code, ...)
    message: str | None = None  # the same for people

    @property
    def final(self) -> bool:
        return self.status in FINAL

    def to_record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "request": self.request.to_record(),
            "status": self.status.value,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "expires_at": self.expires_at,
            "binding_hash": self.binding_hash,
            "ticket_key": self.ticket_key,
            "phone_hash": self.phone_hash,
            "same_device": self.same_device,
            "desktop_ip": self.desktop_ip,
            "desktop_agent": self.desktop_agent,
            "match_code": self.match_code,
            "match_choices": list(self.match_choices),
            "identity": self.identity.to_record() if self.identity else None,
            "auth_time": self.auth_time,
            "reason": self.reason,
            "message": self.message,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> LoginSession:
        identity = record.get("identity")
        return cls(
            id=record["id"],
            request=AuthorizationRequest.from_record(record["request"]),
            status=Status(record["status"]),
            created_at=record["created_at"],
            updated_at=record["updated_at"],
            expires_at=record["expires_at"],
            binding_hash=record["binding_hash"],
            ticket_key=record["ticket_key"],
            phone_hash=record.get("phone_hash"),
            # Absent from records written before the field: those logins went by the QR.
            same_device=record.get("same_device") is True,
            desktop_ip=record.get("desktop_ip"),
            desktop_agent=record.get("desktop_agent"),
            match_code=record.get("match_code"),
            match_choices=tuple(record.get("match_choices") or ()),
            identity=Identity.from_record(identity) if identity else None,
            auth_time=record.get("auth_time"),
            reason=record.get("reason"),
            message=record.get("message"),
        )
