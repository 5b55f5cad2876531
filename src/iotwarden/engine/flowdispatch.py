"""Tier-2 state of a flow (FlowDispatch, its t2 states, DispatchLimits) and the loose helpers the dispatcher
shares: which dissector hooks a dissector overrides, its packet limit, a Packet's addresses, VLAN and VNIs as text."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from iotwarden.dissect.base import Dissector, Packet, StreamDissector
from iotwarden.engine.decode import addr_text, addr_texts
from iotwarden.engine.headers import Headers
from iotwarden.engine.reassembly import StreamDirection
from iotwarden.engine.tunnels import vni_list
from iotwarden.model import Observation

# (vlan, ethertype, src_ip, dst_ip, vni) of a flow direction: what its Packets and Observations are stamped with
Where = tuple[int | None, int, str, str, tuple[int, ...] | None]
MAX_VNI_TEXTS = 4096  # packed VXLAN/Geneve VNI values whose Packet.vni tuple is kept (an LRU cache)

UNDECIDED, ASSIGNED, FINISHED = 0, 1, 2  # tier-2 state of a flow (flow table column "t2")
IPPROTO_TCP, IPPROTO_UDP = 6, 17
# A TCP direction is probed on its first bytes accumulated over its first in-order segments, until they
# reach PROBE_BYTES (within the probe window), so a signature cut across a split first message is still
# seen; a datagram is probed alone. What a direction held back for this is at most PROBE_BYTES - 1 bytes
# (dissect/base.py PROBE_BYTES, which the probes of text protocols read too).


@dataclass(slots=True)
class DispatchLimits:
    probe_window: int  # payload packets of a flow within which probing may happen
    tcp_max_ooo_segments: int
    tcp_max_ooo_bytes: int
    memo_entries: int = 0  # datagram memo (dissect/base.py): entries and bytes kept, 0 turns it off
    memo_bytes: int = 0


@dataclass(slots=True)
class FlowDispatch:
    """Tier-2 state of one flow: its dissector, that dissector's state dict, reassembly."""

    t2: int = UNDECIDED
    dissector: Dissector | None = None
    state: dict[str, Any] = field(default_factory=dict)
    handed: int = 0
    fed: int = 0  # stream bytes fed to its dissector, both directions (StreamDissector.max_stream_bytes)
    probed: set[bool] = field(default_factory=set)  # directions probed to the end (PROBE_BYTES or a datagram)
    # per TCP direction still being probed: (sequence number of its first byte, its bytes so far)
    heads: dict[bool, tuple[int, bytes]] = field(default_factory=dict)
    # the bytes a probe recognised over several segments: (direction, first sequence number, bytes), handed
    # to the dissector in place of the segment that completed them
    replay: tuple[bool, int, bytes] | None = None
    app: str | None = None  # set once the dissector confirmed the flow (dissect/base.py CONFIRMED_STATE_KEY)
    flip: bool = False  # the confirmed dissector found the flow's roles reversed (dissect/base.py FLIP_STATE_KEY)
    failed: str | None = None  # the dissector that rejected the flow's captured bytes before it recognised any
    # the dissector accepted a delivery (or its probe claimed the flow): a later rejection no longer
    # hands the flow to another prober
    claimed: bool = False
    # the port's stream dissector rejected the flow's first bytes and a prober took the flow over (Zeek's
    # dynamic protocol detection); if that one rejects them too the flow stays failed
    fallback: bool = False
    # per TCP direction, the bytes the port's stream dissector rejected before anything of the flow was
    # accepted, while fewer than PROBE_BYTES: offered to the probers again with the next rejected delivery,
    # so a first message cut into small segments is taken over as it is when it comes whole
    rejected_head: dict[bool, bytes] = field(default_factory=dict)
    streams: dict[bool, StreamDirection[Packet]] = field(default_factory=dict)
    # the TCP directions moved past bytes their dissector passes over (Dispatcher._pass), while their segments come
    # wholly before the next expected byte: 2 the client's, 1 the server's (Dispatcher._passed)
    passing: int = 0
    where: dict[bool, Where] = field(default_factory=dict)  # per direction


def _overrides_probe(d: Dissector) -> bool:
    return type(d).probe is not Dissector.probe


def _tcp_packet_limit(d: Dissector) -> int | None:
    """Payload packets of a TCP flow handed to ``d`` at most: the safety net behind its byte budget
    (dissect/base.py StreamDissector.max_stream_bytes), without one its ``max_packets_per_flow``."""
    if isinstance(d, StreamDissector) and d.max_stream_bytes is not None:
        return d.max_stream_packets
    return d.max_packets_per_flow


def _memoisable(d: Dissector) -> bool:
    """It declares ``memo_key`` (dissect/base.py); only its UDP datagrams are memoised, never TCP."""
    return type(d).memo_key is not Dissector.memo_key


def _stamped(o: Observation, pkt: Packet) -> bool:
    """True when ``o`` is what ``pkt.observation`` makes: only then can a replay restamp it."""
    return (type(o) is Observation and o.ts == pkt.ts and o.src_mac == pkt.src_mac and o.dst_mac == pkt.dst_mac
            and o.src_ip == pkt.src_ip and o.dst_ip == pkt.dst_ip and o.src_port == pkt.src_port
            and o.dst_port == pkt.dst_port and o.ip_proto == pkt.ip_proto and o.vlan == pkt.vlan
            and o.vni == pkt.vni)


def _mac(data: npt.NDArray[np.uint8], off: int) -> str | None:
    return data[off : off + 6].tobytes().hex(":") if off >= 0 else None


def _wheres(h: Headers, rows: npt.NDArray[np.int64], uids: npt.NDArray[np.int64],
            to_server: npt.NDArray[np.bool_]) -> dict[int, Where]:
    """:func:`_where` of the first packet of each flow direction among ``rows`` (in capture order), by row,
    the addresses made text together."""
    _, first = np.unique(uids * 2 + to_server, return_index=True)
    at = rows[np.sort(first)]
    ipver = h.ipver[at]
    src = addr_texts(ipver, h.src_hi[at], h.src_lo[at])
    dst = addr_texts(ipver, h.dst_hi[at], h.dst_lo[at])
    vlans = [v or None for v in h.vlan[at].tolist()]
    vnis = [_vnis(v) for v in h.vni[at].tolist()]
    return dict(zip(at.tolist(), zip(vlans, h.ethertype[at].tolist(), src, dst, vnis, strict=True), strict=True))


def _where(h: Headers, row: int) -> Where:
    """(vlan, ethertype, src_ip, dst_ip, vni) of a packet, the per-direction constants of its flow."""
    ipver = int(h.ipver[row])
    return (
        int(h.vlan[row]) or None,
        int(h.ethertype[row]),
        addr_text(ipver, int(h.src_hi[row]), int(h.src_lo[row])),
        addr_text(ipver, int(h.dst_hi[row]), int(h.dst_lo[row])),
        _vnis(int(h.vni[row])),
    )


@functools.lru_cache(maxsize=MAX_VNI_TEXTS)
def _vnis(packed: int) -> tuple[int, ...] | None:
    """The VXLAN/Geneve VNIs of a packed Headers.vni value as Packet.vni holds them (None outside a tunnel);
    one tuple per value, shared by every packet of the virtual network."""
    return tuple(vni_list(packed)) if packed else None
