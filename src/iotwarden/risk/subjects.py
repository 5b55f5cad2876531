"""Which device an endpoint (the MAC/IP pair an observation names) belongs to, once the run is over.

Resolution follows the inventory's keys (STYLE 9): a MAC that owns the address is the device; an
address seen behind a router is its own ``ip:`` device; an address without a MAC belongs to the
MAC device that carries it. Endpoints that are no device of the inventory (internet servers) stay
unresolved and are counted, never guessed.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from iotwarden.inventory.addresses import ADDRESS_CACHE, LOCAL_NETWORKS, usable_mac
from iotwarden.model import Device, Observation
from iotwarden.model.ipv4 import (
    LIMITED_BROADCAST4,
    LOOPBACK4,
    MULTICAST4,
    UNSPECIFIED4,
    in_table,
    ipv4_int,
    octet_table,
    ranges4,
)

Endpoint = tuple[str | None, str | None]  # (mac, ip)
LIMITED_BROADCAST = ipaddress.IPv4Address("255.255.255.255")  # RFC 919 §7
_NOT_EXTERNAL4 = octet_table((*ranges4(LOCAL_NETWORKS), LOOPBACK4, MULTICAST4))

__all__ = ["Endpoint", "SubjectIndex", "endpoint_of", "is_external", "usable_mac"]


@lru_cache(maxsize=ADDRESS_CACHE)
def is_external(ip: str | None) -> bool:
    """A unicast address outside the site: not in the inventory's local networks
    (:data:`iotwarden.inventory.addresses.LOCAL_NETWORKS`), not loopback, multicast, unspecified or the
    limited broadcast. Parsed once: a scan's millions of distinct targets all miss the cache."""
    if not isinstance(ip, str):
        return False
    value = ipv4_int(ip)
    if value is not None:
        return not (value in (UNSPECIFIED4, LIMITED_BROADCAST4) or in_table(value, _NOT_EXTERNAL4))
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if addr.is_multicast or addr.is_unspecified or addr.is_loopback or addr == LIMITED_BROADCAST:
        return False
    return not any(addr in net for net in LOCAL_NETWORKS)


def endpoint_of(obs: Observation, side: str | None = None) -> Endpoint:
    """The (mac, ip) of the observation's subject, or of ``side`` ("src"/"dst") when given."""
    which = side or obs.subject
    if which == "src":
        return usable_mac(obs.src_mac), obs.src_ip
    return usable_mac(obs.dst_mac), obs.dst_ip


class SubjectIndex:
    """Maps endpoints to device keys over the final ``ctx.devices``."""

    def __init__(self, devices: dict[str, Device]) -> None:
        self.devices = devices
        self.ip_owner: dict[str, str] = {}
        self.routed: dict[str, str] = {}  # address -> the first routed device holding it within a domain
        for key, dev in devices.items():
            if key.startswith("mac:"):
                for ip in dev.ips:
                    self.ip_owner.setdefault(ip, key)
            elif "%" in key:  # ip:<address>%<domain>, a routed host of a VLAN or VNI (inventory/addresses.zoned)
                for ip in dev.ips:
                    self.routed.setdefault(ip, key)
        self.unresolved = 0  # endpoints whose findings were dropped: not a device of the inventory

    def resolve(self, mac: str | None, ip: str | None) -> str | None:
        """The device key of ``(mac, ip)``, or None when neither names a device."""
        mac_key = f"mac:{mac}" if mac else None
        mac_dev = self.devices.get(mac_key) if mac_key else None
        if mac_dev is not None and (ip is None or ip in mac_dev.ips):
            return mac_key
        if ip is not None:
            if f"ip:{ip}" in self.devices:
                return f"ip:{ip}"
            if ip in self.ip_owner:
                return self.ip_owner[ip]
            if ip in self.routed:
                return self.routed[ip]
        return mac_key if mac_dev is not None else None

    def device(self, mac: str | None, ip: str | None) -> Device | None:
        key = self.resolve(mac, ip)
        return self.devices.get(key) if key else None
