"""The Relay: everything a request handler needs, built once from Settings.

Handlers reach it as `request.app.state.relay`. It owns the store, the events, the login sessions,
the signing key, the upstream HTTP client and the provider adapters, and closes them on shutdown.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from joserfc.errors import JoseError

from relay.abuse.rates import RateLimits
from relay.backends import open_backends, scheme_of
from relay.crossdevice import Locator
from relay.errors import ConfigError
from relay.events import Events
from relay.observability.metrics import Metrics
from relay.observability.server_logs import guard_server_logs
from relay.oidc.keys import SigningKey
from relay.pages.logos import Logos
from relay.providers import Provider, build_providers
from relay.providers.base import guard_upstream_logs
from relay.sessions import LoginSession, LoginSessions
from relay.sessions.service import SessionObserver
from relay.settings import Settings
from relay.store import Store
from relay.store.sealed import SealedStore, Sealer, derive_key

# Upstream calls: connect within 3 s, the whole request within 10 s.
UPSTREAM_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
# An idle upstream connection is dropped after 2 s, before the server at the other end drops it
# (uvicorn, which serves the built-in sandbox, and Node close idle connections after 5 s; httpx's
# own default is also 5 s). Reusing one the server is closing at that moment fails the request
# with a ReadError, and a token request is never retried (its code is single-use): a login
# failed that way in the kiosk browser test, as "provider_unreachable".
UPSTREAM_LIMITS = httpx.Limits(
    max_connections=100, max_keepalive_connections=20, keepalive_expiry=2.0
)


@dataclass
class Relay:
    settings: Settings
    store: Store
    events: Events
    sessions: LoginSessions
    keys: SigningKey
    http: httpx.AsyncClient
    providers: dict[str, Provider]
    metrics: Metrics
    locator: Locator  # coarse location of the desktop's IP for the phone page (geoip_database)
    rate_limits: RateLimits  # [limits]: per IP and per client (relay/abuse/)
    logos: Logos  # the clients' logos, served from the relay's origin (relay/pages/logos.py)

    def on_startup(self) -> None:
        """What begins with the app (its lifespan's startup), in the background: the clients'
        logos are fetched, so that the first login pages have them. Startup does not wait."""
        self.logos.prefetch(self.settings.clients.values())

    async def aclose(self) -> None:
        await self.logos.aclose()  # its fetches use the HTTP client, closed below
        self.locator.close()
        await self.rate_limits.aclose()
        await self.http.aclose()
        await self.events.close()
        await self.store.close()


class SessionObservers:
    """Several SessionObservers as one: the metrics, and the count of logins each request
    starts (relay/abuse/waiting.py)."""

    def __init__(self, *observers: SessionObserver) -> None:
        self.observers = observers

    def started(self, session: LoginSession) -> None:
        for observer in self.observers:
            observer.started(session)

    def moved(self, session: LoginSession) -> None:
        for observer in self.observers:
            observer.moved(session)


def signing_key(settings: Settings) -> SigningKey:
    try:
        if settings.signing_key_pem:
            return SigningKey.from_pem(settings.signing_key_pem)
        if settings.signing_key:
            return SigningKey.load_or_create(settings.signing_key)
    except (ValueError, JoseError) as exc:
        raise ConfigError("signing_key", f"not a usable RSA private key in PEM: {exc}") from None
    except OSError as exc:
        raise ConfigError("signing_key", f"cannot read or create the key file: {exc}") from None
    return SigningKey.generate()


def store_sealer(settings: Settings, keys: SigningKey) -> Sealer:
    """The keys that seal identities and upstream secrets in the store (relay/store/sealed.py):
    `[encryption]` when configured. Without it, the memory store gets a random key (its records
    die with the process anyway), and Redis a key derived from the signing key, which every
    process sharing that key derives alike; its key id follows the signing key's."""
    if scheme_of(settings.store) == "memory" and settings.encryption is None:
        return Sealer.random()
    derived_kid, derived = f"sk-{keys.kid[:16]}", derive_key(keys.private_der())
    if settings.encryption is None:
        return Sealer({derived_kid: derived}, derived_kid)
    # The derived key stays readable after [encryption] is configured, so that moving to
    # configured keys ends no login in progress and no token already issued.
    return Sealer({derived_kid: derived, **settings.encryption.keys}, settings.encryption.current)


def locator(settings: Settings) -> Locator:
    try:
        return Locator(settings.geoip_database)
    except (OSError, ValueError) as exc:  # missing file, or not a MaxMind database
        raise ConfigError("geoip_database", f"cannot open the GeoIP database: {exc}") from None


def build_relay(
    settings: Settings,
    *,
    keys: SigningKey | None = None,
    http_transport: httpx.AsyncBaseTransport | None = None,
) -> Relay:
    if keys is None:
        keys = signing_key(settings)
    store, events = open_backends(settings.store)
    store = SealedStore(store, store_sealer(settings, keys))
    # httpx logs each request's whole URL at INFO, and WeChat's carries the secret and the code:
    # kept out of the logs here, not only by `qr-relay serve`, for an app embedding the relay.
    guard_upstream_logs()
    guard_server_logs()
    metrics = Metrics(providers=settings.providers)
    rate_limits = RateLimits.from_settings(settings, observer=metrics)
    http = httpx.AsyncClient(
        transport=http_transport,
        timeout=UPSTREAM_TIMEOUT,
        limits=UPSTREAM_LIMITS,
        headers={"User-Agent": "qr-login-relay"},
        follow_redirects=False,
        event_hooks=metrics.upstream_hooks(),
    )
    return Relay(
        settings=settings,
        store=store,
        events=events,
        sessions=LoginSessions(
            store,
            events,
            ttl=settings.session_ttl,
            qr_rotate=settings.qr_rotate,
            observer=SessionObservers(metrics, rate_limits.starts),
        ),
        keys=keys,
        http=http,
        providers=build_providers(settings.providers, http, settings.issuer),
        metrics=metrics,
        locator=locator(settings),
        rate_limits=rate_limits,
        logos=Logos(http),
    )
