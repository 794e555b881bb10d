"""Relays with low limits of their own."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest

from tests.conftest import NO_RATE_LIMITS
from tests.flows import Relay

LimitedRelay = Callable[..., Awaitable[Relay]]


@pytest.fixture
async def limited_relay(relay_from: Callable[..., Relay]) -> LimitedRelay:
    """`await limited_relay(authorize="2/hour")`: an in-process relay whose rate limits are
    off but for those given (`[limits]` keys); `settings_overrides` replaces other Settings."""

    async def make(settings_overrides: dict[str, Any] | None = None, **limits: Any) -> Relay:
        return relay_from(limits=replace(NO_RATE_LIMITS, **limits), **(settings_overrides or {}))

    return make
