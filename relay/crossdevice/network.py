"""Proximity hint (per client `same_network = "warn" | "require"`; RFC 10027, "establish
proximity").

A person scanning the screen in front of them is usually on the same network as that screen: the
same office or home address behind one NAT. The relay compares the desktop's and the phone's
addresses by network: the same /24 for IPv4, the same /64 for IPv6. It is a hint, not proof: a
phone on mobile data is on another network even when it is next to the screen, which is why
"warn" (the phone page says so) is the gentler choice and "require" suits kiosks and offices.
"""

from __future__ import annotations

import ipaddress

PREFIX = {4: 24, 6: 64}


def same_network(desktop: str | None, phone: str | None) -> bool | None:
    """True or False when both addresses are known; None when either is not."""
    if not desktop or not phone:
        return None
    try:
        a, b = ipaddress.ip_address(desktop), ipaddress.ip_address(phone)
    except ValueError:
        return desktop == phone  # not IP addresses (a test client's name): compare as given
    if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped:
        a = a.ipv4_mapped
    if isinstance(b, ipaddress.IPv6Address) and b.ipv4_mapped:
        b = b.ipv4_mapped
    if a.version != b.version:
        return False
    network = ipaddress.ip_network(f"{a}/{PREFIX[a.version]}", strict=False)
    return b in network
