"""The upstream face: one adapter per provider kind behind the Provider protocol.

sandbox   the built-in provider (relay/sandbox), standard OAuth 2.0
wechat    WeChat Official Account webpage authorization (in-app OAuth)
tiktok    TikTok Login Kit v2
mixin     Mixin Messenger OAuth
oauth2    any OAuth 2.0 provider, its dialect described in the configuration
oidc      any OpenID Connect provider, from its discovery document
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module

import httpx

from relay.errors import ConfigError
from relay.providers.base import AppOnly, Provider, Trip, UpstreamGrant
from relay.settings import ProviderConfig

__all__ = ["AppOnly", "Provider", "Trip", "UpstreamGrant", "build_provider", "build_providers"]

# kind -> "module:class"; imported when a configuration uses the kind.
ADAPTERS = {
    "sandbox": "relay.providers.sandbox:SandboxProvider",
    "wechat": "relay.providers.wechat:WeChatProvider",
    "tiktok": "relay.providers.tiktok:TikTokProvider",
    "mixin": "relay.providers.mixin:MixinProvider",
    "oauth2": "relay.providers.oauth2:OAuth2Provider",
    "oidc": "relay.providers.oidc:OIDCProvider",
}

AdapterFactory = Callable[[ProviderConfig, httpx.AsyncClient, str], Provider]


def build_provider(config: ProviderConfig, http: httpx.AsyncClient, issuer: str) -> Provider:
    """The adapter for one `[providers.NAME]`; ConfigError when its options are wrong."""
    if config.kind not in ADAPTERS:
        raise ConfigError(f"providers.{config.name}.kind", f'kind "{config.kind}" is unknown')
    module, _, cls = ADAPTERS[config.kind].partition(":")
    factory: AdapterFactory = getattr(import_module(module), cls)
    return factory(config, http, issuer)


def build_providers(
    configs: Mapping[str, ProviderConfig], http: httpx.AsyncClient, issuer: str
) -> dict[str, Provider]:
    return {name: build_provider(config, http, issuer) for name, config in configs.items()}
