"""A relay whose clients "rp" and "tv" are kiosks, and a device of "rp" in front of it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from tests.device.helpers import Device, kiosk_clients
from tests.flows import Relay

# Every logger at DEBUG, every line kept (tests/observability/test_secrets_in_logs.py).
from tests.observability.test_secrets_in_logs import debug_log  # noqa: F401


@pytest.fixture
async def kiosk(relay_from: Callable[..., Relay]) -> Relay:
    return relay_from(clients=kiosk_clients())


@pytest.fixture
async def device(kiosk: Relay) -> AsyncIterator[Device]:
    async with Device(kiosk) as device:
        yield device
