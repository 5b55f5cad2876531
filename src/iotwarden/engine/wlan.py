"""IEEE 802.11 link layer of a batch (radiotap header, MAC header of data frames), vectorised.

A data frame carrying an MSDU yields where its LLC/SNAP header starts and its source and
destination MACs, so :func:`iotwarden.engine.decode.decode` goes on exactly as behind Ethernet; any
other frame (management, control, protected, null data, ...) gets the reason it carries no packet. A
management frame of a subtype in :data:`MGMT_FIXED` also yields where its elements start and its
addresses, for the dissectors that read them (``Dissector.wlan_management``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]

# Presence bitmaps read at most (radiotap.org "it_present": bit 31 announces one more 32-bit word);
# Linux mac80211 writes one per antenna plus one, so 8 covers 6 antennas. Past it: bad header.
RADIOTAP_MAX_PRESENT_WORDS = 8
RADIOTAP_MIN_LEN = 8  # version, pad, length (u16 little-endian), first presence word
# radiotap.org/fields/Flags (presence bit 1; after TSFT, presence bit 0, a u64 aligned to 8)
RT_FLAG_FCS = 0x10  # the frame ends with its 4-byte FCS
RT_FLAG_DATA_PAD = 0x20  # padding between the 802.11 header and the body, to a 32-bit boundary
RT_FLAG_BAD_FCS = 0x40  # the frame failed its FCS check: its bytes are not what was sent
FCS_LEN = 4

# IEEE 802.11-2020 §9.2.4.1 Frame Control: protocol version (bits 0-1), type (2-3), subtype (4-7);
# flags byte: To DS 0x01, From DS 0x02, Protected 0x40, +HTC/Order 0x80
WLAN_MANAGEMENT, WLAN_DATA = 0, 2
WLAN_TODS, WLAN_FROMDS, WLAN_PROTECTED, WLAN_ORDER = 0x01, 0x02, 0x40, 0x80
WLAN_HEADER_LEN = 24  # §9.3.2.1: frame control, duration, address 1-3, sequence control
# subtype bit 3: QoS (§9.2.4.1.3 Table 9-1); subtype bit 2: no data (Null, CF-Ack, CF-Poll, ...)
SUBTYPE_QOS, SUBTYPE_NO_DATA = 0x8, 0x4
QOS_AMSDU = 0x80  # QoS Control bit 7, A-MSDU Present (§9.2.4.5.1): the body is A-MSDU subframes
HT_CONTROL_LEN = 4  # §9.2.4.6: present in a management frame when +HTC/Order is set (§9.3.3.2)
# management subtype -> bytes of fixed fields before its elements (§9.3.3): Association Request
# (Capability Information, Listen Interval), Reassociation Request (+ Current AP address), Probe
# Request (none), Probe Response and Beacon (Timestamp, Beacon Interval, Capability Information)
MGMT_FIXED = {0: 4, 2: 10, 4: 0, 5: 12, 8: 12}

# why a frame holds no packet for the engine, beyond "too short" (codes below: 1 + index here)
REASONS = (
    "bad_radiotap_header",
    "wlan_bad_fcs",
    "wlan_bad_version",
    "wlan_management",
    "wlan_control",
    "wlan_extension",
    "wlan_null_data",
    "wlan_protected",
    "wlan_fragment",
    "wlan_amsdu",
    "wlan_not_snap",
)
SHORT = -1  # shorter than its radiotap or 802.11 header
(R_BAD_RADIOTAP, R_BAD_FCS, R_VERSION, R_MANAGEMENT, R_CONTROL, R_EXTENSION, R_NULL_DATA, R_PROTECTED,
 R_FRAGMENT, R_AMSDU, R_NOT_SNAP) = range(1, len(REASONS) + 1)


@dataclass(slots=True)
class WlanLink:
    """Per frame: ``reason`` 0 (a data frame with an MSDU), :data:`SHORT`, or 1 + index in :data:`REASONS`."""

    reason: I64
    body: I64  # start of the frame body (the LLC header) where reason is 0; of the elements where mgmt >= 0
    end: I64  # end of the frame without its FCS
    src_mac: I64  # offset of the source address (SA; a management frame's transmitter), else -1
    dst_mac: I64  # offset of the destination address (DA)
    mgmt: I64  # subtype of a management frame in MGMT_FIXED whose elements can be read, else -1


def wlan_link(u8: Callable[[I64], I64], off: I64, end: I64, radiotap: Bool, whole: Bool) -> WlanLink:
    """The 802.11 frames starting at ``off`` (a radiotap header first where ``radiotap``), captured
    up to ``end``; ``whole``: the frame was captured to its last byte, so an FCS it has is there.
    ``u8`` reads bytes at offsets, clipped to the buffer (every value read is checked before use)."""
    n = off.shape[0]
    reason = np.zeros(n, dtype=np.int64)
    end = end.copy()
    start = off.copy()
    flags = np.zeros(n, dtype=np.int64)
    k = np.flatnonzero(radiotap)
    if k.shape[0]:
        reason[k], start[k], flags[k], fcs = _radiotap(u8, off[k], end[k] - off[k])
        end[k] = np.where(fcs & whole[k], end[k] - FCS_LEN, end[k])
    m = np.flatnonzero(reason == 0)
    src = np.full(n, -1, dtype=np.int64)
    dst = np.full(n, -1, dtype=np.int64)
    p = start[m]
    room = end[m] - p
    fc0, fc1 = u8(p), u8(p + 1)
    ftype, subtype = (fc0 >> 2) & 3, fc0 >> 4
    tods, fromds = (fc1 & WLAN_TODS) != 0, (fc1 & WLAN_FROMDS) != 0
    qos = (ftype == WLAN_DATA) & ((subtype & SUBTYPE_QOS) != 0)
    qos_at = WLAN_HEADER_LEN + 6 * (tods & fromds)  # §9.3.2.1: Address 4 only with both DS bits
    hlen = qos_at + 2 * qos + 4 * (qos & ((fc1 & WLAN_ORDER) != 0))  # QoS Control, then HT Control (+HTC)
    hlen = np.where((flags[m] & RT_FLAG_DATA_PAD) != 0, (hlen + 3) & ~3, hlen)
    reason[m] = np.select(
        [
            room < 2,
            (fc0 & 3) != 0,
            ftype == 0,
            ftype == 1,
            ftype == 3,
            room < hlen,
            (subtype & SUBTYPE_NO_DATA) != 0,
            (fc1 & WLAN_PROTECTED) != 0,
            (u8(p + 22) & 0x0F) != 0,  # fragment number, low 4 bits of Sequence Control (§9.2.4.4)
            qos & ((u8(p + qos_at) & QOS_AMSDU) != 0),
        ],
        [SHORT, R_VERSION, R_MANAGEMENT, R_CONTROL, R_EXTENSION, SHORT, R_NULL_DATA, R_PROTECTED, R_FRAGMENT,
         R_AMSDU],
        0,
    )
    # §9.3.2.1 Table 9-26, by (To DS, From DS): DA is Address 1 unless To DS (then Address 3); SA is
    # Address 2 without From DS, else Address 3, or Address 4 when both are set
    ok = reason[m] == 0
    dst[m] = np.where(ok, np.where(tods, p + 16, p + 4), -1)
    src[m] = np.where(ok, np.where(~fromds, p + 10, np.where(tods, p + 24, p + 16)), -1)
    start[m] = p + hlen
    # management frames (§9.3.3.2): DA Address 1, SA Address 2, then HT Control (+HTC), fixed fields, elements
    fixed = np.select([subtype == s for s in MGMT_FIXED], list(MGMT_FIXED.values()), -1)
    elements = WLAN_HEADER_LEN + HT_CONTROL_LEN * ((fc1 & WLAN_ORDER) != 0) + fixed
    readable = (reason[m] == R_MANAGEMENT) & (fixed >= 0) & ((fc1 & WLAN_PROTECTED) == 0) & (room >= elements)
    mgmt = np.full(n, -1, dtype=np.int64)
    mgmt[m] = np.where(readable, subtype, -1)
    dst[m] = np.where(readable, p + 4, dst[m])
    src[m] = np.where(readable, p + 10, src[m])
    start[m] = np.where(readable, p + elements, start[m])
    return WlanLink(reason, start, end, src, dst, mgmt)


def _radiotap(u8: Callable[[I64], I64], off: I64, room: I64) -> tuple[I64, I64, I64, Bool]:
    """(reason, start of the 802.11 frame, radiotap Flags or 0, FCS present) of radiotap headers at ``off``.

    radiotap.org: version 0, pad, it_len (u16 little-endian, the whole header), presence words; each
    field aligned to its size from the header's start, in presence bit order (TSFT, then Flags)."""
    hlen = u8(off + 2) | (u8(off + 3) << 8)
    words = np.ones(off.shape[0], dtype=np.int64)
    more = (u8(off + 7) & 0x80) != 0
    for _ in range(RADIOTAP_MAX_PRESENT_WORDS - 1):
        if not more.any():
            break
        words += more
        more &= (u8(off + 4 * words + 3) & 0x80) != 0
    fields = 4 + 4 * words
    present = u8(off + 4)
    has_flags = (present & 2) != 0
    flags_at = np.where((present & 1) != 0, ((fields + 7) & ~7) + 8, fields)
    short = (room < RADIOTAP_MIN_LEN) | (hlen > room)
    bad = (u8(off) != 0) | (hlen < RADIOTAP_MIN_LEN) | more | (fields > hlen) | (has_flags & (flags_at >= hlen))
    flags = np.where(has_flags & ~bad & ~short, u8(off + flags_at), 0)
    reason = np.where(short & (room < RADIOTAP_MIN_LEN), SHORT, np.where(bad, R_BAD_RADIOTAP, np.where(
        short, SHORT, np.where((flags & RT_FLAG_BAD_FCS) != 0, R_BAD_FCS, 0))))
    return reason, off + hlen, flags, (flags & RT_FLAG_FCS) != 0
