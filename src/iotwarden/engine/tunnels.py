"""The tunnels tier-1 decode takes apart (engine/decode.py decapsulates them): their ports and GRE protocol types, the
encapsulation a packet came through (:data:`TUNNELS`), the virtual networks crossed packed into one column
(:func:`nest_vni`, :func:`vni_list`), and where each tunnel packet's inner frame starts (:func:`tunnel_inner`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from iotwarden.engine.headers import ETH_IPV4, ETH_IPV6, ETH_MPLS, I64, Bool, Reader

GRE_TEB, GRE_ERSPAN_2, GRE_ERSPAN_3 = 0x6558, 0x88BE, 0x22EB  # transparent Ethernet bridging, ERSPAN I/II, III
VXLAN_PORT, GENEVE_PORT, GTPU_PORT = 4789, 6081, 2152  # IANA; RFC 7348 §5, RFC 8926 §3.3, 3GPP TS 29.281 §4.4.2
TEREDO_PORT = 3544  # RFC 4380 §4: the Teredo server's port; a client's datagrams come from or go to it
MAX_GTP_EXTENSIONS = 4  # GTP-U extension headers walked (a 5G PDU Session Container is the usual one)
# outermost encapsulation of a decapsulated packet (Headers.tunnel; CaptureStats.tunnels by name)
TUNNELS = ("", "mpls", "pppoe", "vxlan", "geneve", "gre", "erspan", "ipip", "gtp", "teredo")
T_MPLS, T_PPPOE, T_VXLAN, T_GENEVE, T_GRE, T_ERSPAN, T_IPIP, T_GTP, T_TEREDO = range(1, 10)
# tunnels within tunnels decoded in one frame before the rest is left as the inner payload, counted (decode_errors
# tunnel_too_deep: an attacker nesting to hide what a packet carries is seen, as Zeek's exceeded_tunnel_max_depth
# weird past Tunnel::max_depth); each level costs the batch one pass of vector operations while any packet goes on,
# none for a batch without tunnels, so the bound is set past any deployment's (a cloud mirror's VXLAN of a cluster
# node's overlay carrying GRE or IP-in-IP is three)
MAX_TUNNEL_DEPTH = 8
# The virtual network a packet came through (Headers.vni, a flow key column): a VXLAN or Geneve VNI is 24 bits
# (RFC 7348 §5, RFC 8926 §3.4); each is tagged with VNI_PRESENT, so VNI 0 is not "no tunnel" (0). A VNI nested
# inside another (a tenant's overlay, e.g. flannel's VNI 1 in every cluster, carried by a cloud mirror session's
# VNI) keeps both: the outermost in the high VNI_FIELD bits, the innermost in the low ones; any between them
# is not kept (MAX_TUNNEL_DEPTH allows more). Two fields of 25 bits fit one 64-bit key column without collision.
VNI_BITS = 24
VNI_PRESENT = 1 << VNI_BITS
VNI_FIELD = VNI_BITS + 1


def nest_vni(outer: I64, vni: I64) -> I64:
    """The packed virtual networks (Headers.vni) after crossing one more tunnel whose VNI is ``vni`` (-1: none):
    the first becomes the outermost, a later one the innermost (replacing a previous innermost)."""
    tag = np.where(vni >= 0, vni | VNI_PRESENT, 0)
    field_mask = (1 << VNI_FIELD) - 1
    nested = np.where(outer > field_mask, outer & ~field_mask, outer << VNI_FIELD) | tag
    out: I64 = np.where(tag == 0, outer, np.where(outer == 0, tag, nested))
    return out


def vni_list(packed: int) -> list[int]:
    """The VNIs of a packed Headers.vni value, outermost first (empty outside VXLAN/Geneve)."""
    field_mask = (1 << VNI_FIELD) - 1
    out = [(packed >> VNI_FIELD) & field_mask, packed & field_mask]
    return [v & (VNI_PRESENT - 1) for v in out if v & VNI_PRESENT]


class Inner(NamedTuple):
    rows: I64
    kind: npt.NDArray[np.int8]
    start: I64  # where the inner frame starts
    stop: I64  # where the outer payload, so the inner frame, ends
    eth: Bool  # the inner frame is Ethernet (else IP of ``ethertype``)
    ethertype: I64
    vni: I64  # the VXLAN/Geneve VNI, -1 for other encapsulations


def tunnel_inner(rd: Reader, cols: dict[str, Any], error: npt.NDArray[np.int8]) -> Inner | None:
    """Packets that carry a tunnel: (rows, kind, inner start, inner end, inner is Ethernet, inner ethertype).

    VXLAN (RFC 7348 §5: flags with I set, 24-bit VNI; then Ethernet) and Geneve (RFC 8926 §3.4: version 0,
    options length in 4-byte words, protocol type) on their UDP ports; GRE (RFC 2784 §2, RFC 2890 §2:
    version 0, 4 bytes each for checksum/offset, key and sequence when flagged) carrying IP, Ethernet
    (0x6558), MPLS, or ERSPAN (type I without a sequence number, no header; type II 8 bytes; type III 12,
    plus an 8-byte platform subheader when its O bit is set); IP-in-IP (protocols 4 and 41).
    """
    proto, dport = cols["proto"], cols["dport"]
    pay, pay_len = cols["pay_off"], cols["pay_len"]
    # a first fragment's inner frame is cut where the fragment ends: it is decapsulated once reassembled
    # (engine/fragments.py), not here
    live = (error == 0) & ~cols["frag"] & ~cols["frag_head"] & (cols["ipver"] > 0)
    parts: list[tuple[I64, npt.NDArray[np.int8], I64, Bool, I64, I64]] = []

    def add(k: I64, kind: int | npt.NDArray[np.int8], start: I64, eth: Bool | bool, ethertype: I64 | int,  # noqa: PLR0917
            vni: I64 | int = -1) -> None:
        m = k.shape[0]
        parts.append((k, np.broadcast_to(np.asarray(kind, dtype=np.int8), (m,)), start,
                      np.broadcast_to(np.asarray(eth, dtype=bool), (m,)),
                      np.broadcast_to(np.asarray(ethertype, dtype=np.int64), (m,)),
                      np.broadcast_to(np.asarray(vni, dtype=np.int64), (m,))))

    # VXLAN (RFC 7348 §5) and Geneve (RFC 8926 §3.4): the VNI is the 24 bits of bytes 4-6
    k = np.flatnonzero(live & (proto == 17) & (dport == VXLAN_PORT) & (pay_len >= 8 + 14))
    k = k[(rd.u8(pay[k]) & 0x08) != 0]
    add(k, T_VXLAN, pay[k] + 8, True, -1, rd.u32(pay[k] + 4) >> 8)

    k = np.flatnonzero(live & (proto == 17) & (dport == GENEVE_PORT) & (pay_len >= 8))
    b0, ptype = rd.u8(pay[k]), rd.u16(pay[k] + 2)
    k, b0, ptype = keep(((b0 >> 6) == 0) & np.isin(ptype, (GRE_TEB, ETH_IPV4, ETH_IPV6)), k, b0, ptype)
    add(k, T_GENEVE, pay[k] + 8 + (b0 & 0x3F) * 4, ptype == GRE_TEB, np.where(ptype == GRE_TEB, -1, ptype),
        rd.u32(pay[k] + 4) >> 8)

    k = np.flatnonzero(live & (proto == 47) & (pay_len >= 4))
    flags, ptype = rd.u16(pay[k]), rd.u16(pay[k] + 2)
    known = np.isin(ptype, (GRE_TEB, ETH_IPV4, ETH_IPV6, ETH_MPLS, GRE_ERSPAN_2, GRE_ERSPAN_3))
    k, flags, ptype = keep(((flags & 0x4007) == 0) & known, k, flags, ptype)  # no routing, version 0
    span = pay[k] + 4 + 4 * (((flags & 0x8000) != 0).astype(np.int64) + ((flags & 0x2000) != 0)
                             + ((flags & 0x1000) != 0))
    span += np.where((ptype == GRE_ERSPAN_2) & ((flags & 0x1000) != 0), 8, 0)  # type I: no sequence, no header
    span += np.where(ptype == GRE_ERSPAN_3, 12 + 8 * (rd.u8(span + 11) & 1), 0)
    erspan = (ptype == GRE_ERSPAN_2) | (ptype == GRE_ERSPAN_3)
    eth = (ptype == GRE_TEB) | erspan
    add(k, np.where(erspan, T_ERSPAN, T_GRE).astype(np.int8), span, eth, np.where(eth, -1, ptype))

    k = np.flatnonzero(live & ((proto == 4) | (proto == 41)) & (pay_len >= 20))
    add(k, T_IPIP, pay[k], False, np.where(proto[k] == 4, ETH_IPV4, ETH_IPV6))

    k, at = gtp_user_data(rd, np.flatnonzero(live & (proto == 17) & (dport == GTPU_PORT) & (pay_len >= 8 + 20)), pay)
    version = rd.u8(at) >> 4
    k, at, version = keep((version == 4) | (version == 6), k, at, version)
    add(k, T_GTP, at, False, np.where(version == 4, ETH_IPV4, ETH_IPV6))

    k = np.flatnonzero(live & (proto == 17) & ((dport == TEREDO_PORT) | (cols["sport"] == TEREDO_PORT))
                       & (pay_len >= 40))
    k, at = teredo_ipv6(rd, k, pay, pay + cols["pay_wire"])  # the announced end: a snapped one still checks
    add(k, T_TEREDO, at, False, ETH_IPV6)

    rows = np.concatenate([q[0] for q in parts])
    if not rows.shape[0]:
        return None
    kind, start, eth, ethertype, vni = (np.concatenate([q[i] for q in parts]) for i in range(1, 6))
    start = start.astype(np.int64)
    stop = pay[rows] + pay_len[rows]
    fits = np.where(eth, start + 14 <= stop, start < stop)
    if not fits.any():
        return None
    return Inner(rows[fits], kind[fits], start[fits], stop[fits], eth[fits], ethertype[fits], vni[fits])


def gtp_user_data(rd: Reader, k: I64, pay: I64) -> tuple[I64, I64]:
    """GTPv1-U G-PDUs (3GPP TS 29.281 §5.1-5.2: version 1, PT 1, message type 255) among ``k``, and where
    their T-PDU starts: after the 8-byte header, 4 more bytes when E, S or PN is set, then each
    extension header (its first byte is its length in 4-byte units, its last the next type)."""
    b0, mtype = rd.u8(pay[k]), rd.u8(pay[k] + 1)
    k, b0 = keep(((b0 >> 5) == 1) & ((b0 & 0x10) != 0) & (mtype == 0xFF), k, b0)
    at = pay[k] + 8 + np.where((b0 & 0x07) != 0, 4, 0)
    nxt = np.where((b0 & 0x04) != 0, rd.u8(at - 1), 0)
    for _ in range(MAX_GTP_EXTENSIONS):
        more = np.flatnonzero(nxt > 0)
        if not more.shape[0]:
            break
        size = rd.u8(at[more]) * 4
        at[more] += size
        nxt[more] = np.where(size > 0, rd.u8(at[more] - 1), -1)  # a zero length is malformed: stop there
    return k[nxt == 0], at[nxt == 0]


def teredo_ipv6(rd: Reader, k: I64, pay: I64, wire_end: I64) -> tuple[I64, I64]:
    """Teredo datagrams among ``k`` and where their IPv6 packet starts (RFC 4380 §5.1.1): after an optional
    authentication indicator (0x0001, id and auth lengths, id, auth value, 8-byte nonce, confirmation byte)
    and an optional origin indication (0x0000, port, address: 8 bytes); the packet must be IPv6 whose
    payload length fills the datagram (as Zeek checks), so other traffic on the port is left alone."""
    at = pay[k]
    auth = rd.u16(at) == 1
    at = at + np.where(auth, 13 + rd.u8(at + 2) + rd.u8(at + 3), 0)
    at = at + np.where(rd.u16(at) == 0, 8, 0)
    ok = ((rd.u8(at) >> 4) == 6) & (at + 40 + rd.u16(at + 4) == wire_end[k])
    return k[ok], at[ok]


def keep(mask: Bool, *arrays: I64) -> tuple[I64, ...]:
    return tuple(a[mask] for a in arrays)
