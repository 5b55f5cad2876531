"""What tier-1 decode reads and makes: the numbers of the link and IP formats it reads (ethertypes, VLAN TPIDs, IPv6
extension headers, MPLS and PPPoE, PPP protocols, loopback address families), the columns of a decoded batch
(:class:`Headers`) and their error codes (:data:`ERROR_REASONS`), and bounds-clipped reads of a batch's buffer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from iotwarden.engine.wlan import REASONS as WLAN_REASONS

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
    # packets holding a tunnel nested past tunnels.MAX_TUNNEL_DEPTH, left as the packet of that tunnel's two ends
    # (counted in decode_errors tunnel_too_deep)
    too_deep: int = 0


class Reader:
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
