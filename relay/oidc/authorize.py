"""The authorization endpoint (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2).

The request goes through an ordered list of small checks. The first two (the client, then the
redirect_uri) decide whether the relying party can be trusted with a redirect; until both pass,
an error is shown as a page and never redirected (RFC 6749 §4.1.2.1, RFC 9700 §4.1). Every later
error goes back to the redirect_uri with error, error_description, state and iss.

A client with a `kiosk_key` is its kiosk's: its logins start at its kiosk page (relay/kiosk/) or
with the device flow, both of which need the screen in front of the person. Here it is refused
(unauthorized_client): its codes would otherwise be had from anywhere, as from home, and handed to
the kiosk's application as if someone had stood at the kiosk (attendance, a door).

Once the request is valid a LoginSession starts, the browser gets its binding cookie, and it is
sent (303) to the login page at /sessions/{id}, which reloads safely.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from relay.core import Relay
from relay.errors import InvalidRequest, OAuthError, UnauthorizedClient, UnsupportedResponseType
from relay.i18n.negotiation import clean_ui_locales
from relay.oidc.discovery import SCOPES_SUPPORTED
from relay.oidc.responses import error_redirect
from relay.pages.login import start_login
from relay.params import Params, form_params, query_params
from relay.sessions import AuthorizationRequest
from relay.settings import ClientConfig
from relay.templating import render

S256_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")  # base64url of a SHA-256 digest, no padding
MAX_NONCE_CHARS = 512


class LoginRequired(OAuthError):
    """OpenID Connect Core §3.1.2.6: prompt=none, but a QR login always needs the user."""

    error = "login_required"


class RequestNotSupported(OAuthError):
    error = "request_not_supported"


class RequestUriNotSupported(OAuthError):
    error = "request_uri_not_supported"


class ProviderChoiceNeeded(Exception):
    """Not an error: the client allows several providers and the request named none."""


@dataclass
class Checked:
    """What the checks have established so far."""

    params: Params
    client: ClientConfig | None = None
    redirect_uri: str | None = None
    redirect_uri_given: bool = False  # RFC 6749 §4.1.3: then /token must repeat it
    state: str | None = None


# --- the checks that must pass before any redirect -------------------------------------------


def check_client(relay: Relay, checked: Checked) -> None:
    client_id = checked.params.require("client_id")
    client = relay.settings.clients.get(client_id)
    if client is None:
        raise InvalidRequest(f'unknown client_id "{client_id[:64]}"')
    checked.client = client


def check_redirect_uri(relay: Relay, checked: Checked) -> None:
    assert checked.client is not None
    registered = checked.client.redirect_uris
    given = checked.params.get("redirect_uri")
    if given is None:
        if len(registered) != 1:
            raise InvalidRequest("redirect_uri is required: this client registers several")
        checked.redirect_uri = registered[0]
    elif given in registered:  # exact string comparison, RFC 9700 §2.1
        checked.redirect_uri = given
        checked.redirect_uri_given = True
    else:
        raise InvalidRequest("redirect_uri is not registered for this client")


# --- the checks whose errors go back to the client --------------------------------------------


def check_state(checked: Checked) -> None:
    checked.state = checked.params.get("state")


def check_not_kiosk(checked: Checked) -> None:
    """A kiosk page's client: not from here (see the module's docstring)."""
    assert checked.client is not None
    if checked.client.kiosk_key:
        raise UnauthorizedClient(
            "this client is a kiosk: its sign-ins start at its kiosk page or with the device flow"
        )


def check_response_type(checked: Checked) -> None:
    response_type = checked.params.get("response_type")
    if response_type is None:
        raise InvalidRequest("response_type is missing")
    if response_type != "code":
        raise UnsupportedResponseType('only response_type "code" is supported')


def check_request_objects(checked: Checked) -> None:
    """OpenID Connect Core §6: neither is supported, and neither may be ignored (§3.1.2.6);
    discovery says so (request_parameter_supported, request_uri_parameter_supported false).
    A request_uri is never fetched."""
    if "request" in checked.params:
        raise RequestNotSupported("request objects are not supported")
    if "request_uri" in checked.params:
        raise RequestUriNotSupported("request_uri is not supported")


def check_prompt(checked: Checked) -> None:
    prompt = (checked.params.get("prompt") or "").split()
    if "none" in prompt:
        raise LoginRequired("a QR login needs the user; prompt=none cannot be satisfied")


def check_scope(checked: Checked) -> tuple[str, ...]:
    """Known scopes are kept, unknown ones ignored; openid is needed for an id_token."""
    requested = (checked.params.get("scope") or "").split()
    return tuple(dict.fromkeys(s for s in requested if s in SCOPES_SUPPORTED))


def check_pkce(checked: Checked) -> str | None:
    """RFC 7636 §4.3, RFC 9700 §2.1.1: S256 only; a missing method means plain, refused."""
    challenge = checked.params.get("code_challenge")
    method = checked.params.get("code_challenge_method")
    if challenge is None:
        if method is not None:
            raise InvalidRequest("code_challenge_method given without code_challenge")
        return None
    if method != "S256":
        raise InvalidRequest("code_challenge_method must be S256 (plain is not allowed)")
    if not S256_CHALLENGE.fullmatch(challenge):
        raise InvalidRequest("code_challenge must be 43 base64url characters (S256)")
    return challenge


def check_nonce(checked: Checked) -> str | None:
    return checked.params.get("nonce", max_chars=MAX_NONCE_CHARS)


def check_ui_locales(checked: Checked) -> str | None:
    """OpenID Connect Core §3.1.2.1: the languages of the pages, a hint kept with the login
    (relay/i18n/negotiation.py); languages the relay does not speak are no error."""
    return clean_ui_locales(checked.params.get("ui_locales"))


def check_provider(checked: Checked) -> str:
    assert checked.client is not None
    allowed = checked.client.providers
    provider = checked.params.get("provider")
    if provider is None:
        if len(allowed) == 1:
            return allowed[0]
        raise ProviderChoiceNeeded
    if provider not in allowed:
        raise InvalidRequest(f"provider {provider[:64]} is not enabled for this client")
    return provider


# --- the endpoint -----------------------------------------------------------------------------


async def authorize(request: Request) -> Response:
    relay: Relay = request.app.state.relay
    checked = None
    try:
        params = query_params(request) if request.method == "GET" else await form_params(request)
        checked = Checked(params)
        check_client(relay, checked)
        check_redirect_uri(relay, checked)
    except OAuthError as error:
        # The page is for people; the error and its description are for the app's engineers
        # and stay English.
        return render(
            request,
            "authorize_error.html",
            {"error": error.error, "description": error.description},
            status_code=400,
            ui_locales=dict(checked.params.items()).get("ui_locales") if checked else None,
        )
    assert checked.client is not None and checked.redirect_uri is not None
    posted = request.method == "POST"
    try:
        check_state(checked)
    except OAuthError as error:  # a repeated or malformed state cannot be echoed back
        return error_redirect(
            checked.redirect_uri, relay.settings.issuer, error, None, after_post=posted
        )
    try:
        # A kiosk's client first: whatever else the request says, it may not start here. Then
        # request objects: a request made as JAR allows (RFC 9101 §5) carries response_type
        # inside the object only, and the client must learn that objects are refused, not that
        # response_type is missing.
        check_not_kiosk(checked)
        check_request_objects(checked)
        check_response_type(checked)
        check_prompt(checked)
        scope = check_scope(checked)
        code_challenge = check_pkce(checked)
        nonce = check_nonce(checked)
        ui_locales = check_ui_locales(checked)
        provider = check_provider(checked)
    except OAuthError as error:
        return error_redirect(
            checked.redirect_uri, relay.settings.issuer, error, checked.state, after_post=posted
        )
    except ProviderChoiceNeeded:
        return provider_picker(request, relay, checked)

    auth_request = AuthorizationRequest(
        client_id=checked.client.client_id,
        redirect_uri=checked.redirect_uri,
        redirect_uri_given=checked.redirect_uri_given,
        scope=scope,
        provider=provider,
        state=checked.state,
        nonce=nonce,
        code_challenge=code_challenge,
        ui_locales=ui_locales,
    )
    _, response = await start_login(request, relay, auth_request)
    return response


def provider_picker(request: Request, relay: Relay, checked: Checked) -> Response:
    assert checked.client is not None
    base = [(k, v) for k, v in checked.params.items() if k != "provider"]
    choices = [
        {
            "name": name,
            "display_name": relay.providers[name].display_name,
            "href": "/authorize?" + urlencode([*base, ("provider", name)]),
        }
        for name in checked.client.providers
    ]
    return render(
        request,
        "picker.html",
        {"client": checked.client, "choices": choices},
        ui_locales=dict(checked.params.items()).get("ui_locales"),
    )
