"""Flow: a bidirectional conversation between two endpoints, as the engine's flow table keeps it.

The initiator (``a``) is the endpoint that sent the first packet seen, unless the first packets prove
or the ports say it is the responder (a capture joined mid-stream; engine/orient.py), so ``a -> b`` is
the "forward" (to-server) direction. Timeouts follow the usual flow-meter convention (RFC 7011 §5.1
idle and active timeouts): a flow idle longer than the idle timeout, or alive longer than the active
timeout, is closed and a later packet opens a new one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from iotwarden.model.observation import link_domain


class FlowKey(NamedTuple):
    """Direction-free identity of a conversation (addresses as text, ports 0 when none)."""

    vlan: int
    ip_proto: int
    a_ip: str
    a_port: int
    b_ip: str
    b_port: int


@dataclass(slots=True)
class Flow:
    """Counters and identity of one conversation. ``app`` is what a dissector recognised."""

    vlan: int
    ip_proto: int  # IANA protocol number: 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ...
    a_ip: str
    a_port: int
    b_ip: str
    b_port: int
    first_seen: float
    last_seen: float
    a_mac: str | None = None
    b_mac: str | None = None
    pkts_ab: int = 0
    pkts_ba: int = 0
    bytes_ab: int = 0  # bytes on the wire (frame length), a -> b
    bytes_ba: int = 0
    payload_ab: int = 0  # transport payload bytes, a -> b
    payload_ba: int = 0
    tcp_flags_ab: int = 0  # OR of the TCP flags seen a -> b (RFC 9293 §3.1)
    tcp_flags_ba: int = 0
    app: str | None = None
    end_reason: str | None = None  # "idle", "active", "end" (end of input), "fin", "rst", "evicted", "zeek"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> FlowKey:
        return FlowKey(self.vlan, self.ip_proto, self.a_ip, self.a_port, self.b_ip, self.b_port)

    @property
    def domain(self) -> str:
        """The broadcast domain the flow was seen in (model/observation.link_domain): its 802.1Q VLAN and the
        VXLAN/Geneve VNIs engine/core.py puts in ``extra["vni"]`` (a list, outermost first); "" untagged."""
        vni = self.extra.get("vni") if self.extra else None
        vnis = tuple(v for v in vni if isinstance(v, int)) if isinstance(vni, list) else ()
        return link_domain(self.vlan, vnis) if self.vlan or vnis else ""

    @property
    def packets(self) -> int:
        return self.pkts_ab + self.pkts_ba

    @property
    def bytes(self) -> int:
        return self.bytes_ab + self.bytes_ba

    @property
    def duration(self) -> float:
        return self.last_seen - self.first_seen

    def to_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in self.__slots__}
        out["extra"] = dict(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Flow:
        known = {k: data[k] for k in cls.__slots__ if k in data}
        flow = cls(**known)
        for k, v in data.items():
            if k not in known:  # unknown fields survive a round trip (STYLE 11)
                flow.extra[k] = v
        return flow
