"""The proximity hint: same network by /24 (IPv4) or /64 (IPv6)."""

from __future__ import annotations

import pytest

from relay.crossdevice import same_network


@pytest.mark.parametrize(
    ("desktop", "phone", "same"),
    [
        ("203.0.113.7", "203.0.113.7", True),  # one NAT address for the office
        ("192.168.1.20", "192.168.1.201", True),
        ("192.168.1.20", "192.168.2.20", False),
        ("203.0.113.7", "198.51.100.7", False),  # phone on mobile data
        ("2001:db8:1:2::10", "2001:db8:1:2:abcd::1", True),
        ("2001:db8:1:2::10", "2001:db8:1:3::10", False),
        ("::ffff:192.168.1.20", "192.168.1.9", True),  # IPv4-mapped IPv6
        ("192.168.1.20", "2001:db8::1", False),
        ("testclient", "testclient", True),  # not addresses: compared as they are
        (None, "192.168.1.9", None),
        ("192.168.1.9", None, None),
    ],
)
def test_same_network(desktop: str | None, phone: str | None, same: bool | None) -> None:
    assert same_network(desktop, phone) is same
