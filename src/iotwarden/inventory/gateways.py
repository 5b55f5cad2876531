"""A router's test: what a MAC carries besides its own addresses that makes it a gateway (many foreign addresses,
or a global address on a private segment), asked of a run's endpoints (inventory/resolution.py) and of the store's
address history (inventory/priors.py).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

GATEWAY_MIN_IPS = 4  # distinct foreign addresses (IPv4, or IPv6 /48s) that make a MAC a gateway


def carries_many(ips: Iterable[str], *, private_segment: bool) -> bool:
    """What a router's MAC carries besides its own addresses: :data:`GATEWAY_MIN_IPS` addresses (IPv4,
    or IPv6 /48s; link-local left out), or a global IPv4 address on a private segment (routed traffic)."""
    v4: set[str] = set()
    v6: set[str] = set()
    for ip in ips:
        addr = ipaddress.ip_address(ip)
        if addr.version == 4:
            if private_segment and addr.is_global:
                return True
            v4.add(ip)
        elif not addr.is_link_local:
            v6.add(str(ipaddress.ip_network(f"{ip}/48", strict=False)))
    return len(v4) >= GATEWAY_MIN_IPS or len(v6) >= GATEWAY_MIN_IPS
