"""Which device an endpoint (the MAC/IP pair an observation names) belongs to, once the run is over.

Resolution follows the inventory's keys (STYLE 9): a MAC that owns the address is the device; an
address seen behind a router is its own ``ip:`` device; an address without a MAC belongs to the
MAC device that carries it. Endpoints that are no device of the inventory (internet servers) stay
unresolved and are counted, never guessed.

A site address names a host within its broadcast domain only (issues #3/#4): an endpoint of a tagged
observation or flow holds it zoned, ``10.0.0.5%vlan20`` (inventory/addresses.zoned, as the inventory keys
it), and resolves within that domain: its own ``ip:10.0.0.5%vlan20`` device, else a MAC device holding
the address that was seen in the domain (Device.in_domain), never another domain's. Untagged endpoints
and addresses outside the site stay plain and resolve as before.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from iotwarden.inventory.addresses import ADDRESS_CACHE, LOCAL_NETWORKS, usable_mac, zoned
from iotwarden.model import Device, Flow, Observation
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

Endpoint = tuple[str | None, str | None]  # (mac, ip); a tagged site address zoned, ip%domain
LIMITED_BROADCAST = ipaddress.IPv4Address("255.255.255.255")  # RFC 919 §7
_NOT_EXTERNAL4 = octet_table((*ranges4(LOCAL_NETWORKS), LOOPBACK4, MULTICAST4))

__all__ = ["Endpoint", "SubjectIndex", "endpoint", "endpoint_of", "flow_endpoint", "is_external", "usable_mac"]


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


def endpoint(mac: str | None, ip: str | None, domain: str = "") -> Endpoint:
    """The endpoint of ``mac`` and ``ip`` seen in broadcast ``domain`` (Observation.domain, Flow.domain; ""
    untagged): the MAC if it names one interface, a site address within the domain (addresses.zoned)."""
    return usable_mac(mac), zoned(ip, domain) if domain else ip


def endpoint_of(obs: Observation, side: str | None = None) -> Endpoint:
    """The (mac, ip) of the observation's subject, or of ``side`` ("src"/"dst") when given, within the
    observation's broadcast domain (:func:`endpoint`)."""
    if (side or obs.subject) == "src":
        return endpoint(obs.src_mac, obs.src_ip, obs.domain)
    return endpoint(obs.dst_mac, obs.dst_ip, obs.domain)


def flow_endpoint(flow: Flow) -> Endpoint:
    """The (mac, ip) of a flow's initiator within the flow's broadcast domain (:func:`endpoint`)."""
    return endpoint(flow.a_mac, flow.a_ip, flow.domain)


class SubjectIndex:
    """Maps endpoints to device keys over the final ``ctx.devices``."""

    def __init__(self, devices: dict[str, Device]) -> None:
        self.devices = devices
        self.holders: dict[str, list[str]] = {}  # address -> the MAC devices holding it, in inventory order
        self.routed: dict[str, str] = {}  # address -> the first routed device holding it within a domain
        for key, dev in devices.items():
            if key.startswith("mac:"):
                for ip in dev.ips:
                    self.holders.setdefault(ip, []).append(key)
            elif "%" in key:  # ip:<address>%<domain>, a routed host of a VLAN or VNI (inventory/addresses.zoned)
                for ip in dev.ips:
                    self.routed.setdefault(ip, key)
        self.unresolved = 0  # endpoints whose findings were dropped: not a device of the inventory

    def resolve(self, mac: str | None, ip: str | None) -> str | None:
        """The device key of ``(mac, ip)``, or None when neither names a device. ``ip`` zoned (``ip%domain``,
        :func:`endpoint_of`) resolves within its domain only (module docstring)."""
        plain, _, domain = ip.partition("%") if ip is not None else (None, "", "")
        mac_key = f"mac:{mac}" if mac else None
        mac_dev = self.devices.get(mac_key) if mac_key else None
        if mac_dev is not None and (plain is None or plain in mac_dev.ips):
            return mac_key
        if plain is not None:
            found = self._within(plain, domain) if domain else self._anywhere(plain)
            if found is not None:
                return found
        return mac_key if mac_dev is not None else None

    def _anywhere(self, ip: str) -> str | None:
        """An untagged or outside address: its ``ip:`` device, else the first MAC device holding it, else the
        first routed device of any domain holding it."""
        if f"ip:{ip}" in self.devices:
            return f"ip:{ip}"
        holders = self.holders.get(ip)
        if holders:
            return holders[0]
        return self.routed.get(ip)

    def _within(self, ip: str, domain: str) -> str | None:
        """A site address of broadcast ``domain``: its ``ip:ip%domain`` device, else the first MAC device holding
        it that was seen in the domain (Device.in_domain; any when the device records none)."""
        own = f"ip:{ip}%{domain}"
        if own in self.devices:
            return own
        return next((key for key in self.holders.get(ip, ()) if self.devices[key].in_domain(domain)), None)

    def device(self, mac: str | None, ip: str | None) -> Device | None:
        key = self.resolve(mac, ip)
        return self.devices.get(key) if key else None
