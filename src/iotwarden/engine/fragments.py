"""IP fragments in the engine's batches: each piece read from its frame (RFC 791 §3.1, RFC 8200 §4.5) and handed to
the reassembly table (:mod:`~iotwarden.engine.defrag`), and each whole datagram rebuilt behind its first fragment's
headers, for the engine to dissect once.

Datagrams are keyed by (VLAN, virtual networks, source, destination, protocol, identification) for IPv4 (RFC 791
§3.2) and (VLAN, virtual networks, source, destination, identification) for IPv6 (RFC 8200 §4.5).

The outer datagram of a tunnel (a VXLAN or ERSPAN mirror sent over a 1500-byte path fragments every full-size
mirrored frame) is put back together before it is decapsulated: its fragments are held from the flow table and the
whole datagram takes the place of the fragment that completed it in the batch, so its inner packet is counted and
dissected once, whole, as the unfragmented mirror's would be. A datagram fragmented inside a tunnel (a mirrored
host's own fragmented DNS answer, carried in whole VXLAN or ERSPAN packets) is put back together keyed within its
virtual networks too (``Headers.vni``, as the flow table keys it), so two tenants' identical fragments never mix; it is
rebuilt as its inner frame and dissected with its tunnel's columns (``Rebuilt.tunnel``, ``Rebuilt.vni``); a tunnel
inside the tunnel fragmented within it (a mirrored router's IP-in-IP, GRE or VXLAN datagram) is held and decoded
through its own tunnels like the outer one, so it is counted and dissected as the unfragmented one, and so on for a
tunnel fragmented in that one, up to MAX_FRAGMENT_LEVELS levels (past it counted, ``Rebuilt.too_deep``). Whether a UDP
datagram is a tunnel's only its first piece tells: a later piece that comes first waits, held from the flow table
within the same limits, until the first claims it for a tunnel or it is counted as any fragment.
"""

from __future__ import annotations

import struct
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from iotwarden.engine.batch import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IEEE802_11,
    LINKTYPE_IEEE802_11_RADIOTAP,
    LINKTYPE_RAW,
    PacketBatch,
)
from iotwarden.engine.decode import decode
from iotwarden.engine.defrag import (
    DROP_REASONS,
    FRAGMENT_TIMEOUT_S,
    MAX_BYTES,
    MAX_DATAGRAMS,
    MAX_PACKET,
    MAX_PIECES,
    Reassembler,
)
from iotwarden.engine.headers import Headers
from iotwarden.engine.tunnels import GENEVE_PORT, GTPU_PORT, TEREDO_PORT, VNI_PRESENT, VXLAN_PORT, nest_vni

# the reassembly table's names (engine/defrag.py, split from this module) stay importable from here
__all__ = ["DROP_REASONS", "FRAGMENT_TIMEOUT_S", "IPV6_FRAGMENT", "MAX_BYTES", "MAX_DATAGRAMS", "MAX_FRAGMENT_LEVELS",
           "MAX_PACKET", "MAX_PIECES", "MAX_UNFRAGMENTABLE", "TUNNEL_PORTS", "TUNNEL_PROTOCOLS", "UNFRAGMENTABLE",
           "Piece", "Reassembler", "Rebuilt", "Waiting", "decode_whole", "reassemble", "released_batch"]

# datagrams that carry a tunnel engine/decode.py decapsulates: IP-in-IP (4in4/6in4: 4, 41) and GRE (47) by their
# protocol, which every fragment's IP header names, and UDP to or from a tunnel's port (VXLAN, Geneve, GTP-U,
# Teredo), which only the first fragment's UDP header shows
TUNNEL_PROTOCOLS = (4, 41, 47)
TUNNEL_PORTS = (VXLAN_PORT, GENEVE_PORT, GTPU_PORT, TEREDO_PORT)

# IPv6 extension headers of the unfragmentable part (RFC 8200 §4.5): hop-by-hop, routing, destination options
UNFRAGMENTABLE = (0, 43, 60)
MAX_UNFRAGMENTABLE = 4
IPV6_FRAGMENT = 44

# levels of fragments inside tunnels rebuilt from fragments followed in one batch: a mirror's outer fragments (1), a
# mirrored router's tunnel fragmented inside it (2), a host's datagram fragmented inside that (3), ... Each level
# costs a pass over the batch (its merge and decode); an attacker nesting deeper to hide a datagram gets its pieces
# past the last level counted (decode_errors ip_fragment_too_deep), left as fragments in their flow, never read, as
# Zeek counts a tunnel past Tunnel::max_depth (weird exceeded_tunnel_max_depth)
MAX_FRAGMENT_LEVELS = 8


@dataclass(slots=True)
class Rebuilt:
    """Whole datagrams a batch's fragments completed, as a batch of frames, and the first fragments that were not
    given to the reassembler (cut by the snap length, on 802.11, no fragment header found).

    A datagram reassembled inside a tunnel is rebuilt as its inner frame (Ethernet, or raw IP where the tunnel
    carries IP); ``tunnel`` and ``vni`` hold, per frame, its fragments' outermost encapsulation and virtual networks
    (0 for a datagram outside any tunnel), which :func:`decode_whole` gives its headers.

    When the batch held fragments of a tunnel's datagram (outside a tunnel, or inside one: its headers then given
    its fragments' encapsulation and virtual networks) or pieces waiting for their first, ``merged`` is the batch to
    count and dissect in its place (``merged_headers``: decoded): without those fragments, each whole datagram they
    completed where its last fragment was (``carried``: their rows in it), each piece released from waiting where
    it is counted (a datagram given up for time: before the batch's first packet past its timeout). ``too_deep``
    counts the fragments found inside tunnels rebuilt at the last of MAX_FRAGMENT_LEVELS levels, not reassembled."""

    batch: PacketBatch | None
    skipped_heads: int
    tunnel: npt.NDArray[np.int8] = field(default_factory=lambda: np.zeros(0, dtype=np.int8))
    vni: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    merged: PacketBatch | None = None
    merged_headers: Headers | None = None
    carried: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    too_deep: int = 0


# what a piece kept waiting for its datagram's first is (Reassembler.add's wait): its frame as it came, to be counted
# as any fragment if the first piece says it is no tunnel's: (time, linktype, frame, wire length, (call, row),
# (tunnel, vni): its headers' encapsulation and virtual networks, which a frame rebuilt from pieces inside a tunnel
# does not hold itself)
Waiting = tuple[float, int, bytes, int, tuple[int, int], tuple[int, int]]


@dataclass(slots=True)
class _Found:
    """What one pass over a batch's fragments found (see :func:`reassemble`)."""

    frames: list[tuple[float, int, bytes]] = field(default_factory=list)  # (time, linktype, frame) to dissect
    inside: list[tuple[int, int]] = field(default_factory=list)  # each frame's (tunnel, vni): (0, 0) outside one
    # a tunnel's whole datagram: (row completing it, linktype, frame, the (tunnel, vni) it was reassembled inside)
    carried: list[tuple[int, int, bytes, tuple[int, int]]] = field(default_factory=list)
    released: list[tuple[int, Waiting]] = field(default_factory=list)  # (row it goes before, what waited)
    held: dict[int, None] = field(default_factory=dict)  # rows of a tunnel's fragments (or waiting to know)
    skipped: int = 0


def reassemble(batch: PacketBatch, h: Headers, frags: Reassembler) -> Rebuilt:
    """Hand the batch's IP fragments to ``frags``; each datagram completed is rebuilt as a frame: the first
    fragment's link header and IP header (IPv4: total length set, MF and offset cleared, checksum computed again;
    IPv6: the unfragmentable part, then the Fragment header as an atomic fragment, RFC 6946) and the payload, at the
    time of the fragment that completed it. A tunnel's datagram (its first fragment to a tunnel port, or of a tunnel
    protocol; a later one of a tunnel protocol, or of a datagram whose first fragment was a tunnel's), outside a
    tunnel or fragmented inside one, is held from the flow table and goes into ``merged``, decoded through its
    tunnels as the unfragmented datagram is; its own inner fragments are the next level's pieces (at most
    MAX_FRAGMENT_LEVELS levels). A later UDP fragment before its first is held too, waiting: the first claims it for
    a tunnel's, else it is counted as any fragment where the first came (or, its datagram dropped, where that
    happened: a datagram timed out before the batch's first packet past its timeout). A datagram fragmented inside
    a tunnel is keyed within its virtual networks and rebuilt as its inner frame. Fragments are rare: a plain
    loop."""
    found = _Found()
    # a first fragment too short for its transport header (RFC 1858's tiny fragment) is decoded with an error but is
    # a piece all the same
    rows = np.flatnonzero((h.frag | h.frag_head) & (h.ipver > 0))
    merged: tuple[PacketBatch, Headers] | None = None
    carried = np.zeros(0, dtype=np.int64)
    too_deep = 0
    for _ in range(MAX_FRAGMENT_LEVELS):
        frags.calls += 1  # each level is a batch of its own: what waits is named by (call, row) in it
        _pieces(batch, h, rows, frags, found)
        if not found.held and not found.released:
            break
        batch, at, kept, back = _merge(batch, np.array(list(found.held), dtype=np.int64), found.carried,
                                       found.released)
        h = decode(batch)
        _enter(h, at, np.array([k for _, _, _, (k, _) in found.carried], dtype=np.int8),
               np.array([v for _, _, _, (_, v) in found.carried], dtype=np.int64))
        _restore(h, back, [w for _, w in found.released])
        carried = np.concatenate((kept[carried], at))  # an earlier level's held again now is in at
        carried = carried[carried >= 0]
        merged = batch, h
        found.held, found.carried, found.released = {}, [], []
        # a whole tunnel datagram's inner packet may be a fragment of its own: the next level's piece
        rows = at[(h.frag[at] | h.frag_head[at]) & (h.ipver[at] > 0) & (h.tunnel[at] > 0)]
        if not rows.shape[0]:
            break
    else:  # their datagrams are not reassembled: their first fragments are counted as any not read
        too_deep = int(rows.shape[0])
        found.skipped += int(h.frag_head[rows].sum())
    out = _rebuilt(found)
    out.too_deep = too_deep
    if merged is not None:
        out.merged, out.merged_headers = merged
        out.carried = carried
    return out


def _expire(frags: Reassembler, found: _Found, latest: npt.NDArray[np.float64], last: int) -> None:
    """Datagrams given up for time at a row up to ``last``: each at the first row past its timeout (``latest``: the
    batch's times in capture order, a row never earlier than the latest before it), so what waited in it is counted
    before that row, not after the batch."""
    n = latest.shape[0]
    while (first := frags.oldest()) is not None:
        row = int(np.searchsorted(latest, first + frags.timeout, side="right"))
        while row < n and not latest[row] - first > frags.timeout:  # as Reassembler.expire compares
            row += 1
        while row > 0 and latest[row - 1] - first > frags.timeout:
            row -= 1
        if row > last:
            return
        frags.expire(float(latest[row]))
        if frags.released:
            _release(frags, found, row)


def _pieces(batch: PacketBatch, h: Headers, rows: npt.NDArray[np.int64], frags: Reassembler,
            found: _Found) -> None:
    """Give the fragments in ``rows`` to ``frags``; what they complete, hold or skip goes into ``found``; datagrams
    the batch's times leave past the timeout are given up where it passed."""
    data = batch.data
    latest = np.maximum.accumulate(batch.ts) if rows.shape[0] or len(frags) else None
    for row in rows.tolist():
        if latest is not None:
            _expire(frags, found, latest, row)
        head = bool(h.frag_head[row])
        start, end = int(batch.offsets[row]), int(batch.offsets[row] + batch.caplen[row])
        lt = int(batch.linktype[row])
        p = int(h.l3_off[row])
        kind = int(h.tunnel[row])
        if lt in (LINKTYPE_IEEE802_11, LINKTYPE_IEEE802_11_RADIOTAP) or (not kind and int(h.l2_end[row]) != end):
            found.skipped += head
            continue
        frame_start, frame_lt = start, lt
        if kind:  # inside a tunnel (or MPLS, PPPoE): its inner frame, from its own link header to the outer end
            mac = int(h.dst_mac_off[row])
            start, lt = (mac, LINKTYPE_ETHERNET) if mac >= 0 else (p, LINKTYPE_RAW)
            end = int(h.l2_end[row])
        domain = (int(h.vlan[row]), int(h.vni[row]))  # as the flow table keys it: two tenants' fragments apart
        piece = (_ipv4 if h.ipver[row] == 4 else _ipv6)(bytes(data[start:end]), p - start, domain)
        if piece is None:  # the capture cut it, or its headers are not what a fragment needs
            found.skipped += head
            continue
        key, offset, more, payload, rebuild, limit = piece
        proto = int(h.proto[row])
        wait: Waiting | None = None
        if offset == 0:
            tunnel = proto in TUNNEL_PROTOCOLS or (proto == 17 and (int(h.dport[row]) in TUNNEL_PORTS
                                                                    or int(h.sport[row]) == TEREDO_PORT))
        else:
            first = frags.head(key)
            tunnel = proto in TUNNEL_PROTOCOLS or (first is not None and bool(first[2]))
            if first is None and proto == 17:  # a tunnel's only if its first piece says so: held, waiting
                whole = int(batch.offsets[row] + batch.caplen[row])
                wait = (float(batch.ts[row]), frame_lt, bytes(data[frame_start:whole]), int(batch.wirelen[row]),
                        (frags.calls, row), (kind, int(h.vni[row])))
        if tunnel or wait is not None:
            found.held[row] = None
        done = frags.add(float(batch.ts[row]), key, offset, more, payload,
                         head=(lt, rebuild, tunnel, (kind, int(h.vni[row]))) if offset == 0 else None, limit=limit,
                         wait=wait, wait_bytes=0 if wait is None else len(wait[2]) - len(payload), claim=tunnel)
        if frags.released:  # counted as any fragment: in place if it came in this batch, else before row
            _release(frags, found, row)
        if done is not None:
            whole_payload, (linktype, make, carrier, inside) = done
            if carrier:
                found.carried.append((row, linktype, make(whole_payload), inside))
            else:
                found.frames.append((float(batch.ts[row]), linktype, make(whole_payload)))
                found.inside.append(inside)
    if latest is not None:
        _expire(frags, found, latest, len(batch) - 1)


def _release(frags: Reassembler, found: _Found, row: int) -> None:
    """What waited and was released: a row of this batch is no longer held; one of an earlier batch goes before
    ``row``."""
    for w in frags.released:
        call, at = w[4]
        if call == frags.calls:
            found.held.pop(at, None)
        else:
            found.released.append((row, w))
    frags.released.clear()


def released_batch(waiting: list[Waiting]) -> tuple[PacketBatch, Headers]:
    """Frames released by the reassembler (:attr:`Reassembler.released`) as a batch, to be counted, and its headers
    (each frame's encapsulation and virtual networks as when it came)."""
    batch = _frames_batch([(w[0], w[1], w[2]) for w in waiting], [w[3] for w in waiting])
    h = decode(batch)
    _restore(h, np.arange(len(waiting), dtype=np.int64), waiting)
    return batch, h


def _restore(h: Headers, rows: npt.NDArray[np.int64], waiting: list[Waiting]) -> None:
    """Headers ``h``'s ``rows``, frames that waited, get the encapsulation and virtual networks their headers had
    when they came (a frame rebuilt from pieces inside a tunnel does not hold its outer tunnels)."""
    if rows.shape[0]:
        h.tunnel[rows] = np.array([w[5][0] for w in waiting], dtype=np.int8)
        h.vni[rows] = np.array([w[5][1] for w in waiting], dtype=np.int64)


def _rebuilt(found: _Found) -> Rebuilt:
    if not found.frames:
        return Rebuilt(None, found.skipped)
    return Rebuilt(_frames_batch(found.frames), found.skipped,
                   np.array([k for k, _ in found.inside], dtype=np.int8),
                   np.array([v for _, v in found.inside], dtype=np.int64))


def decode_whole(rebuilt: PacketBatch, tunnel: npt.NDArray[np.int8], vni: npt.NDArray[np.int64]) -> Headers:
    """The headers of datagrams rebuilt from fragments (:attr:`Rebuilt.batch`): one reassembled inside a tunnel has
    its fragments' encapsulation and virtual networks (``tunnel``, ``vni``), so it falls in their flow."""
    h = decode(rebuilt)
    _enter(h, np.arange(len(rebuilt), dtype=np.int64), tunnel, vni)
    return h


def _enter(h: Headers, rows: npt.NDArray[np.int64], tunnel: npt.NDArray[np.int8],
           vni: npt.NDArray[np.int64]) -> None:
    """Headers ``h``'s ``rows``, frames rebuilt from pieces reassembled inside a tunnel (``tunnel`` > 0), get their
    pieces' outermost encapsulation and virtual networks (``vni``), the networks crossed within the frame itself (a
    tunnel in the tunnel) the innermost."""
    pick = tunnel > 0
    if not pick.any():
        return
    at = rows[pick]
    own = h.vni[at]
    innermost = np.where((own & VNI_PRESENT) != 0, own & (VNI_PRESENT - 1), -1)
    h.tunnel[at] = tunnel[pick]
    h.vni[at] = nest_vni(vni[pick], innermost)


def _frames_batch(frames: list[tuple[float, int, bytes]], wire: list[int] | None = None) -> PacketBatch:
    """(time, linktype, frame) as a batch (``wire``: their wire lengths, else as captured)."""
    buf = np.frombuffer(b"".join(f for _, _, f in frames), dtype=np.uint8)
    lengths = np.array([len(f) for _, _, f in frames], dtype=np.int64)
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
    wirelen = lengths if wire is None else np.array(wire, dtype=np.int64)
    return PacketBatch(buf, offsets, lengths.astype(np.int32), wirelen.astype(np.int32),
                       np.array([t for t, _, _ in frames], dtype=np.float64),
                       np.array([lt for _, lt, _ in frames], dtype=np.uint16))


def _merge(batch: PacketBatch, held: npt.NDArray[np.int64], carried: list[tuple[int, int, bytes, tuple[int, int]]],
           released: list[tuple[int, Waiting]]) -> tuple[PacketBatch, npt.NDArray[np.int64], npt.NDArray[np.int64],
                                                          npt.NDArray[np.int64]]:
    """``batch`` without the ``held`` rows, each ``carried`` datagram (the row it completed at, linktype, frame) in
    the place of that row, at its time, each ``released`` frame before its row at its own time; the rows the
    carried datagrams take in it, each row of ``batch``'s row in it (-1: held), and the released frames' rows."""
    n = len(batch)
    keep = np.ones(n, dtype=bool)
    keep[held] = False
    kept = np.flatnonzero(keep)
    at = np.array([row for row, _, _, _ in carried], dtype=np.int64)
    back = np.array([row for row, _ in released], dtype=np.int64)
    frames = [f for _, _, f, _ in carried] + [w[2] for _, w in released]
    lengths = np.array([len(f) for f in frames], dtype=np.int64)
    base = int(batch.data.shape[0])
    data = np.concatenate((batch.data, np.frombuffer(b"".join(frames), dtype=np.uint8))) if frames else batch.data
    offsets = np.concatenate((batch.offsets[kept].astype(np.int64),
                              base + np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)[: len(frames)]))
    # a datagram where its last piece was, a released frame before the row that released it
    order = np.argsort(np.concatenate((kept * 3 + 1, at * 3 + 2, back * 3)), kind="stable")
    caplen = np.concatenate((batch.caplen[kept], lengths.astype(np.int32)))
    wirelen = np.concatenate((batch.wirelen[kept], lengths[: len(carried)].astype(np.int32),
                              np.array([w[3] for _, w in released], dtype=np.int32)))
    ts = np.concatenate((batch.ts[kept], batch.ts[at], np.array([w[0] for _, w in released], dtype=np.float64)))
    linktype = np.concatenate((batch.linktype[kept], np.array([lt for _, lt, _, _ in carried], dtype=np.uint16),
                               np.array([w[1] for _, w in released], dtype=np.uint16)))
    merged = PacketBatch(data, offsets[order], caplen[order].astype(np.int32), wirelen[order].astype(np.int32),
                         ts[order].astype(np.float64), linktype[order].astype(np.uint16))
    rank = np.empty(order.shape[0], dtype=np.int64)
    rank[order] = np.arange(order.shape[0])
    where = np.full(n, -1, dtype=np.int64)
    where[kept] = rank[: kept.shape[0]]
    return merged, rank[kept.shape[0] : kept.shape[0] + len(carried)], where, rank[kept.shape[0] + len(carried) :]


Piece = tuple[Hashable, int, bool, bytes, Any, int]


def _ipv4(frame: bytes, p: int, domain: tuple[int, int]) -> Piece | None:
    """An IPv4 fragment (RFC 791 §3.1): key, offset, more, payload, how to rebuild, payload limit."""
    ihl = (frame[p] & 0x0F) * 4
    total, ident, flags_offset = struct.unpack_from(">HHH", frame, p + 2)
    if total < ihl or p + total > len(frame):
        return None
    link, header = frame[:p], frame[p : p + ihl]
    key = (4, domain, frame[p + 12 : p + 20], frame[p + 9], ident)

    def rebuild(payload: bytes) -> bytes:
        hdr = bytearray(header)
        struct.pack_into(">HHH", hdr, 2, ihl + len(payload), ident, flags_offset & 0x4000)  # DF kept, MF and offset 0
        hdr[10:12] = b"\0\0"
        hdr[10:12] = _checksum(bytes(hdr)).to_bytes(2, "big")
        return link + bytes(hdr) + payload

    return key, (flags_offset & 0x1FFF) * 8, bool(flags_offset & 0x2000), frame[p + ihl : p + total], rebuild, \
        MAX_PACKET - ihl


def _ipv6(frame: bytes, p: int, domain: tuple[int, int]) -> Piece | None:
    """An IPv6 fragment (RFC 8200 §4.5): the Fragment header after the unfragmentable part's extension headers."""
    if p + 40 > len(frame):
        return None
    plen = struct.unpack_from(">H", frame, p + 4)[0]
    stop = p + 40 + plen
    if plen == 0 or stop > len(frame):
        return None
    nxt, q = frame[p + 6], p + 40
    for _ in range(MAX_UNFRAGMENTABLE):
        if nxt not in UNFRAGMENTABLE or q + 8 > stop:
            break
        nxt, q = frame[q], q + (frame[q + 1] + 1) * 8
    if nxt != IPV6_FRAGMENT or q + 8 > stop:
        return None
    inner, offset_m, ident = frame[q], struct.unpack_from(">H", frame, q + 2)[0], frame[q + 4 : q + 8]
    link, unfragmentable = frame[:p], frame[p:q]
    key = (6, domain, frame[p + 8 : p + 40], ident)

    def rebuild(payload: bytes) -> bytes:
        fixed = bytearray(unfragmentable)
        struct.pack_into(">H", fixed, 4, len(unfragmentable) - 40 + 8 + len(payload))
        return link + bytes(fixed) + bytes([inner, 0, 0, 0]) + ident + payload  # offset 0, M clear: atomic

    return key, offset_m & 0xFFF8, bool(offset_m & 1), frame[q + 8 : stop], rebuild, \
        MAX_PACKET - (len(unfragmentable) - 40) - 8


def _checksum(header: bytes) -> int:
    """The IPv4 header checksum (RFC 791 §3.1, RFC 1071): ones' complement of the ones' complement sum."""
    total = sum(struct.unpack(f">{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return int(~total & 0xFFFF)
