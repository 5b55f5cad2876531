"""Observation: one fact a dissector (or a Zeek log record) saw about a host on the wire.

Dissectors only describe what happened (STYLE 5): an Observation says "host X sent a DHCP request
with hostname Y", never "X is a printer". Classification and risk decide elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

Subject = Literal["src", "dst"]

MAX_TEXT_LEN = 256  # characters kept of one attribute value or key=value text (inventory and knowledge base)


@dataclass(slots=True)
class Observation:
    """One protocol fact.

    ``proto`` is the dissector name (``dhcp``, ``mdns``, ``tls``, ``modbus``...) and ``kind`` the
    message type within it (``request``, ``client_hello``, ``write``...). ``fields`` holds the
    protocol values under the names each dissector documents in its module docstring; values are
    JSON-compatible (str, int, float, bool, None, lists and dicts of those).

    ``subject`` says which endpoint the fact describes: ``src`` (the sender: a DHCP client's
    hostname, a server's banner in its own reply) or ``dst`` (the receiver: a password typed *to*
    a Telnet server is a fact about that server).

    ``vlan`` (the innermost 802.1Q tag) and ``vni`` (the VXLAN/Geneve virtual networks the packet came
    through, outermost first, as the flow key keeps them) name its broadcast domain: :attr:`domain`.
    """

    ts: float
    proto: str
    kind: str
    src_mac: str | None = None
    dst_mac: str | None = None
    src_ip: str | None = None
    dst_ip: str | None = None
    src_port: int | None = None
    dst_port: int | None = None
    ip_proto: int | None = None
    vlan: int | None = None
    vni: tuple[int, ...] | None = None
    subject: Subject = "src"
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def domain(self) -> str:
        """The broadcast domain the packet was seen in (:func:`link_domain`), "" untagged."""
        return link_domain(self.vlan, self.vni) if self.vlan or self.vni else ""

    @property
    def subject_mac(self) -> str | None:
        return self.src_mac if self.subject == "src" else self.dst_mac

    @property
    def subject_ip(self) -> str | None:
        return self.src_ip if self.subject == "src" else self.dst_ip

    @property
    def peer_ip(self) -> str | None:
        return self.dst_ip if self.subject == "src" else self.src_ip

    def to_dict(self) -> dict[str, Any]:
        out = {
            "ts": self.ts,
            "proto": self.proto,
            "kind": self.kind,
            "src_mac": self.src_mac,
            "dst_mac": self.dst_mac,
            "src_ip": self.src_ip,
            "dst_ip": self.dst_ip,
            "src_port": self.src_port,
            "dst_port": self.dst_port,
            "ip_proto": self.ip_proto,
            "vlan": self.vlan,
            "subject": self.subject,
            "fields": dict(self.fields),
        }
        if self.vni is not None:  # only a tunnelled packet's: other records read as before it was added
            out["vni"] = list(self.vni)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Observation:
        known = {k: data[k] for k in cls.__slots__ if k in data}
        if isinstance(known.get("vni"), list):
            known["vni"] = tuple(known["vni"])
        obs = cls(**known)
        extra = {k: v for k, v in data.items() if k not in known}
        if extra:  # unknown fields survive a round trip (STYLE 11)
            obs.fields.setdefault("_extra", {}).update(extra)
        return obs


def link_domain(vlan: int | None, vni: tuple[int, ...] | None) -> str:
    """The text of a broadcast domain: the VXLAN/Geneve VNIs (outermost first) and the 802.1Q VLAN a
    packet was seen in, e.g. ``vlan10``, ``vni4001``, ``vni4001/vni1/vlan10``; "" untagged.

    An IP address names a host only within its domain: a trunk mirror's VLANs and a cloud mirror's
    sessions (one VNI per VPC) may each use 192.168.1.0/24. What keys a host by its address on the
    link (ARP bindings, DHCP servers, routed hosts in the inventory) keys it by (domain, address);
    a MAC is global (IEEE 802 §8.2) and is never keyed by domain."""
    parts = [f"vni{v}" for v in vni or ()]
    if vlan:
        parts.append(f"vlan{vlan}")
    return "/".join(parts)


def scoped(ip: str, domain: str) -> str:
    """``ip`` within ``domain`` as a zoned address, ``ip%domain`` (the zone syntax of RFC 4007 §11),
    ``ip`` itself in the untagged domain: one key per host for tables keyed by address."""
    return f"{ip}%{domain}" if domain else ip


def key_value_texts(items: Iterable[tuple[Any, Any]]) -> list[str]:
    """``key=value`` texts of a dict field's items, in their order; a list value gives one text per item
    (an mDNS TXT key that several services of one message state with different values, dissect/mdns.py).
    The inventory and the knowledge base both read dict fields this way, so they agree on the texts.
    Each text is cut to MAX_TEXT_LEN: a TXT string decoded with backslash escapes can outgrow its 255
    wire bytes, and an attribute value is bounded wherever it comes from (STYLE 7)."""
    return [f"{key}={v}"[:MAX_TEXT_LEN]
            for key, value in items for v in (value if isinstance(value, list) else (value,))]
