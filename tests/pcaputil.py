"""Test helper: feed one dissector the packets of a real capture, independently of the engine.

Deliberately simple (dpkt decoding, per-flow first-packet direction, TCP payloads in capture order
with exact retransmissions dropped) so dissector tests do not depend on the engine; the engine's own
tests check the same captures end to end.
"""

from __future__ import annotations

import gzip
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dpkt

from iotwarden.dissect.base import Dissector, Packet, StreamDissector
from iotwarden.errors import ParseError
from iotwarden.model import Observation


def _mac(b: bytes) -> str:
    return sys.intern(":".join(f"{x:02x}" for x in b))  # one string per address: frames() keeps many


def _reader(fh: Any) -> Any:
    head = fh.read(4)
    fh.seek(0)
    if head == b"\x0a\x0d\x0d\x0a":
        return dpkt.pcapng.Reader(fh)
    return dpkt.pcap.Reader(fh)


def iter_packets(path: Path) -> Iterator[Packet]:
    """Packets of a pcap/pcapng (optionally gzip) capture, decoded to transport payload."""
    for pkt, _snap in iter_frames(path):
        yield pkt


def _llc_snap(l2: Any) -> tuple[tuple[int, int] | None, bytes]:
    """(OUI, PID) and the payload after the 8-byte LLC/SNAP header of an 802.3 frame (RFC 1042)."""
    raw = bytes(l2.data) if isinstance(l2.data, dpkt.Packet) else bytes(l2.data or b"")
    if l2.type <= 1500 and len(raw) >= 8 and raw[:3] == b"\xaa\xaa\x03":
        return (int.from_bytes(raw[3:6], "big"), int.from_bytes(raw[6:8], "big")), raw[8:]
    return None, raw


def iter_frames(path: Path) -> Iterator[tuple[Packet, tuple[int, int] | None]]:
    """Like :func:`iter_packets`, with the (OUI, PID) of 802.3 LLC/SNAP frames (CDP), else None."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as fh:
        reader = _reader(fh)
        linktype = reader.datalink()
        initiators: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        for ts, buf in reader:
            try:
                if linktype == dpkt.pcap.DLT_LINUX_SLL:
                    l2: Any = dpkt.sll.SLL(buf)
                    src_mac, dst_mac = _mac(l2.hdr[: l2.hlen]) if l2.hlen else None, None
                elif linktype in (dpkt.pcap.DLT_RAW, 101, 228, 229, 12, 14):
                    l2 = None
                    src_mac = dst_mac = None
                else:
                    l2 = dpkt.ethernet.Ethernet(buf)
                    src_mac, dst_mac = _mac(l2.src), _mac(l2.dst)
            except (dpkt.UnpackError, IndexError, ValueError):
                continue
            if l2 is None:
                ip: Any = dpkt.ip.IP(buf) if buf and buf[0] >> 4 == 4 else dpkt.ip6.IP6(buf)
                ethertype: int | None = 0x0800 if isinstance(ip, dpkt.ip.IP) else 0x86DD
                vlan = None
            else:
                ip = l2.data
                ethertype = getattr(l2, "type", None)
                vlan_tags = getattr(l2, "vlan_tags", None)
                vlan = vlan_tags[-1].id if vlan_tags else None
                if vlan_tags and hasattr(vlan_tags[-1], "type"):
                    ethertype = vlan_tags[-1].type  # the type after the 802.1Q tag(s)
            if not isinstance(ip, dpkt.ip.IP | dpkt.ip6.IP6):
                snap = None
                if isinstance(l2, dpkt.ethernet.Ethernet) and l2.type <= 1500:
                    snap, payload = _llc_snap(l2)
                else:
                    payload = bytes(ip) if isinstance(ip, dpkt.Packet) else bytes(ip or b"")
                yield Packet(ts=float(ts), payload=payload, src_mac=src_mac, dst_mac=dst_mac, vlan=vlan,
                             ethertype=ethertype, wire_len=len(buf)), snap
                continue
            fam = socket.AF_INET if isinstance(ip, dpkt.ip.IP) else socket.AF_INET6
            sip, dip = sys.intern(socket.inet_ntop(fam, ip.src)), sys.intern(socket.inet_ntop(fam, ip.dst))
            l4 = ip.data
            proto = ip.p if fam == socket.AF_INET else ip.nxt
            sport = dport = None
            flags = seq = None
            data = b""
            if isinstance(l4, dpkt.tcp.TCP | dpkt.udp.UDP):
                sport, dport, data = l4.sport, l4.dport, bytes(l4.data)
                if isinstance(l4, dpkt.tcp.TCP):
                    flags, seq = l4.flags, l4.seq
            key = (proto, *sorted([(sip, sport or 0), (dip, dport or 0)]))
            first = initiators.setdefault(key, (sip, sport))
            yield Packet(ts=float(ts), payload=data, src_mac=src_mac, dst_mac=dst_mac, vlan=vlan,
                         ethertype=ethertype, src_ip=sip, dst_ip=dip, ip_proto=proto,
                         ttl=getattr(ip, "ttl", getattr(ip, "hlim", None)), src_port=sport, dst_port=dport,
                         tcp_flags=flags, tcp_seq=seq, to_server=(sip, sport) == first, wire_len=len(buf)), None


def _wants(d: Dissector, pkt: Packet, snap: tuple[int, int] | None = None) -> bool:
    if snap is not None:
        return snap in d.llc_snap
    if pkt.ip_proto is None:
        return pkt.ethertype in d.ethertypes
    ports = {pkt.src_port, pkt.dst_port}
    if pkt.ip_proto == 17:
        return bool(ports & set(d.udp_ports))
    if pkt.ip_proto == 6:
        return bool(ports & set(d.tcp_ports))
    return False


# decoded captures kept by frames(): the capture files' bytes, at most (in memory ~3x that: a Packet per frame)
MAX_KEPT_BYTES = 48 << 20
_kept: dict[tuple[str, int, int], list[tuple[Packet, tuple[int, int] | None]]] = {}


def frames(path: Path) -> list[tuple[Packet, tuple[int, int] | None]]:
    """:func:`iter_frames` of the capture as a list, decoded once a process: the OT dissectors' sweeps
    (tests/dissect/ot_captures.py) read the same 431 captures (42 MB) in each of their 17 modules, ~2.8 CPU s of dpkt
    a time. Kept by path, size and modification time while the kept files total at most MAX_KEPT_BYTES, first come
    first kept (a capture past it is decoded each time). The Packets are shared: a caller must not change them."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key in _kept:
        return _kept[key]
    decoded = list(iter_frames(path))
    if sum(k[1] for k in _kept) + stat.st_size <= MAX_KEPT_BYTES:
        _kept[key] = decoded
    return decoded


def run_dissector(d: Dissector, path: Path, *, errors: list[Exception] | None = None,
                  keep: bool = False) -> list[Observation]:
    """All Observations ``d`` makes on the capture; ParseErrors go to ``errors`` (or are dropped). ``keep``: the
    capture's frames are decoded once a process (:func:`frames`)."""
    out: list[Observation] = []
    states: dict[tuple[Any, ...], dict[str, Any]] = {}
    seen_seq: set[tuple[Any, ...]] = set()
    for pkt, snap in frames(path) if keep else iter_frames(path):
        if not _wants(d, pkt, snap) or (pkt.ip_proto is not None and not pkt.payload and pkt.ip_proto == 6):
            continue
        key = (pkt.ip_proto, *sorted([(pkt.src_ip, pkt.src_port or 0), (pkt.dst_ip, pkt.dst_port or 0)]))
        if pkt.ip_proto == 6:
            segment = (key, pkt.src_ip, pkt.src_port, pkt.tcp_seq, len(pkt.payload))
            if segment in seen_seq:
                continue
            seen_seq.add(segment)
        state = states.setdefault(key, {})
        if state.get("done"):
            continue
        try:
            if isinstance(d, StreamDissector):
                out.extend(d.feed(pkt, pkt.payload, state))
            else:
                out.extend(d.dissect(pkt, state))
        except ParseError as exc:
            if errors is not None:
                errors.append(exc)
    return out
