"""The upstream face: one adapter per provider kind behind the Provider protocol."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from relay.errors import ConfigError
from relay.providers.base import Provider, UpstreamGrant
from relay.providers.sandbox import SandboxProvider
from relay.settings import ProviderConfig

__all__ = ["Provider", "SandboxProvider", "UpstreamGrant", "build_providers"]


def build_providers(
    configs: Mapping[str, ProviderConfig], http: httpx.AsyncClient, issuer: str
) -> dict[str, Provider]:
    providers: dict[str, Provider] = {}
    for name, config in configs.items():
        if config.kind == "sandbox":
            providers[name] = SandboxProvider(config, http, issuer)
        else:
            raise ConfigError(f"providers.{name}.kind", f'kind "{config.kind}" is not supported')
    return providers
