"""Defences against cross-device phishing (RFC 10027, the cross-device flows BCP): what the phone is
told about the screen that asks (context.py), the number to match (matching.py), and whether the
phone is near the screen (network.py). The rotating QR lives with the scan tickets
(relay/sessions/tickets.py)."""

from relay.crossdevice.context import (
    DesktopContext,
    Locator,
    Place,
    agent_text,
    describe_agent,
    is_handheld,
)
from relay.crossdevice.matching import new_match
from relay.crossdevice.network import same_network

__all__ = [
    "DesktopContext",
    "Locator",
    "Place",
    "agent_text",
    "describe_agent",
    "is_handheld",
    "new_match",
    "same_network",
]
