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
from typing import Any

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
from iotwarden.engine.headers import (
    AF_INET,
    AF_INET6,
    CISCO_HDLC_ADDRESSES,
    E_BAD_IP,
    E_BAD_TCP,
    E_LINKTYPE,
    E_OK,
    E_SHORT_IP,
    E_SHORT_LINK,
    E_SHORT_UDP,
    E_WLAN,
    ERROR_REASONS,
    ETH_IPV4,
    ETH_IPV6,
    ETH_MPLS,
    ETH_MPLS_MC,
    ETH_PPPOE_SESSION,
    I64,
    IPV4_MAPPED,
    MAX_MPLS_LABELS,
    MAX_VLAN_TAGS,
    PPP_IPV4,
    PPP_IPV6,
    PPP_MPLS,
    U64,
    VLAN_TPIDS,
    Bool,
    Headers,
    Reader,
)
from iotwarden.engine.ipheaders import decode_ip
from iotwarden.engine.tunnels import (
    GENEVE_PORT,
    GTPU_PORT,
    MAX_TUNNEL_DEPTH,
    T_ERSPAN,
    T_GENEVE,
    T_GRE,
    T_GTP,
    T_IPIP,
    T_MPLS,
    T_PPPOE,
    T_TEREDO,
    T_VXLAN,
    TEREDO_PORT,
    TUNNELS,
    VNI_FIELD,
    VNI_PRESENT,
    VXLAN_PORT,
    nest_vni,
    tunnel_inner,
    vni_list,
)
from iotwarden.engine.wlan import R_NOT_SNAP, wlan_link
from iotwarden.engine.wlan import SHORT as WLAN_SHORT

# the names other modules read from here, moved to engine/headers.py, ipheaders.py and tunnels.py (split from this
# module), stay importable from here
__all__ = ["ERROR_REASONS", "E_BAD_IP", "E_BAD_TCP", "E_LINKTYPE", "E_OK", "E_SHORT_IP", "E_SHORT_LINK", "E_SHORT_UDP",
           "FCS_LEN", "GENEVE_PORT", "GTPU_PORT", "IPV4_MAPPED", "TEREDO_PORT", "TUNNELS", "T_ERSPAN", "T_GENEVE",
           "T_GRE", "T_GTP", "T_IPIP", "T_MPLS", "T_PPPOE", "T_TEREDO", "T_VXLAN", "VNI_FIELD", "VNI_PRESENT",
           "VXLAN_PORT", "Headers", "addr_text", "addr_texts", "decode", "mac48", "mac_texts", "snapped", "vni_list"]


def decode(batch: PacketBatch) -> Headers:
    """Header columns for every packet of ``batch``."""
    rd = Reader(batch.data)
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
    too_deep = _decapsulate(rd, cols, error)
    return Headers(error=error, too_deep=too_deep, **cols)


def _serial_link(rd: Reader, lt: I64, off: I64) -> tuple[I64, I64]:
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


def _network(rd: Reader, *, ethertype: I64, pos: I64, end: I64, linked: Bool, llc: Bool,
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

    ip = decode_ip(rd, ethertype, pos, end, error)
    return {"vlan": vlan.astype(np.int32), "outer_vlan": outer.astype(np.int32),
            "ethertype": ethertype.astype(np.int32), "snap": snap, "l3_off": pos, "tunnel": tunnel, **ip}


def _label_stacks(rd: Reader, ethertype: I64, pos: I64, end: I64) -> npt.NDArray[np.int8]:
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


def _decapsulate(rd: Reader, cols: dict[str, Any], error: npt.NDArray[np.int8]) -> int:
    """Replace each tunnel packet's columns by its inner frame's, when that frame decodes; how many packets hold a
    tunnel nested deeper than MAX_TUNNEL_DEPTH (left as that tunnel's packet: an attacker nesting to hide what it
    carries is counted, never silent, as Zeek's exceeded_tunnel_max_depth weird)."""
    for depth in range(MAX_TUNNEL_DEPTH + 1):
        inner = tunnel_inner(rd, cols, error)
        if inner is None:
            return 0
        idx, kind, start, stop, eth, ethertype, vni = inner
        m = int(idx.shape[0])
        sub_error = np.zeros(m, dtype=np.int8)
        net = _network(rd, ethertype=np.where(eth, rd.u16(start + 12), ethertype), pos=np.where(eth, start + 14, start),
                       end=stop, linked=eth, llc=np.zeros(m, dtype=bool), error=sub_error)
        ok = sub_error == 0
        if not ok.any():
            return 0
        if depth == MAX_TUNNEL_DEPTH:  # one more inside that would decode: left, counted
            return int(ok.sum())
        rows = idx[ok]
        outer_tunnel = cols["tunnel"][rows]
        wire = cols["pay_wire"][rows] - (start[ok] - cols["pay_off"][rows])
        for name, values in net.items():
            cols[name][rows] = values[ok]
        cols["tunnel"][rows] = np.where(outer_tunnel > 0, outer_tunnel, kind[ok])
        cols["vni"][rows] = nest_vni(cols["vni"][rows], vni[ok])
        cols["src_mac_off"][rows] = np.where(eth[ok], start[ok] + 6, -1)
        cols["dst_mac_off"][rows] = np.where(eth[ok], start[ok], -1)
        cols["l2_end"][rows] = stop[ok]
        cols["wlan_mgmt"][rows] = -1
        cols["frame_len"][rows] = np.maximum(wire, 0)
    return 0


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
        rd = Reader(data)
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
