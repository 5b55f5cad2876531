"""PacketBatch: the hand-off from a capture source to the engine (a columnar block of packets).

A source reads records into one contiguous buffer and describes each packet by columns, so the
engine can decode headers for the whole batch with numpy (tier 1) without a Python object per
packet. Link types are per packet (pcapng interfaces may differ), as LINKTYPE_* numbers from
https://www.tcpdump.org/linktypes.html.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

LINKTYPE_NULL = 0  # BSD loopback: 4-byte host-order address family
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101  # raw IPv4/IPv6, version from the first nibble
LINKTYPE_PPP = 9  # PPP (RFC 1661), optionally behind RFC 1662's 0xFF 0x03 address and control
LINKTYPE_PPP_HDLC = 50  # PPP in HDLC-like framing (first byte 0xFF) or Cisco HDLC (0x0F/0x8F), not octet-stuffed
LINKTYPE_C_HDLC = 104  # Cisco HDLC: address, control, a 2-byte Ethernet type
LINKTYPE_IEEE802_11 = 105  # IEEE 802.11 MAC frames (no FCS assumed, as Wireshark does by default)
LINKTYPE_IEEE802_11_RADIOTAP = 127  # radiotap header (radiotap.org), then an 802.11 MAC frame
LINKTYPE_LOOP = 108  # OpenBSD loopback: 4-byte network-order address family
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276


@dataclass(slots=True)
class PacketBatch:
    """``n`` packets: packet ``i`` is ``data[offsets[i] : offsets[i] + caplen[i]]``."""

    data: npt.NDArray[np.uint8]
    offsets: npt.NDArray[np.int64]
    caplen: npt.NDArray[np.int32]
    wirelen: npt.NDArray[np.int32]  # original length on the wire (>= caplen when snapped)
    ts: npt.NDArray[np.float64]  # seconds since the epoch (UTC)
    linktype: npt.NDArray[np.uint16]

    def __len__(self) -> int:
        return int(self.offsets.shape[0])
