"""Address hygiene for identity resolution: which MACs and IPs can name one host (cached parsing)."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

ADDRESS_CACHE = 65_536  # parsed addresses remembered (parsing dominates the per-flow cost)


def usable_mac(mac: Any) -> str | None:
    """The MAC in lowercase when it names one interface (not broadcast/multicast, not all zero)."""
    return _mac_text(mac) if isinstance(mac, str) else None


def usable_ip(ip: Any) -> str | None:
    """The address in canonical text when it can belong to one host (not multicast, broadcast, 0.0.0.0)."""
    return _ip_text(ip) if isinstance(ip, str) else None


# the I/G bit of every first octet written in two hex digits: asked of both ends of every flow and
# the subject of every observation, answered by one lookup (int() for any other text)
_GROUP_OCTETS = {f"{a}{b}": bool(int(b, 16) & 1) for a in "0123456789abcdefABCDEF" for b in "0123456789abcdefABCDEF"}


def is_group_mac(mac: Any) -> bool:
    """True for broadcast and multicast MACs (IEEE 802 §8.2: the I/G bit of the first octet)."""
    if not isinstance(mac, str) or len(mac) != 17:
        return False
    group = _GROUP_OCTETS.get(mac[:2])
    if group is not None:
        return group
    try:
        return bool(int(mac[:2], 16) & 1)
    except ValueError:
        return False


@lru_cache(maxsize=ADDRESS_CACHE)
def _mac_text(mac: str) -> str | None:
    if len(mac) != 17:
        return None
    mac = mac.lower()
    try:
        first = int(mac[:2], 16)
    except ValueError:
        return None
    if first & 1 or mac == "00:00:00:00:00:00":  # IEEE 802 §8.2: I/G bit set = group address
        return None
    return mac


@lru_cache(maxsize=ADDRESS_CACHE)
def _ip_text(ip: str) -> str | None:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if addr.is_multicast or addr.is_unspecified or str(addr) == "255.255.255.255":
        return None
    return str(addr)


@lru_cache(maxsize=ADDRESS_CACHE)
def private_v4(ip: str) -> bool:
    addr = ipaddress.ip_address(ip)
    return addr.version == 4 and addr.is_private and not addr.is_loopback and not addr.is_link_local


# Addresses that belong to the site, so their hosts are devices of the inventory; anything else is
# a remote endpoint (a cloud server, a CDN) and stays a flow peer.
LOCAL_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",  # RFC 1918 §3 private internets
    "100.64.0.0/10",  # RFC 6598 shared address space (CGNAT)
    "169.254.0.0/16",  # RFC 3927 IPv4 link-local
    "fc00::/7",  # RFC 4193 unique local addresses
    "fe80::/10",  # RFC 4291 §2.5.6 IPv6 link-local
))


@lru_cache(maxsize=ADDRESS_CACHE)
def local_ip(ip: str, site: tuple[str, ...] = ()) -> bool:
    """True when ``ip`` is a site address (:data:`LOCAL_NETWORKS` or one of the ``site`` networks); a zoned
    address (``ip%domain``, :func:`zoned`) is its address's."""
    try:
        addr = ipaddress.ip_address(unzoned(ip))
    except ValueError:
        return False
    if any(addr in net for net in LOCAL_NETWORKS):
        return True
    return any(addr in ipaddress.ip_network(net, strict=False) for net in site)


def zoned(ip: str | None, domain: str, site: tuple[str, ...] = ()) -> str | None:
    """``ip`` as the inventory keys a host by it: a site address within its broadcast domain (``ip%domain``,
    model/observation.scoped; Observation.domain), so two VLANs' or VPCs' 10.0.0.5 are two hosts. A
    remote address is one host wherever it is reached from, and an untagged one is itself."""
    if ip is None or not domain or not local_ip(ip, site):
        return ip
    return f"{ip}%{domain}"


def unzoned(addr: str) -> str:
    """The address of a :func:`zoned` text."""
    return addr.partition("%")[0]
