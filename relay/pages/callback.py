"""GET /callback/{provider}: the phone returns from the provider.

The parameters are checked before anything changes; then the upstream state is consumed (single
use), the code is exchanged over HTTP, the identity read, and the session moved to confirmed, or
to denied or failed with a reason code. The phone sees the outcome, never a 500: an adapter
that breaks on an answer nobody foresaw fails the session with `internal_error`.

Every ProviderError passes through one redaction step (`scrubbed`) before it is logged or shown:
the provider's client secret, the code, the PKCE verifier and any token the provider gave are cut
out of its message, whatever the adapter already did.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from relay.core import Relay
from relay.errors import InvalidRequest, ProviderError
from relay.i18n import Text, _
from relay.observability.context import bind_session
from relay.pages.binding import callback_cookie, forget, holds
from relay.pages.outcomes import DENIED_BY_USER, could_not_sign_in, declined_at
from relay.pages.phone import outcome_page, trip_of, upstream_key
from relay.params import query_params
from relay.providers import Provider
from relay.providers._dialect import reason_of
from relay.providers.base import scrubbed, shorten, tokens_in
from relay.sessions import LoginSession, Status
from relay.templating import message_page

log = logging.getLogger("relay.callback")

MAX_DETAIL = 160  # characters of the error's message shown to people
INTERNAL_ERROR = ProviderError("internal_error", "the relay could not handle the provider's answer")


def bad_callback(request: Request, detail: Text) -> Response:
    return message_page(
        request,
        _("This sign-in link is not valid"),
        _("%(detail)s Scan the QR code again.", detail=detail),
        status_code=400,
        tone="error",
    )


async def callback(request: Request) -> Response:
    relay: Relay = request.app.state.relay
    name = request.path_params["provider"]
    provider = relay.providers.get(name)
    if provider is None:
        return message_page(request, _("Unknown provider"), None, status_code=404, tone="error")
    try:
        params = query_params(request)
        state = params.require("state", max_chars=256)
        code = params.get("code", max_chars=2048)
        error = params.get("error", max_chars=256)
        description = params.get("error_description", max_chars=1024)
    except InvalidRequest as exc:
        return bad_callback(
            request,
            _("The provider's answer is malformed (%(problem)s).", problem=exc.description),
        )
    if code is None and error is None:
        if not provider.denial_without_code:
            return bad_callback(
                request, _("The provider's answer has neither a code nor an error.")
            )
        error = "access_denied"  # WeChat comes back with only the state when the user refuses

    upstream = await relay.store.consume(upstream_key(state))
    if upstream is None or upstream["provider"] != name:
        return message_page(
            request,
            _("This sign-in link has expired or was used"),
            # The login is not known here (its state is gone): a computer's or a device's.
            _("Scan the QR code again."),
            status_code=400,
            tone="warning",
        )
    if not holds(request, callback_cookie(relay, state), upstream["browser_hash"]):
        # Someone else's trip to the provider (a forwarded link): it must not sign in the
        # person who started it. Consuming the state above already ended that trip.
        return message_page(
            request,
            _("Finish this sign-in on the phone that scanned the code"),
            _(
                "This answer from the provider belongs to a sign-in started in another browser. "
                "Nothing was shared. If you started it, scan the QR code again."
            ),
            status_code=403,
            tone="error",
        )
    response = await finish(request, relay, provider, upstream, code, error, description)
    forget(response, relay, callback_cookie(relay, state))
    return response


async def finish(
    request: Request,
    relay: Relay,
    provider: Provider,
    upstream: dict[str, Any],
    code: str | None,
    error: str | None,
    description: str | None,
) -> Response:
    bind_session(upstream["session_id"])  # for this request's log lines; the path has none
    session = await relay.sessions.find(upstream["session_id"])
    if session is None:
        return bad_callback(request, _("The sign-in it belongs to has ended."))
    if session.status is not Status.SCANNED:
        return outcome_page(request, session)

    config = relay.settings.providers.get(provider.name)
    # What a provider's words may quote back: its secret, the code, and what the relay sent it
    # (an error redirect can quote the request it refuses: the state, the nonce).
    hide: list[str | None] = [
        config.client_secret if config else None,
        code,
        *(upstream.get(name) for name in ("state", "code_verifier", "nonce")),
    ]
    try:
        if error is not None:
            raise ProviderError(reason_of(error), description or f"the provider answered {error}")
        assert code is not None
        trip = trip_of(upstream)
        grant = await provider.exchange_code(code, trip)
        hide.extend(tokens_in(grant))
        identity = await provider.fetch_identity(grant, trip)
    except ProviderError as exc:
        failure = scrubbed(exc, hide)
    except Exception as exc:  # the last resort: a clear page, never a 500
        log_unexpected(session, provider, exc)
        failure = INTERNAL_ERROR
    else:
        return outcome_page(request, await relay.sessions.confirm(session, identity))
    session = await settle_failure(relay, session, provider, failure)
    return outcome_page(request, session)


def log_unexpected(session: LoginSession, provider: Provider, exc: Exception) -> None:
    """For the operator: the exception's type and where it was raised, without its message or
    any value (they may quote the provider's answer, a code or a token)."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error(
        "login %s… at %s: internal_error: %s raised while handling the provider's answer\n%s",
        session.id[:8],
        provider.name,
        type(exc).__name__,
        frames.rstrip(),
    )


async def settle_failure(
    relay: Relay, session: LoginSession, provider: Provider, exc: ProviderError
) -> LoginSession:
    """denied when the user said no at the provider, failed otherwise; the message is for the
    person on both screens (`exc` has been through `scrubbed`)."""
    # For the operator: which provider, which reason, the provider's own words (a TikTok log_id,
    # a WeChat errcode), without the secret, the code or tokens.
    log.warning("login %s… at %s: %s", session.id[:8], provider.name, exc)
    if exc.code in DENIED_BY_USER:
        target = Status.DENIED
        message = declined_at(provider.display_name).english()
    else:
        target = Status.FAILED
        detail = shorten(exc.message, MAX_DETAIL)
        message = could_not_sign_in(provider.display_name, f"{exc.code}: {detail}").english()
    return await relay.sessions.settle(session, target, reason=exc.code, message=message)
