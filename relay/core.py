"""The Relay: everything a request handler needs, built once from Settings.

Handlers reach it as `request.app.state.relay`. It owns the store, the events, the login sessions,
the signing key, the upstream HTTP client and the provider adapters, and closes them on shutdown.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from joserfc.errors import JoseError

from relay.backends import open_backends
from relay.errors import ConfigError
from relay.events import Events
from relay.observability.metrics import Metrics
from relay.oidc.keys import SigningKey
from relay.providers import Provider, build_providers
from relay.providers.base import guard_upstream_logs
from relay.sessions import LoginSessions
from relay.settings import Settings
from relay.store import Store

# Upstream calls: connect within 3 s, the whole request within 10 s.
UPSTREAM_TIMEOUT = httpx.Timeout(10.0, connect=3.0)


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

    async def aclose(self) -> None:
        await self.http.aclose()
        await self.events.close()
        await self.store.close()


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


def build_relay(
    settings: Settings,
    *,
    keys: SigningKey | None = None,
    http_transport: httpx.AsyncBaseTransport | None = None,
) -> Relay:
    if keys is None:
        keys = signing_key(settings)
    store, events = open_backends(settings.store)
    # httpx logs each request's whole URL at INFO, and WeChat's carries the secret and the code:
    # kept out of the logs here, not only by `qr-relay serve`, for an app embedding the relay.
    guard_upstream_logs()
    metrics = Metrics(providers=settings.providers)
    http = httpx.AsyncClient(
        transport=http_transport,
        timeout=UPSTREAM_TIMEOUT,
        headers={"User-Agent": "qr-login-relay"},
        follow_redirects=False,
        event_hooks=metrics.upstream_hooks(),
    )
    return Relay(
        settings=settings,
        store=store,
        events=events,
        sessions=LoginSessions(store, events, ttl=settings.session_ttl, observer=metrics),
        keys=keys,
        http=http,
        providers=build_providers(settings.providers, http, settings.issuer),
        metrics=metrics,
    )
