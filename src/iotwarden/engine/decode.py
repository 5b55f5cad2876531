"""Tier 1 header decode: link, VLAN, LLC/SNAP, IPv4/IPv6 and TCP/UDP headers of a whole batch at once.

802.11 frames (radiotap or bare) go through :mod:`iotwarden.engine.wlan` to their LLC header first.

Tunnels are decapsulated, as Zeek's tunnel framework does, so a mirror delivered over ERSPAN or VXLAN
shows the devices inside it, not the two ends of the tunnel: MPLS label stacks and PPPoE sessions
(in place, on the same link), and VXLAN, Geneve, GRE (IP, Ethernet, MPLS, ERSPAN types I-III) and
IP-in-IP (4in4, 6in4, 4in6, 6in6), GTP-U (a private LTE/5G core's user plane) and Teredo by decoding
their inner frame again, up to :data:`MAX_TUNNEL_DEPTH` deep. A tunnel whose inner frame does not decode
stays the outer packet, as does the first fragment of a fragmented outer datagram (decapsulated once reassembled).
A VXLAN/Geneve VNI is kept (``Headers.vni``) for the flow key.

Every field is a numpy column indexed by packet; no Python loop runs per packet. Reads are clipped
to the buffer and validated against each packet's captured length, so a malformed frame yields an
error code (counted by the engine under :data:`ERROR_REASONS`) and never a crash.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from iotwarden.engine.batch import (
    LINKTYPE_C_HDLC,
    LINKTYPE_ETHERNET,
    LINKTYPE_IEEE802_11,
    LINKTYPE_IEEE802_11_RADIOTAP,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_LOOP,
    LINKTYPE_NULL,
    LINKTYPE_PPP,
    LINKTYPE_PPP_HDLC,
    LINKTYPE_RAW,
    PacketBatch,
)
from iotwarden.engine.wlan import R_NOT_SNAP, wlan_link
from iotwarden.engine.wlan import REASONS as WLAN_REASONS
from iotwarden.engine.wlan import SHORT as WLAN_SHORT

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
Bool = npt.NDArray[np.bool_]

ETH_IPV4, ETH_IPV6 = 0x0800, 0x86DD
VLAN_TPIDS = (0x8100, 0x88A8, 0x9100)  # IEEE 802.1Q C-tag, 802.1ad S-tag, legacy QinQ
MAX_VLAN_TAGS = 2  # 802.1ad QinQ: outer S-tag + inner C-tag
# IPv6 extension headers walked (RFC 8200 §4): hop-by-hop, routing, fragment, destination
# options, and AH (RFC 4302 §2.2, length in 4-byte units)
IPV6_EXT = (0, 43, 44, 60, 51)
MAX_IPV6_EXT = 4  # headers walked before giving up on finding the transport header
ETH_MPLS, ETH_MPLS_MC, ETH_PPPOE_SESSION = 0x8847, 0x8848, 0x8864
MAX_MPLS_LABELS = 8
# PPP protocol numbers (RFC 1661 §2; IANA PPP DLL protocol numbers) carried in a PPPoE session (RFC 2516 §4)
# or on a PPP link; MPLS unicast over PPP (RFC 3032 §4.3)
PPP_IPV4, PPP_IPV6, PPP_MPLS = 0x0021, 0x0057, 0x0281
CISCO_HDLC_ADDRESSES = (0x0F, 0x8F)  # unicast, broadcast: the first byte of a Cisco HDLC frame
GRE_TEB, GRE_ERSPAN_2, GRE_ERSPAN_3 = 0x6558, 0x88BE, 0x22EB  # transparent Ethernet bridging, ERSPAN I/II, III
VXLAN_PORT, GENEVE_PORT, GTPU_PORT = 4789, 6081, 2152  # IANA; RFC 7348 §5, RFC 8926 §3.3, 3GPP TS 29.281 §4.4.2
TEREDO_PORT = 3544  # RFC 4380 §4: the Teredo server's port; a client's datagrams come from or go to it
MAX_GTP_EXTENSIONS = 4  # GTP-U extension headers walked (a 5G PDU Session Container is the usual one)
# outermost encapsulation of a decapsulated packet (Headers.tunnel; CaptureStats.tunnels by name)
TUNNELS = ("", "mpls", "pppoe", "vxlan", "geneve", "gre", "erspan", "ipip", "gtp", "teredo")
T_MPLS, T_PPPOE, T_VXLAN, T_GENEVE, T_GRE, T_ERSPAN, T_IPIP, T_GTP, T_TEREDO = range(1, 10)
MAX_TUNNEL_DEPTH = 3  # tunnels within tunnels decoded before the rest is left as the inner payload
# The virtual network a packet came through (Headers.vni, a flow key column): a VXLAN or Geneve VNI is 24 bits
# (RFC 7348 §5, RFC 8926 §3.4); each is tagged with VNI_PRESENT, so VNI 0 is not "no tunnel" (0). A VNI nested
# inside another (a tenant's overlay, e.g. flannel's VNI 1 in every cluster, carried by a cloud mirror session's
# VNI) keeps both: the outermost in the high VNI_FIELD bits, the innermost in the low ones; a third, between them,
# is not kept (MAX_TUNNEL_DEPTH allows three). Two fields of 25 bits fit one 64-bit key column without collision.
VNI_BITS = 24
VNI_PRESENT = 1 << VNI_BITS
VNI_FIELD = VNI_BITS + 1
# AF_INET6 as written by Linux (10), NetBSD/OpenBSD (24), FreeBSD (28), macOS (30)
AF_INET, AF_INET6 = (2,), (10, 24, 28, 30)
IPV4_MAPPED = np.uint64(0xFFFF_0000_0000)  # ::ffff:a.b.c.d, so both families share one key width

# decode error codes -> stats.decode_errors reasons (0 is "decoded"); then 802.11 frames that hold
# no packet (management, control, protected, ...), by reason (engine/wlan.py REASONS)
ERROR_REASONS = (
    "",
    "unsupported_linktype",
    "short_link_header",
    "short_ip_header",
    "bad_ip_header",
    "short_tcp_header",
    "bad_tcp_header",
    "short_udp_header",
    *WLAN_REASONS,
)
(E_OK, E_LINKTYPE, E_SHORT_LINK, E_SHORT_IP, E_BAD_IP, E_SHORT_TCP, E_BAD_TCP, E_SHORT_UDP) = range(8)
E_WLAN = E_SHORT_UDP  # wlan reason r (1-based) is error code E_WLAN + r


@dataclass(slots=True)
class Headers:
    """Decoded header columns of one batch (absolute offsets index ``batch.data``)."""

    error: npt.NDArray[np.int8]
    src_mac_off: I64  # -1 when the link layer carries no source MAC
    dst_mac_off: I64
    vlan: npt.NDArray[np.int32]  # inner (last) 802.1Q VLAN id, 0 when untagged
    outer_vlan: npt.NDArray[np.int32]
    ethertype: npt.NDArray[np.int32]  # -1 for 802.3 LLC frames and unknown NULL families
    snap: npt.NDArray[np.int64]  # (OUI << 16) | PID of an LLC/SNAP frame, -1 otherwise
    l3_off: I64  # start of what follows the link header (IP header, ARP, LLDP, SNAP payload)
    l2_end: I64  # end of the link-layer frame's content: the captured end, less an FCS the link announces
    wlan_mgmt: npt.NDArray[np.int16]  # 802.11 management subtype whose elements start at l3_off, else -1
    ipver: npt.NDArray[np.int8]  # 4, 6, or 0 when not IP (or not decodable)
    proto: npt.NDArray[np.int16]  # IP protocol number, -1 when not IP
    ttl: npt.NDArray[np.int16]
    src_hi: U64  # addresses as 128-bit big-endian halves (IPv4 mapped into ::ffff:0:0/96)
    src_lo: U64
    dst_hi: U64
    dst_lo: U64
    sport: npt.NDArray[np.int32]  # 0 when the packet has no ports (ICMP, non-first fragment)
    dport: npt.NDArray[np.int32]
    tcp_flags: npt.NDArray[np.int16]
    icmp_type: npt.NDArray[np.int16]  # ICMP / ICMPv6 message type (RFC 792, RFC 4443 §2.1), -1 otherwise
    seq: I64
    # TCP Acknowledgment Number (RFC 9293 §3.1), meaningful only when tcp_flags has ACK (0x10); 0 for others
    ack: I64
    frag: Bool  # IPv4/IPv6 fragment other than the first: no transport header
    # first fragment of a datagram fragmented further (offset 0, more fragments: RFC 791 §3.1 MF, RFC 8200 §4.5 M):
    # its transport header but only the start of its payload; an IPv6 atomic fragment (offset 0, M clear,
    # RFC 6946) is a whole datagram
    frag_head: Bool
    pay_off: I64  # transport payload start
    pay_len: I64  # captured payload bytes (bounded by caplen and the IP/UDP lengths)
    pay_wire: I64  # payload bytes the headers announce (what flow counters count)
    frame_len: I64  # wire length of the frame the headers describe (the inner one of a tunnel)
    tunnel: npt.NDArray[np.int8]  # outermost encapsulation removed (index into TUNNELS), 0 when none
    vni: I64  # VXLAN/Geneve virtual networks crossed, packed (VNI_PRESENT, vni_list), 0 when none


class _Reader:
    """Bounds-clipped big-endian reads from the batch buffer, one gather per field.

    Words are read through views with one-byte strides (element ``i`` is the word at byte ``i``);
    indices are clipped into the buffer, and callers validate lengths before trusting a value.
    """

    PAD = 8  # a buffer shorter than this is padded so every view has at least one element

    def __init__(self, data: npt.NDArray[np.uint8]) -> None:
        if data.shape[0] < self.PAD or not data.flags.c_contiguous:
            data = np.concatenate((data, np.zeros(self.PAD, dtype=np.uint8)))
        self.data = data
        size = int(data.shape[0])
        # little-endian views gather faster than big-endian ones; byteswap after the gather
        self._w16 = np.ndarray((size - 1,), dtype="<u2", buffer=data, strides=(1,))
        self._w32 = np.ndarray((size - 3,), dtype="<u4", buffer=data, strides=(1,))
        self._w64 = np.ndarray((size - 7,), dtype="<u8", buffer=data, strides=(1,))

    def u8(self, idx: I64) -> I64:
        return np.take(self.data, idx, mode="clip").astype(np.int64)

    def u16(self, idx: I64) -> I64:
        out: I64 = self._w16[np.minimum(idx, self._w16.shape[0] - 1)].byteswap().astype(np.int64)
        return out

    def u32(self, idx: I64) -> I64:
        out: I64 = self._w32[np.minimum(idx, self._w32.shape[0] - 1)].byteswap().astype(np.int64)
        return out

    def u64(self, idx: I64) -> U64:
        out: U64 = self._w64[np.minimum(idx, self._w64.shape[0] - 1)].byteswap()
        return out


def decode(batch: PacketBatch) -> Headers:
    """Header columns for every packet of ``batch``."""
    rd = _Reader(batch.data)
    n = len(batch)
    off = batch.offsets.astype(np.int64)
    end = off + batch.caplen.astype(np.int64)
    lt = batch.linktype
    error = np.zeros(n, dtype=np.int8)
    ethertype = np.full(n, -1, dtype=np.int64)
    pos = off.copy()
    src_mac = np.full(n, -1, dtype=np.int64)
    dst_mac = np.full(n, -1, dtype=np.int64)
    linked = np.zeros(n, dtype=bool)  # link layers that may carry VLAN tags and LLC
    llc = np.zeros(n, dtype=bool)  # an LLC header follows the link header whatever its type field
    mgmt = np.full(n, -1, dtype=np.int16)

    def subset(mask: Bool, need: int) -> I64:
        """Packets of one link type long enough for its header; the short ones get an error."""
        error[mask & (end - off < need)] = E_SHORT_LINK
        return np.flatnonzero(mask & (end - off >= need))

    k = subset(lt == LINKTYPE_ETHERNET, 14)  # IEEE 802.3 §3.1: dst, src, type/length
    if k.shape[0]:
        ethertype[k], pos[k] = rd.u16(off[k] + 12), off[k] + 14
        dst_mac[k], src_mac[k] = off[k], off[k] + 6
        linked[k] = True
    k = subset(lt == LINKTYPE_LINUX_SLL, 16)  # tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html
    if k.shape[0]:
        ethertype[k], pos[k] = rd.u16(off[k] + 14), off[k] + 16
        src_mac[k] = np.where(rd.u16(off[k] + 4) == 6, off[k] + 6, -1)  # link-layer address length
        linked[k] = True
    k = subset(lt == LINKTYPE_LINUX_SLL2, 20)  # tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html
    if k.shape[0]:
        ethertype[k], pos[k] = rd.u16(off[k]), off[k] + 20
        src_mac[k] = np.where(rd.u8(off[k] + 11) == 6, off[k] + 12, -1)
        linked[k] = True
    k = subset((lt == LINKTYPE_RAW) | (lt == LINKTYPE_IPV4) | (lt == LINKTYPE_IPV6), 1)
    if k.shape[0]:  # the IP version nibble says which
        version = rd.u8(off[k]) >> 4
        ethertype[k] = np.where(version == 4, ETH_IPV4, np.where(version == 6, ETH_IPV6, -1))
    k = subset((lt == LINKTYPE_NULL) | (lt == LINKTYPE_LOOP), 4)
    if k.shape[0]:  # 4-byte address family: host byte order (NULL) or network order (LOOP)
        family = rd.u32(off[k])
        swapped = ((family & 0xFF) << 24) | ((family & 0xFF00) << 8) | ((family >> 8) & 0xFF00) | (family >> 24)
        family = np.where((lt[k] == LINKTYPE_NULL) & (family > 0xFFFF), swapped, family)
        ethertype[k] = np.where(np.isin(family, AF_INET), ETH_IPV4, np.where(np.isin(family, AF_INET6), ETH_IPV6, -1))
        pos[k] = off[k] + 4
    k = subset((lt == LINKTYPE_PPP) | (lt == LINKTYPE_PPP_HDLC) | (lt == LINKTYPE_C_HDLC), 4)
    if k.shape[0]:  # serial WAN links (tcpdump.org/linktypes: LINKTYPE_PPP, LINKTYPE_PPP_HDLC, LINKTYPE_C_HDLC)
        ethertype[k], pos[k] = _serial_link(rd, lt[k].astype(np.int64), off[k])
    k = np.flatnonzero((lt == LINKTYPE_IEEE802_11) | (lt == LINKTYPE_IEEE802_11_RADIOTAP))
    if k.shape[0]:  # an MSDU's body starts with LLC/SNAP (IEEE 802.11-2020 §5.1.4, RFC 1042)
        wl = wlan_link(rd.u8, off[k], end[k], lt[k] == LINKTYPE_IEEE802_11_RADIOTAP,
                       batch.caplen[k] >= batch.wirelen[k])
        error[k] = np.where(wl.reason == WLAN_SHORT, E_SHORT_LINK, np.where(wl.reason > 0, E_WLAN + wl.reason, E_OK))
        end[k], pos[k], src_mac[k], dst_mac[k] = wl.end, wl.body, wl.src_mac, wl.dst_mac
        llc[k] = wl.reason == 0
        mgmt[k] = wl.mgmt
    known = np.isin(lt, (LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_RAW,
                         LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_NULL, LINKTYPE_LOOP, LINKTYPE_IEEE802_11,
                         LINKTYPE_IEEE802_11_RADIOTAP, LINKTYPE_PPP, LINKTYPE_PPP_HDLC, LINKTYPE_C_HDLC))
    error[~known] = E_LINKTYPE

    net = _network(rd, ethertype=ethertype, pos=pos, end=end, linked=linked, llc=llc, error=error)
    cols: dict[str, Any] = {"src_mac_off": src_mac, "dst_mac_off": dst_mac, "l2_end": end, "wlan_mgmt": mgmt, **net}
    cols["frame_len"] = batch.wirelen.astype(np.int64)
    cols["vni"] = np.zeros(n, dtype=np.int64)
    _decapsulate(rd, cols, error)
    return Headers(error=error, **cols)


def _serial_link(rd: _Reader, lt: I64, off: I64) -> tuple[I64, I64]:
    """Ethernet type and network-layer offset of frames of serial WAN links, each at least 4 bytes.

    Cisco HDLC (LINKTYPE_C_HDLC, and LINKTYPE_PPP_HDLC frames whose first byte is 0x0F or 0x8F): address,
    control, then the protocol as an Ethernet type. PPP (LINKTYPE_PPP, LINKTYPE_PPP_HDLC): RFC 1662 §3.1's
    address 0xFF and control 0x03 when present, then the PPP protocol (RFC 1661 §2), one byte when its first
    byte is odd (protocol field compression, RFC 1661 §6.5); IPv4, IPv6 and MPLS go on, the link's own
    protocols (LCP, IPCP, CHAP...) and Cisco's keepalives (SLARP, 0x8035) carry no IP: -1 / their type.
    The link names no MAC addresses: the hosts are routed ones, as on raw IP.
    """
    first = rd.u8(off)
    cisco = (lt == LINKTYPE_C_HDLC) | ((lt == LINKTYPE_PPP_HDLC) & np.isin(first, CISCO_HDLC_ADDRESSES))
    framed = (first == 0xFF) & (rd.u8(off + 1) == 0x03)
    p = off + np.where(framed, 2, 0)
    head = rd.u8(p)
    short = (head & 1) == 1
    proto = np.where(short, head, rd.u16(p))
    ppp = np.where(proto == PPP_IPV4, ETH_IPV4,
                   np.where(proto == PPP_IPV6, ETH_IPV6, np.where(proto == PPP_MPLS, ETH_MPLS, -1)))
    ethertype = np.where(cisco, rd.u16(off + 2), ppp)
    pos = np.where(cisco, off + 4, p + np.where(short, 1, 2))
    return ethertype.astype(np.int64), pos.astype(np.int64)


# a record's original length may count the 4-byte frame check sequence (IEEE 802.3 §3.2.9) that the capturing
# NIC stripped: ics_iti omron/omron_test.pcap's records are all 4 bytes short of their original length, nothing cut
FCS_LEN = 4


def snapped(batch: PacketBatch, h: Headers) -> Bool:
    """Packets the capture cut short of their original length (a snap length): records shorter than it that lack
    IP payload their headers announce, or more than an FCS short of it. (A whole record whose IP length claims
    more than it holds is malformed, not cut: its dissection is refused alike, engine/dispatch.py.)"""
    short = batch.wirelen.astype(np.int64) - batch.caplen
    out: Bool = (short > 0) & ((h.pay_len < h.pay_wire) | (short > FCS_LEN))
    return out


def _network(rd: _Reader, *, ethertype: I64, pos: I64, end: I64, linked: Bool, llc: Bool,
             error: npt.NDArray[np.int8]) -> dict[str, Any]:
    """VLAN tags, MPLS and PPPoE, LLC/SNAP, then IP and transport: what follows a link header at ``pos``."""
    n = int(pos.shape[0])
    pos = pos.copy()
    ethertype = ethertype.copy()
    vlan = np.zeros(n, dtype=np.int64)
    outer = np.zeros(n, dtype=np.int64)
    tpid = linked & ((ethertype == 0x8100) | (ethertype == 0x88A8) | (ethertype == 0x9100))  # VLAN_TPIDS
    for depth in range(MAX_VLAN_TAGS):  # 802.1Q §9.6: TPID, TCI (VID = low 12 bits), then type
        k = np.flatnonzero(tpid & (pos + 4 <= end))
        if not k.shape[0]:
            break
        vid = rd.u16(pos[k]) & 0x0FFF
        if depth == 0:
            outer[k] = vid
        vlan[k] = vid
        ethertype[k] = rd.u16(pos[k] + 2)
        pos[k] += 4
        tpid = linked & np.isin(ethertype, VLAN_TPIDS)
    tunnel = _label_stacks(rd, ethertype, pos, end)

    # IEEE 802.2 LLC: a type field <= 1500 is a length; SNAP (AA AA 03) adds OUI + PID (RFC 1042)
    snap = np.full(n, -1, dtype=np.int64)
    k = np.flatnonzero((linked & (ethertype >= 0) & (ethertype <= 1500)) | llc)  # SLL: 0x0004 is 802.2 LLC
    if k.shape[0]:
        p = pos[k]
        is_snap = (p + 8 <= end[k]) & (rd.u16(p) == 0xAAAA) & (rd.u8(p + 2) == 3)
        oui, pid = rd.u32(p + 2) & 0xFFFFFF, rd.u16(p + 6)
        rfc1042 = is_snap & (oui == 0)  # encapsulated Ethernet type
        ethertype[k] = np.where(rfc1042, pid, -1)
        snap[k] = np.where(is_snap & ~rfc1042, (oui << 16) | pid, -1)
        pos[k] = np.where(is_snap, p + 8, p)
        error[k[llc[k] & ~is_snap]] = E_WLAN + R_NOT_SNAP

    ip = _decode_ip(rd, ethertype, pos, end, error)
    return {"vlan": vlan.astype(np.int32), "outer_vlan": outer.astype(np.int32),
            "ethertype": ethertype.astype(np.int32), "snap": snap, "l3_off": pos, "tunnel": tunnel, **ip}


def _label_stacks(rd: _Reader, ethertype: I64, pos: I64, end: I64) -> npt.NDArray[np.int8]:
    """MPLS label stacks and PPPoE session headers skipped in place to the IP packet they carry.

    MPLS (RFC 3032 §2.1): 4-byte entries until the bottom-of-stack bit; what follows is IPv4 or IPv6 by
    its version nibble (a pseudowire's Ethernet or control word is left undecoded). PPPoE session stage
    (RFC 2516 §4): VER/TYPE 0x11, CODE 0, session id, length, then the PPP protocol (RFC 1661 §2).
    Returns the encapsulation removed per packet (T_MPLS, T_PPPOE or 0); others keep their ethertype.
    """
    n = int(pos.shape[0])
    tunnel = np.zeros(n, dtype=np.int8)
    k = np.flatnonzero((ethertype == ETH_PPPOE_SESSION) & (pos + 8 <= end))
    if k.shape[0]:
        p = pos[k]
        ppp = rd.u16(p + 6)
        inner = np.where(ppp == PPP_IPV4, ETH_IPV4, np.where(ppp == PPP_IPV6, ETH_IPV6, -1))
        ok = (rd.u8(p) == 0x11) & (rd.u8(p + 1) == 0) & (inner > 0)
        k, inner = k[ok], inner[ok]
        ethertype[k], pos[k], tunnel[k] = inner, pos[k] + 8, T_PPPOE
    k = np.flatnonzero(((ethertype == ETH_MPLS) | (ethertype == ETH_MPLS_MC)) & (pos + 4 <= end))
    at = pos[k]
    for _ in range(MAX_MPLS_LABELS):
        if not k.shape[0]:
            break
        bottom = (rd.u8(at + 2) & 1) == 1
        at = at + 4
        done, more = k[bottom], ~bottom & (at + 4 <= end[k])
        if done.shape[0]:
            first = at[bottom]
            version = rd.u8(first) >> 4
            inner = np.where(version == 4, ETH_IPV4, np.where(version == 6, ETH_IPV6, -1))
            ok = (inner > 0) & (first < end[done])
            ethertype[done[ok]], pos[done[ok]], tunnel[done[ok]] = inner[ok], first[ok], T_MPLS
        k, at = k[more], at[more]
    return tunnel


def _decapsulate(rd: _Reader, cols: dict[str, Any], error: npt.NDArray[np.int8]) -> None:
    """Replace each tunnel packet's columns by its inner frame's, when that frame decodes."""
    for _ in range(MAX_TUNNEL_DEPTH):
        inner = _tunnel_inner(rd, cols, error)
        if inner is None:
            return
        idx, kind, start, stop, eth, ethertype, vni = inner
        m = int(idx.shape[0])
        sub_error = np.zeros(m, dtype=np.int8)
        net = _network(rd, ethertype=np.where(eth, rd.u16(start + 12), ethertype), pos=np.where(eth, start + 14, start),
                       end=stop, linked=eth, llc=np.zeros(m, dtype=bool), error=sub_error)
        ok = sub_error == 0
        if not ok.any():
            return
        rows = idx[ok]
        outer_tunnel = cols["tunnel"][rows]
        wire = cols["pay_wire"][rows] - (start[ok] - cols["pay_off"][rows])
        for name, values in net.items():
            cols[name][rows] = values[ok]
        cols["tunnel"][rows] = np.where(outer_tunnel > 0, outer_tunnel, kind[ok])
        cols["vni"][rows] = _nest_vni(cols["vni"][rows], vni[ok])
        cols["src_mac_off"][rows] = np.where(eth[ok], start[ok] + 6, -1)
        cols["dst_mac_off"][rows] = np.where(eth[ok], start[ok], -1)
        cols["l2_end"][rows] = stop[ok]
        cols["wlan_mgmt"][rows] = -1
        cols["frame_len"][rows] = np.maximum(wire, 0)


def _nest_vni(outer: I64, vni: I64) -> I64:
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


class _Inner(NamedTuple):
    rows: I64
    kind: npt.NDArray[np.int8]
    start: I64  # where the inner frame starts
    stop: I64  # where the outer payload, so the inner frame, ends
    eth: Bool  # the inner frame is Ethernet (else IP of ``ethertype``)
    ethertype: I64
    vni: I64  # the VXLAN/Geneve VNI, -1 for other encapsulations


def _tunnel_inner(rd: _Reader, cols: dict[str, Any], error: npt.NDArray[np.int8]) -> _Inner | None:
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
    k, b0, ptype = _keep(((b0 >> 6) == 0) & np.isin(ptype, (GRE_TEB, ETH_IPV4, ETH_IPV6)), k, b0, ptype)
    add(k, T_GENEVE, pay[k] + 8 + (b0 & 0x3F) * 4, ptype == GRE_TEB, np.where(ptype == GRE_TEB, -1, ptype),
        rd.u32(pay[k] + 4) >> 8)

    k = np.flatnonzero(live & (proto == 47) & (pay_len >= 4))
    flags, ptype = rd.u16(pay[k]), rd.u16(pay[k] + 2)
    known = np.isin(ptype, (GRE_TEB, ETH_IPV4, ETH_IPV6, ETH_MPLS, GRE_ERSPAN_2, GRE_ERSPAN_3))
    k, flags, ptype = _keep(((flags & 0x4007) == 0) & known, k, flags, ptype)  # no routing, version 0
    span = pay[k] + 4 + 4 * (((flags & 0x8000) != 0).astype(np.int64) + ((flags & 0x2000) != 0)
                             + ((flags & 0x1000) != 0))
    span += np.where((ptype == GRE_ERSPAN_2) & ((flags & 0x1000) != 0), 8, 0)  # type I: no sequence, no header
    span += np.where(ptype == GRE_ERSPAN_3, 12 + 8 * (rd.u8(span + 11) & 1), 0)
    erspan = (ptype == GRE_ERSPAN_2) | (ptype == GRE_ERSPAN_3)
    eth = (ptype == GRE_TEB) | erspan
    add(k, np.where(erspan, T_ERSPAN, T_GRE).astype(np.int8), span, eth, np.where(eth, -1, ptype))

    k = np.flatnonzero(live & ((proto == 4) | (proto == 41)) & (pay_len >= 20))
    add(k, T_IPIP, pay[k], False, np.where(proto[k] == 4, ETH_IPV4, ETH_IPV6))

    k, at = _gtp_user_data(rd, np.flatnonzero(live & (proto == 17) & (dport == GTPU_PORT) & (pay_len >= 8 + 20)), pay)
    version = rd.u8(at) >> 4
    k, at, version = _keep((version == 4) | (version == 6), k, at, version)
    add(k, T_GTP, at, False, np.where(version == 4, ETH_IPV4, ETH_IPV6))

    k = np.flatnonzero(live & (proto == 17) & ((dport == TEREDO_PORT) | (cols["sport"] == TEREDO_PORT))
                       & (pay_len >= 40))
    k, at = _teredo_ipv6(rd, k, pay, pay + cols["pay_wire"])  # the announced end: a snapped one still checks
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
    return _Inner(rows[fits], kind[fits], start[fits], stop[fits], eth[fits], ethertype[fits], vni[fits])


def _gtp_user_data(rd: _Reader, k: I64, pay: I64) -> tuple[I64, I64]:
    """GTPv1-U G-PDUs (3GPP TS 29.281 §5.1-5.2: version 1, PT 1, message type 255) among ``k``, and where
    their T-PDU starts: after the 8-byte header, 4 more bytes when E, S or PN is set, then each
    extension header (its first byte is its length in 4-byte units, its last the next type)."""
    b0, mtype = rd.u8(pay[k]), rd.u8(pay[k] + 1)
    k, b0 = _keep(((b0 >> 5) == 1) & ((b0 & 0x10) != 0) & (mtype == 0xFF), k, b0)
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


def _teredo_ipv6(rd: _Reader, k: I64, pay: I64, wire_end: I64) -> tuple[I64, I64]:
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


def _keep(mask: Bool, *arrays: I64) -> tuple[I64, ...]:
    return tuple(a[mask] for a in arrays)


def _decode_ip(rd: _Reader, ethertype: I64, pos: I64, end: I64, error: npt.NDArray[np.int8]) -> dict[str, Any]:
    n = int(pos.shape[0])
    ipver = np.zeros(n, dtype=np.int8)
    proto = np.full(n, -1, dtype=np.int64)
    ttl = np.zeros(n, dtype=np.int64)
    src_hi = np.zeros(n, dtype=np.uint64)
    src_lo = np.zeros(n, dtype=np.uint64)
    dst_hi = np.zeros(n, dtype=np.uint64)
    dst_lo = np.zeros(n, dtype=np.uint64)
    frag = np.zeros(n, dtype=bool)
    frag_head = np.zeros(n, dtype=bool)
    l4 = pos.copy()
    ip_end = end.copy()  # announced end of the IP packet (may exceed the capture when snapped)

    # IPv4, RFC 791 §3.1
    v4 = (ethertype == ETH_IPV4) & (error == 0)
    short = v4 & (pos + 20 > end)
    error[short] = E_SHORT_IP
    v4 &= ~short
    idx = np.flatnonzero(v4)
    p = pos[idx]
    b0 = rd.u8(p)
    ihl = (b0 & 0x0F) * 4
    total = rd.u16(p + 2)
    bad = ((b0 >> 4) != 4) | (ihl < 20) | ((total < ihl) & (total != 0))  # 0: TSO, length unknown
    cut = ~bad & (p + ihl > end[idx])
    error[idx[bad]] = E_BAD_IP
    error[idx[cut]] = E_SHORT_IP
    good = ~(bad | cut)
    idx, p, ihl, total = idx[good], p[good], ihl[good], total[good]
    ipver[idx] = 4
    flags_offset = rd.u16(p + 6)  # flags (DF 0x4000, MF 0x2000) and fragment offset (§3.1)
    frag[idx] = (flags_offset & 0x1FFF) != 0  # only the first fragment has ports
    frag_head[idx] = (flags_offset & 0x3FFF) == 0x2000
    ttl[idx] = rd.u8(p + 8)
    proto[idx] = rd.u8(p + 9)
    src_lo[idx] = rd.u32(p + 12).astype(np.uint64) | IPV4_MAPPED
    dst_lo[idx] = rd.u32(p + 16).astype(np.uint64) | IPV4_MAPPED
    l4[idx] = p + ihl
    ip_end[idx] = np.where(total > 0, p + total, end[idx])

    # IPv6, RFC 8200 §3
    v6 = (ethertype == ETH_IPV6) & (error == 0)
    short = v6 & (pos + 40 > end)
    error[short] = E_SHORT_IP
    v6 &= ~short
    idx = np.flatnonzero(v6)
    p = pos[idx]
    bad = (rd.u8(p) >> 4) != 6
    error[idx[bad]] = E_BAD_IP
    idx, p = idx[~bad], p[~bad]
    ipver[idx] = 6
    plen = rd.u16(p + 4)
    nxt = rd.u8(p + 6)
    ttl[idx] = rd.u8(p + 7)
    src_hi[idx], src_lo[idx] = rd.u64(p + 8), rd.u64(p + 16)
    dst_hi[idx], dst_lo[idx] = rd.u64(p + 24), rd.u64(p + 32)
    here = p + 40
    stop = np.where(plen > 0, here + plen, end[idx])  # 0: jumbogram (RFC 2675), use the capture
    ip_end[idx] = stop
    for _ in range(MAX_IPV6_EXT):
        ext = np.isin(nxt, IPV6_EXT) & (here + 8 <= np.minimum(stop, end[idx]))
        if not ext.any():
            break
        e = here[ext]
        fragment = nxt[ext] == 44  # RFC 8200 §4.5: offset in the high 13 bits of bytes 2-3
        offset_m = rd.u16(e[fragment] + 2)
        frag[idx[ext][fragment]] = (offset_m >> 3) != 0
        frag_head[idx[ext][fragment]] = (offset_m & 0xFFF9) == 1  # offset 0, M set (reserved bits ignored)
        size = np.where(nxt[ext] == 44, 8, np.where(nxt[ext] == 51, (rd.u8(e + 1) + 2) * 4, (rd.u8(e + 1) + 1) * 8))
        nxt[ext] = rd.u8(e)
        here[ext] = e + size
    proto[idx] = nxt
    l4[idx] = here

    is_ip = ipver > 0
    ports = _decode_transport(rd, proto=proto, l4=l4, ip_end=ip_end, end=end, has_l4=is_ip & ~frag, error=error)
    return {
        "ipver": ipver,
        "proto": proto.astype(np.int16),
        "ttl": ttl.astype(np.int16),
        "src_hi": src_hi,
        "src_lo": src_lo,
        "dst_hi": dst_hi,
        "dst_lo": dst_lo,
        "frag": frag & is_ip,
        "frag_head": frag_head & is_ip,
        **ports,
    }


def _decode_transport(
    rd: _Reader, *, proto: I64, l4: I64, ip_end: I64, end: I64, has_l4: Bool, error: npt.NDArray[np.int8]
) -> dict[str, Any]:
    n = int(l4.shape[0])
    sport = np.zeros(n, dtype=np.int64)
    dport = np.zeros(n, dtype=np.int64)
    flags = np.zeros(n, dtype=np.int64)
    seq = np.zeros(n, dtype=np.int64)
    ack = np.zeros(n, dtype=np.int64)
    pay = l4.copy()
    pay_end = np.minimum(ip_end, end)
    wire_end = ip_end.copy()

    # TCP, RFC 9293 §3.1: ports, seq, ack, data offset (4-byte words), flags
    tcp = has_l4 & (proto == 6)
    short = tcp & (l4 + 20 > end)
    error[short] = E_SHORT_TCP
    idx = np.flatnonzero(tcp & ~short)
    q = l4[idx]
    doff = (rd.u8(q + 12) >> 4) * 4
    bad = (doff < 20) | (q + doff > ip_end[idx])
    error[idx[bad]] = E_BAD_TCP
    idx, q, doff = idx[~bad], q[~bad], doff[~bad]
    sport[idx], dport[idx] = rd.u16(q), rd.u16(q + 2)
    seq[idx] = rd.u32(q + 4)
    ack[idx] = rd.u32(q + 8)
    flags[idx] = rd.u8(q + 13)
    pay[idx] = q + doff

    # UDP, RFC 768: ports, length (header included), checksum
    udp = has_l4 & (proto == 17)
    short = udp & (l4 + 8 > end)
    error[short] = E_SHORT_UDP
    idx = np.flatnonzero(udp & ~short)
    q = l4[idx]
    sport[idx], dport[idx] = rd.u16(q), rd.u16(q + 2)
    ulen = rd.u16(q + 4)
    pay[idx] = q + 8
    sane = ulen >= 8
    wire_end[idx] = np.where(sane, np.minimum(q + ulen, ip_end[idx]), ip_end[idx])
    pay_end[idx] = np.minimum(wire_end[idx], end[idx])

    # ICMP (RFC 792) and ICMPv6 (RFC 4443 §2.1): the type is the message's first byte
    icmp_type = np.full(n, -1, dtype=np.int64)
    idx = np.flatnonzero(has_l4 & ((proto == 1) | (proto == 58)) & (l4 + 4 <= end))
    icmp_type[idx] = rd.u8(l4[idx])

    is_ip = proto >= 0
    failed = error != 0
    pay_len = np.where(is_ip & ~failed, np.maximum(pay_end - pay, 0), 0)
    pay_wire = np.where(is_ip & ~failed, np.maximum(wire_end - pay, 0), 0)
    return {
        "sport": sport.astype(np.int32),
        "dport": dport.astype(np.int32),
        "tcp_flags": flags.astype(np.int16),
        "icmp_type": icmp_type.astype(np.int16),
        "seq": seq,
        "ack": ack,
        "pay_off": pay,
        "pay_len": pay_len,
        "pay_wire": pay_wire,
    }


def addr_texts(ipver: np.ndarray, hi: U64, lo: U64) -> list[str]:
    """Addresses as text (inet_ntop), converting each distinct address once."""
    if not ipver.shape[0]:
        return []
    six = ipver == 6
    if not six.any():  # IPv4 only: the low half is the address (one fast 1-D unique)
        uniq4, inverse = np.unique(lo, return_inverse=True)
        octet = _OCTETS
        texts = [f"{octet[v >> 24 & 255]}.{octet[v >> 16 & 255]}.{octet[v >> 8 & 255]}.{octet[v & 255]}"
                 for v in uniq4.tolist()]
        return [texts[i] for i in inverse.ravel().tolist()]
    keys = np.stack([hi, lo, six.astype(np.uint64)], axis=1)
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    texts = [addr_text(6 if v6 else 4, h, low) for h, low, v6 in uniq.tolist()]
    return [texts[i] for i in inverse.ravel().tolist()]


# IPv4 text from a table of the 256 octets: inet_ntop's dotted quad (no leading zeros) at half its cost
_OCTETS = tuple(str(i) for i in range(256))


def addr_text(ipver: int, hi: int, lo: int) -> str:
    """One address as text: IPv4 dotted quad, IPv6 RFC 5952 (inet_ntop)."""
    if ipver == 4:
        octet = _OCTETS
        return f"{octet[lo >> 24 & 255]}.{octet[lo >> 16 & 255]}.{octet[lo >> 8 & 255]}.{octet[lo & 255]}"
    return socket.inet_ntop(socket.AF_INET6, hi.to_bytes(8, "big") + lo.to_bytes(8, "big"))


def mac48(data: npt.NDArray[np.uint8], off: I64) -> I64:
    """The 48-bit MACs at byte offsets ``off`` of ``data`` as integers; -1 where ``off`` is -1."""
    out = np.full(off.shape[0], -1, dtype=np.int64)
    has = np.flatnonzero(off >= 0)
    if has.shape[0]:
        rd = _Reader(data)
        at = off[has]
        out[has] = (rd.u16(at) << 32) | rd.u32(at + 2)
    return out


def mac_texts(values: I64) -> list[str | None]:
    """48-bit MACs (-1: unknown) as lowercase ``aa:bb:cc:dd:ee:ff``, each distinct one once."""
    if not values.shape[0]:
        return []
    uniq, inverse = np.unique(values, return_inverse=True)
    texts = [v.to_bytes(6, "big").hex(":") if v >= 0 else None for v in uniq.tolist()]
    return [texts[i] for i in inverse.ravel().tolist()]
