"""Test helper: build small pcap / pcapng captures and frames in memory (dpkt for the frames).

Used by the reader and engine tests to produce exactly the case under test (byte order, timestamp
resolution, interfaces, truncation, VLAN tags, 802.11 and radiotap headers, TCP sequences) next to the
assertion about it.
"""

from __future__ import annotations

import socket
import struct
import zlib

import dpkt
import numpy as np

from iotwarden.engine.batch import PacketBatch

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def pcap_bytes(
    packets: list[tuple[float, bytes]],
    *,
    linktype: int = 1,
    big_endian: bool = False,
    nano: bool = False,
    snaplen: int = 65535,
    caplen: int | None = None,
) -> bytes:
    """A classic pcap file; ``caplen`` snaps every record to that many bytes (wire length kept)."""
    o = ">" if big_endian else "<"
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = [struct.pack(o + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)]
    scale = 1_000_000_000 if nano else 1_000_000
    for ts, frame in packets:
        sec = int(ts)
        frac = round((ts - sec) * scale)
        data = frame if caplen is None else frame[:caplen]
        out.append(struct.pack(o + "IIII", sec, frac, len(data), len(frame)) + data)
    return b"".join(out)


def _block(o: str, btype: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    total = len(body) + 12
    return struct.pack(o + "II", btype, total) + body + struct.pack(o + "I", total)


def _option(o: str, code: int, value: bytes) -> bytes:
    return struct.pack(o + "HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def pcapng_bytes(
    interfaces: list[tuple[int, int | None]],
    packets: list[tuple[int, int, bytes]],
    *,
    big_endian: bool = False,
    kind: str = "epb",
) -> bytes:
    """A one-section pcapng: ``interfaces`` as (linktype, if_tsresol byte or None); ``packets`` as
    (interface, timestamp in that interface's ticks, frame); ``kind`` epb, spb or pb blocks."""
    o = ">" if big_endian else "<"
    out = [_block(o, 0x0A0D0D0A, struct.pack(o + "IHHq", 0x1A2B3C4D, 1, 0, -1))]
    for linktype, tsresol in interfaces:
        opts = b""
        if tsresol is not None:
            opts = _option(o, 9, bytes([tsresol])) + _option(o, 0, b"")
        out.append(_block(o, 1, struct.pack(o + "HHI", linktype, 0, 0) + opts))
    for iface, ticks, frame in packets:
        hi, lo = ticks >> 32, ticks & 0xFFFFFFFF
        if kind == "epb":
            out.append(_block(o, 6, struct.pack(o + "IIIII", iface, hi, lo, len(frame), len(frame)) + frame))
        elif kind == "pb":
            out.append(_block(o, 2, struct.pack(o + "HHIIII", iface, 0, hi, lo, len(frame), len(frame)) + frame))
        else:
            out.append(_block(o, 3, struct.pack(o + "I", len(frame)) + frame))
    return b"".join(out)


def mac(i: int) -> bytes:
    return bytes([2, 0, 0, 0, (i >> 8) & 255, i & 255])


def ipv4(text: str) -> bytes:
    return socket.inet_pton(socket.AF_INET, text)


def ethernet(l3: bytes, *, src: int = 1, dst: int = 2, ethertype: int = 0x0800, vlans: tuple[int, ...] = ()) -> bytes:
    """An Ethernet frame; ``vlans`` outer first (802.1ad S-tag 0x88a8 for the outer of two)."""
    header = mac(dst) + mac(src)
    for depth, vid in enumerate(vlans):
        tpid = 0x88A8 if depth == 0 and len(vlans) > 1 else 0x8100
        header += struct.pack(">HH", tpid, vid)
    return header + struct.pack(">H", ethertype) + l3


def tcp(  # noqa: PLR0917 - reads like a packet literal in the tests: tcp(C, S, 1000, 80, SYN, seq)
    src: str, dst: str, sport: int, dport: int, flags: int = ACK, seq: int = 0, payload: bytes = b"", *, ttl: int = 64,
    ack: int = 0,
) -> bytes:
    seg = dpkt.tcp.TCP(sport=sport, dport=dport, seq=seq % 2**32, ack=ack % 2**32, flags=flags, data=payload)
    return bytes(dpkt.ip.IP(src=ipv4(src), dst=ipv4(dst), p=6, ttl=ttl, data=seg))


def udp(src: str, dst: str, sport: int, dport: int, payload: bytes = b"") -> bytes:
    dgram = dpkt.udp.UDP(sport=sport, dport=dport, data=payload)
    dgram.ulen = 8 + len(payload)
    return bytes(dpkt.ip.IP(src=ipv4(src), dst=ipv4(dst), p=17, data=dgram))


def batch_of(frames: list[tuple[float, bytes]], linktype: int | list[int] = 1) -> PacketBatch:
    """A PacketBatch of whole frames (caplen = wire length), as a reader would hand it over."""
    data = np.frombuffer(b"".join(f for _, f in frames) or b"\0", dtype=np.uint8)
    lengths = np.array([len(f) for _, f in frames], dtype=np.int64)
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64) if frames else lengths
    types = linktype if isinstance(linktype, list) else [linktype] * len(frames)
    return PacketBatch(data, offsets, lengths.astype(np.int32), lengths.astype(np.int32),
                       np.array([t for t, _ in frames], dtype=np.float64), np.array(types, dtype=np.uint16))


def dot11_data(
    l3: bytes, *, src: int = 1, dst: int = 2, bssid: int = 3, tods: bool = True, fromds: bool = False,
    qos: bool = False, htc: bool = False, protected: bool = False, subtype: int | None = None, ethertype: int = 0x0800,
    fragment: int = 0, amsdu: bool = False,
) -> bytes:
    """An IEEE 802.11 data frame (802.11-2020 §9.3.2.1) with an LLC/SNAP header (RFC 1042) before ``l3``;
    the addresses placed by To DS/From DS as Table 9-26 says (a four-address frame's receiver and
    transmitter are the BSSID and the BSSID + 1)."""
    sub = subtype if subtype is not None else (8 if qos else 0)
    flags = (1 if tods else 0) | (2 if fromds else 0) | (0x40 if protected else 0) | (0x80 if htc else 0)
    da, sa, bs = mac(dst), mac(src), mac(bssid)
    if tods and fromds:
        addrs = mac(bssid) + mac(bssid + 1) + da + struct.pack("<H", fragment) + sa
    else:
        a1, a2, a3 = (bs, sa, da) if tods else (da, bs, sa) if fromds else (da, sa, bs)
        addrs = a1 + a2 + a3 + struct.pack("<H", fragment)
    header = struct.pack("<BBH", (sub << 4) | (2 << 2), flags, 0) + addrs
    if sub & 8:
        header += struct.pack("<H", 0x80 if amsdu else 0)
        if htc:
            header += b"\0\0\0\0"
    return header + b"\xaa\xaa\x03\x00\x00\x00" + struct.pack(">H", ethertype) + l3


def radiotap(frame: bytes, *, flags: int | None = None, tsft: bool = False, extra_words: int = 0) -> bytes:
    """``frame`` behind a radiotap header (radiotap.org): TSFT and Flags when asked, ``extra_words``
    more presence bitmaps, and the frame's FCS appended when ``flags`` has 0x10."""
    present = (1 if tsft else 0) | (2 if flags is not None else 0)
    words = [present | (0x8000_0000 if extra_words else 0)]
    words += [0x8000_0000 if i < extra_words - 1 else 0 for i in range(extra_words)]
    body = b"".join(struct.pack("<I", w) for w in words)
    fields = b""
    if tsft:
        fields += b"\0" * (-(4 + len(body)) % 8) + struct.pack("<Q", 123456789)
    if flags is not None:
        fields += bytes([flags])
    length = 4 + len(body) + len(fields)
    fcs = struct.pack("<I", zlib.crc32(frame)) if flags is not None and flags & 0x10 else b""
    return struct.pack("<BBH", 0, 0, length) + body + fields + frame + fcs
