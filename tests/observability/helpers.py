"""Reading /metrics and the JSON log in tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.flows import Relay

JsonLines = Callable[[], list[dict[str, Any]]]  # the json_log fixture: the lines so far, parsed


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample (`name` as exposed, with `_total`, `_count`...), None if absent."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return float(found.value)
    return None


async def scrape(relay: Relay) -> str:
    response = await relay.desktop.get("/metrics")
    assert response.status_code == 200
    return response.text
