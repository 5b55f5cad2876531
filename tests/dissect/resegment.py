"""Test tool: rewrite a capture's TCP streams with another segmentation, the byte streams unchanged.

* :func:`coalesce` merges consecutive in-order segments of one direction into super-packets of up to
  64 KiB, as Linux GRO (``tcp_gro_receive``) and TSO hand them to a capture on the host or a bridge:
  the first segment's sequence number, timestamp and place in the capture, the last one's ACK, PSH
  and window, IP total length and checksums recomputed, caplen = wirelen = the new frame length;
  a merge stops at SYN/FIN/RST/URG, at a segment that is not the next in-order one (retransmission,
  reordering), at a segment of the other direction carrying payload or SYN/FIN/RST (so no byte moves
  across an answer), at IP options or IPv6 extension headers, at 64 KiB, and at a segment more than
  ``MAX_GAP`` after the super-packet's first (GRO merges what one poll of the NIC found: moving bytes
  minutes back in time would change which flow an idle timeout puts them in), and at a segment whose
  link-layer addresses or VLAN tags differ from the super-packet's (GRO merges one device's packets only).
* :func:`split` cuts each segment's payload into pieces of random sizes (``sizes``, seeded), each
  its own frame with the same timestamp; FIN and PSH stay on the last piece (a SYN carrying data,
  and with ``keep_first`` each direction's first payload segment, are left whole).

Frames that are not TCP with payload, cut short by the snap length, or not decodable pass unchanged.
"""

from __future__ import annotations

import gzip
import random
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dpkt

SUPER_MAX = 65535  # IPv4 total length / IPv6 payload length: the most GRO builds
MAX_GAP = 1.0  # seconds: a segment later than this after a super-packet's first starts a new one
FIN, SYN, RST, PSH, URG = 0x01, 0x02, 0x04, 0x08, 0x20
_RAW_LINKS = (dpkt.pcap.DLT_RAW, 101, 228, 229, 12, 14)
SNAPLEN = 262144

Frame = tuple[float, bytes]


@dataclass
class _Decoded:
    """One frame opened down to TCP: ``top`` packs back to the whole frame."""

    top: Any
    ip: Any
    tcp: Any

    def key(self) -> tuple[bytes, int, bytes, int]:
        return bytes(self.ip.src), self.tcp.sport, bytes(self.ip.dst), self.tcp.dport

    def link(self) -> tuple[Any, ...]:
        """The link layer's addresses and VLAN tags (none for raw IP)."""
        if self.top is self.ip:
            return ()
        return (bytes(getattr(self.top, "src", b"")), bytes(getattr(self.top, "dst", b"")),
                repr(getattr(self.top, "vlan_tags", None)))

    def pack(self) -> bytes:
        if isinstance(self.ip, dpkt.ip.IP):
            self.ip.len = self.ip.__hdr_len__ + len(self.ip.opts) + len(self.tcp)
            self.ip.sum = 0
        else:
            self.ip.plen = len(self.tcp)
        self.tcp.sum = 0  # dpkt recomputes a zero checksum on packing
        self.ip.data = self.tcp
        return bytes(self.top)


def read_frames(path: Path) -> tuple[int, list[Frame]]:
    """(link type, [(ts, frame)]) of a pcap/pcapng, optionally gzip-compressed."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as fh:
        head = fh.read(4)
        fh.seek(0)
        reader: Any = dpkt.pcapng.Reader(fh) if head == b"\x0a\x0d\x0d\x0a" else dpkt.pcap.Reader(fh)
        return reader.datalink(), [(float(ts), bytes(buf)) for ts, buf in reader]


def write_frames(path: Path, linktype: int, frames: list[Frame]) -> None:
    with path.open("wb") as fh:
        writer = dpkt.pcap.Writer(fh, snaplen=SNAPLEN, linktype=linktype, nano=True)
        for ts, buf in frames:
            writer.writepkt(buf, ts=ts)


def decode(linktype: int, frame: bytes) -> _Decoded | None:
    """The frame's IP and TCP layers when it is a whole, plain TCP segment (payload or not)."""
    try:
        if linktype == dpkt.pcap.DLT_LINUX_SLL:
            top: Any = dpkt.sll.SLL(frame)
            ip = top.data
        elif linktype in _RAW_LINKS:
            top = ip = dpkt.ip.IP(frame) if frame and frame[0] >> 4 == 4 else dpkt.ip6.IP6(frame)
        else:
            top = dpkt.ethernet.Ethernet(frame)
            ip = top.data
    except (dpkt.UnpackError, IndexError, ValueError, struct.error):
        return None
    if isinstance(ip, dpkt.ip.IP):
        whole = ip.len == len(ip) and not ip.opts and not ip.mf and not ip.offset
    elif isinstance(ip, dpkt.ip6.IP6):
        whole = ip.nxt == dpkt.ip.IP_PROTO_TCP and ip.plen == len(ip.data)
    else:
        return None
    tcp = ip.data
    if not whole or not isinstance(tcp, dpkt.tcp.TCP):
        return None
    return _Decoded(top, ip, tcp)


def coalesce(linktype: int, frames: list[Frame], limit: int = SUPER_MAX) -> list[Frame]:
    """``frames`` with consecutive in-order segments of each direction merged, GRO-style (see module doc)."""
    out: list[Frame] = []
    open_: dict[tuple[bytes, int, bytes, int], tuple[int, _Decoded]] = {}  # direction -> (slot, super-packet)

    def flush(key: tuple[bytes, int, bytes, int]) -> None:
        held = open_.pop(key, None)
        if held is not None:
            slot, dec = held
            out[slot] = (out[slot][0], dec.pack())

    for ts, frame in frames:
        dec = decode(linktype, frame)
        if dec is None:
            out.append((ts, frame))
            continue
        key, flags = dec.key(), dec.tcp.flags
        if dec.tcp.data or flags & (SYN | FIN | RST):
            flush((key[2], key[3], key[0], key[1]))  # an answer: nothing sent before it moves after it
        if not dec.tcp.data:
            if flags & (SYN | FIN | RST):
                flush(key)
            out.append((ts, frame))
            continue
        held = open_.get(key)
        if held is not None:
            sup = held[1]
            room = limit - (len(sup.ip) - len(sup.tcp.data))
            if (flags & (SYN | FIN | RST | URG) == 0 and dec.tcp.seq == (sup.tcp.seq + len(sup.tcp.data)) % 2**32
                    and len(sup.tcp.data) + len(dec.tcp.data) <= room and ts - out[held[0]][0] <= MAX_GAP
                    and dec.link() == sup.link()):
                sup.tcp.data = sup.tcp.data + dec.tcp.data
                sup.tcp.ack, sup.tcp.win = dec.tcp.ack, dec.tcp.win
                sup.tcp.flags |= flags & PSH
                continue
            flush(key)
        out.append((ts, frame))
        if flags & (SYN | FIN | RST | URG) == 0:
            open_[key] = (len(out) - 1, dec)
    for key in list(open_):
        flush(key)
    return out


def split(linktype: int, frames: list[Frame], sizes: tuple[int, int] = (1, 7), seed: int = 0, *,
          keep_first: bool = False) -> list[Frame]:
    """``frames`` with every TCP segment's payload cut into pieces of ``sizes[0]..sizes[1]`` bytes;
    with ``keep_first``, each direction's first payload segment stays whole (what probes look at)."""
    rng = random.Random(seed)
    out: list[Frame] = []
    seen: set[tuple[bytes, int, bytes, int]] = set()
    for ts, frame in frames:
        dec = decode(linktype, frame)
        if dec is None or len(dec.tcp.data) <= 1 or dec.tcp.flags & SYN:  # data on a SYN: left whole
            out.append((ts, frame))
            continue
        if keep_first and dec.key() not in seen:
            seen.add(dec.key())
            out.append((ts, frame))
            continue
        out.extend((ts, piece) for piece in _pieces(dec, rng, sizes))
    return out


def _pieces(dec: _Decoded, rng: random.Random, sizes: tuple[int, int]) -> Iterator[bytes]:
    data, seq, flags = bytes(dec.tcp.data), dec.tcp.seq, dec.tcp.flags
    pos = 0
    while pos < len(data):
        n = rng.randint(*sizes)
        last = pos + n >= len(data)
        dec.tcp.data = data[pos : pos + n]
        dec.tcp.seq = (seq + pos) % 2**32
        dec.tcp.flags = flags & ~(FIN | PSH) if not last else flags
        yield dec.pack()
        pos += n


def rewrite(src: Path, dst: Path, how: str, **options: Any) -> Path:
    """Write ``src`` resegmented (``how``: "coalesce" or "split") to ``dst``."""
    linktype, frames = read_frames(src)
    frames = coalesce(linktype, frames, **options) if how == "coalesce" else split(linktype, frames, **options)
    write_frames(dst, linktype, frames)
    return dst
