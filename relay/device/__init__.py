"""The device authorization grant (RFC 8628): sign in on a screen without a browser.

::

    device                         relay                                   phone
      |--POST /device_authorization->| LoginSession(pending), device_code, user_code
      |<--device_code, user_code, verification_uri(_complete), interval--|
      | shows the user_code (or the QR of verification_uri_complete)
      |                              |<------GET /device?user_code=... ------| (or types it)
      |                              |-------"Is BCDF-GHJK on the screen?"-->|
      |                              |<------Yes, continue-------------------|  pending -> scanned
      |                              |  ... the ordinary QR login: /phone/{id}, provider, callback
      |--POST /token (device_code)-->| authorization_pending | slow_down | access_denied |
      |   every `interval` seconds   | expired_token | the tokens (confirmed -> completed)
      |==WS /device/{code}/live=====>| or: wait here, told the moment the phone confirms

    authorization.py   POST /device_authorization: the client asks, a login starts
    user_codes.py      the code a person types: drawing, normalising, showing
    records.py         the store records that find a login by device_code and by user_code
    verification.py    /device: the phone page where the code is typed and checked (§3.3)
    polling.py         the device_code grant at /token (§3.4, §3.5)
    live.py            WS /device/{device_code}/live: wait without polling (beyond the RFC)

A device login is a LoginSession like any other, with the same state machine, providers and
defences once a phone has it. What differs: nobody holds its desktop cookie (its binding hash is
empty, so /sessions/{id} and its resume refuse every browser), and its redirect_uri is the
DEVICE_REDIRECT marker, never a URL, so no code is ever issued for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from relay.sessions import LoginSession

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"  # RFC 8628 §3.4
# The redirect_uri of a device login's AuthorizationRequest: not a URL, so nothing can ever be
# sent there; it tells the pages that a device, not a browser, waits for this login.
DEVICE_REDIRECT = DEVICE_CODE_GRANT
SLOW_DOWN_STEP = 5  # seconds the interval grows by at each slow_down (RFC 8628 §3.5)


def is_device_login(session: LoginSession) -> bool:
    return session.request.redirect_uri == DEVICE_REDIRECT
