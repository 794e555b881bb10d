from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from relay.observability.logs import JSONFormatter
from tests.observability.helpers import JsonLines


@pytest.fixture
def json_log() -> Iterator[JsonLines]:
    """What the relay logs at INFO and above, as `qr-relay serve` writes it: JSON lines, formatted
    as they are logged. Call it for the lines so far, parsed (each must be one JSON object)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JSONFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
