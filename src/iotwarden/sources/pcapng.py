"""pcapng captures: sections, interfaces and packet blocks streamed into PacketBatches.

Format: draft-ietf-opsawg-pcapng (IETF): Section Header Block §4.1 (byte order per section),
Interface Description Block §4.2 (link type, snaplen, if_tsresol, if_tsoffset), Enhanced Packet
Block §4.3, Simple Packet Block §4.4, the obsolete Packet Block (Appendix A); other blocks skipped.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from iotwarden.engine.batch import PacketBatch
from iotwarden.errors import CaptureError
from iotwarden.model.epoch import EPOCH_END_S, EPOCH_START_S
from iotwarden.sources.chunks import ChunkReader, Int64Array, gather_u32, walk_chain, wire_lengths
from iotwarden.sources.linktypes import SUPPORTED_LINKTYPES, linktype_name, normalise_linktype, supported_names

SHB = 0x0A0D0D0A  # §4.1, a palindrome: the same in both byte orders
BYTE_ORDER_MAGIC = 0x1A2B3C4D
IDB, PB, SPB, EPB = 1, 2, 3, 6
OPT_IF_TSRESOL, OPT_IF_TSOFFSET = 9, 14  # §4.2 options
# a block longer than this is damage, not data (Wireshark's limit for one block is 16 MiB)
MAX_BLOCK = 16 * 1024 * 1024
MAX_TICKS_PER_SECOND = 10**18  # if_tsresol beyond 10^-18 s cannot be represented

Buffer = bytes | bytearray | memoryview


@dataclass(slots=True)
class Interface:
    linktype: int
    snaplen: int
    ticks_per_second: int = 1_000_000  # §4.2 if_tsresol default: microseconds
    offset: int = 0  # if_tsoffset, seconds


@dataclass(slots=True)
class Section:
    big_endian: bool
    interfaces: list[Interface] = field(default_factory=list)
    checked: bool = False  # link types verified at the first packet


def is_pcapng_magic(head: bytes) -> bool:
    return len(head) >= 4 and struct.unpack_from("<I", head)[0] == SHB


def parse_shb(buf: Buffer, pos: int) -> tuple[Section, int] | str:
    """A section header at ``pos`` and its length, or a description of the damage."""
    if pos + 12 > len(buf):
        return "section header cut short"
    bom = struct.unpack_from("<I", buf, pos + 8)[0]
    if bom == BYTE_ORDER_MAGIC:
        big = False
    elif bom == 0x4D3C2B1A:
        big = True
    else:
        return f"section header has no byte-order magic (0x{bom:08x})"
    blen = struct.unpack_from(">I" if big else "<I", buf, pos + 4)[0]
    if blen < 28 or blen % 4 or blen > MAX_BLOCK:
        return f"section header length {blen} is invalid"
    return Section(big), blen


def parse_idb(buf: Buffer, pos: int, blen: int, big: bool) -> Interface | str:
    """An interface description (§4.2) with its timestamp options, or a description of damage."""
    if blen < 20:
        return f"interface block length {blen} is too short"
    order = ">" if big else "<"
    linktype, _, snaplen = struct.unpack_from(order + "HHI", buf, pos + 8)
    iface = Interface(normalise_linktype(linktype), snaplen)
    opt, end = pos + 16, pos + blen - 4
    while opt + 4 <= end:
        code, length = struct.unpack_from(order + "HH", buf, opt)
        value = opt + 4
        if code == 0:
            break
        if value + length > end:  # §3.5: an option's value lies within its block
            return f"interface block option {code} at +{opt - pos} claims {length} bytes, past the block's end"
        if code == OPT_IF_TSRESOL and length >= 1:
            res = int(buf[value])
            ticks = 2 ** (res & 0x7F) if res & 0x80 else 10**res
            if ticks > MAX_TICKS_PER_SECOND:
                return f"if_tsresol {res} is beyond representable resolution"
            iface.ticks_per_second = ticks
        elif code == OPT_IF_TSOFFSET and length >= 8:
            iface.offset = struct.unpack_from(order + "q", buf, value)[0]
        opt = value + (length + 3) // 4 * 4
    return iface


class _Walk:
    """Block walk over one chunk of one section."""

    def __init__(self, buf: npt.NDArray[np.uint8], section: Section) -> None:
        self.buf = buf.data
        self.section = section
        self.end = len(buf)
        self.damage: str | None = None
        self.at_shb = False
        self._u32 = struct.Struct((">" if section.big_endian else "<") + "I").unpack_from

    def step(self, pos: int) -> int | None:
        u32, buf = self._u32, self.buf
        if pos + 12 > self.end:
            return None
        btype, blen = u32(buf, pos)[0], u32(buf, pos + 4)[0]
        if btype == SHB:
            self.at_shb = True
            return None
        if blen < 12 or blen % 4 or blen > MAX_BLOCK:
            self.damage = f"block type {btype} has invalid length {blen}"
            return None
        if pos + blen > self.end:
            return None
        if u32(buf, pos + blen - 4)[0] != blen:
            self.damage = f"block type {btype}: trailing length does not match {blen}"
            return None
        if btype == IDB:
            iface = parse_idb(buf, pos, blen, self.section.big_endian)
            if isinstance(iface, str):
                self.damage = iface
                return None
            self.section.interfaces.append(iface)
        elif btype in (EPB, PB) and (blen < 32 or u32(buf, pos + 20)[0] > blen - 32):
            self.damage = f"packet block of {blen} bytes claims {u32(buf, pos + 20)[0]} captured bytes"
            return None
        elif btype == SPB and blen < 16:
            self.damage = f"simple packet block length {blen} is too short"
            return None
        return pos + int(blen)

    def scan_walk(self, start: int) -> tuple[Int64Array, int]:
        """Vectorised: candidates are aligned words equal to the EPB type with consistent lengths."""
        end = self.end
        words = np.frombuffer(self.buf, ">u4" if self.section.big_endian else "<u4", count=end // 4)  # aligned
        cand = np.flatnonzero(words == EPB).astype(np.int64)
        cand = cand[(cand * 4 >= start) & (cand + 8 <= words.shape[0])]
        blen = words[cand + 1].astype(np.int64)
        caplen = words[cand + 5].astype(np.int64)
        ok = (blen >= 32) & (blen % 4 == 0) & (caplen <= blen - 32) & (cand * 4 + blen <= end)
        cand, blen = cand[ok], blen[ok]
        ok = words[cand + blen // 4 - 1] == blen
        cand, blen = cand[ok] * 4, blen[ok]
        return walk_chain(start, end, cand, cand + blen, self.step)


def iter_batches(reader: ChunkReader, batch_size: int) -> Iterator[PacketBatch]:
    """PacketBatches of every packet block; CaptureError (after yielding) on damage."""
    buf = reader.buf
    pos = 0
    packets = 0
    section: Section | None = None
    last_ts = 0.0

    def fail(what: str, at: int) -> CaptureError:
        return CaptureError(
            f"{reader.path}: {what} at byte {reader.file_offset + at}; {packets} packets read before the damage",
            packets_read=packets,
        )

    while True:
        end = len(buf)
        if pos + 12 <= end and struct.unpack_from("<I", buf.data, pos)[0] == SHB:
            parsed = parse_shb(buf.data, pos)
            if isinstance(parsed, str):
                raise fail(parsed, pos)
            if pos + parsed[1] <= end:
                section, pos = parsed[0], pos + parsed[1]
                continue
            stop = pos
        elif section is None:
            raise fail("pcapng stream does not start with a section header", pos)
        else:
            walk = _Walk(buf, section)
            starts, stop = walk.scan_walk(pos)
            if starts.shape[0] and not section.checked and section.interfaces:
                linktypes = {i.linktype for i in section.interfaces}
                if not linktypes & SUPPORTED_LINKTYPES:
                    names = ", ".join(linktype_name(lt) for lt in sorted(linktypes))
                    raise CaptureError(f"{reader.path}: unsupported link type {names}; supported: {supported_names()}")
                section.checked = True
            if starts.shape[0]:
                for batch, error in _batches(buf, starts, section, batch_size, last_ts):
                    if error is not None:
                        raise fail(*error)
                    packets += len(batch)
                    if len(batch):
                        last_ts = float(batch.ts[-1])
                    yield batch
            if walk.damage is not None:
                raise fail(walk.damage, stop)
            if walk.at_shb:
                pos = stop
                continue
        if reader.eof:
            if stop < end:
                raise fail(f"capture truncated: block cut short ({end - stop} bytes left)", stop)
            return
        need = 0
        if stop + 8 <= end:
            order = ">I" if section is not None and section.big_endian else "<I"
            need = min(struct.unpack_from(order, buf.data, stop + 4)[0], MAX_BLOCK)
        buf = reader.refill(stop, need)
        pos = 0


def _batches(
    buf: npt.NDArray[np.uint8], starts: Int64Array, section: Section, batch_size: int, last_ts: float
) -> Iterator[tuple[PacketBatch, tuple[str, int] | None]]:
    """PacketBatches of the packet blocks at ``starts``; the last comes with (damage, its block's position)
    when a block names an interface the section did not define."""
    big = section.big_endian
    data = buf
    words = gather_u32(data, starts, 2, big)
    btype, blen = words[:, 0], words[:, 1].astype(np.int64)
    keep = (btype == EPB) | (btype == PB) | (btype == SPB)
    if not keep.any():
        return
    starts, btype, blen = starts[keep], btype[keep], blen[keep]
    n = int(starts.shape[0])
    simple = btype == SPB
    # EPB and PB share the layout after the interface id: ts high, ts low, caplen, original length
    f = gather_u32(data, starts + 8, 5, big)  # garbage for SPBs, overwritten below
    iface = np.where(btype == PB, (f[:, 0] >> 16) if big else (f[:, 0] & 0xFFFF), f[:, 0]).astype(np.int64)
    iface[simple] = 0
    caplen = f[:, 3].astype(np.int64)
    wirelen = f[:, 4].astype(np.int64)
    offsets = starts + 28
    error: tuple[str, int] | None = None
    ifaces = section.interfaces
    nif = len(ifaces)
    bad = iface >= nif
    if bad.any():
        first = int(np.argmax(bad))
        error = f"packet block refers to interface {int(iface[first])} but {nif} are defined", int(starts[first])
        n = first
    linktypes = np.array([i.linktype for i in ifaces] or [0], dtype=np.uint16)
    ticks = np.array([i.ticks_per_second for i in ifaces] or [1], dtype=np.uint64)
    shift = np.array([i.offset for i in ifaces] or [0], dtype=np.float64)
    snap = np.array([i.snaplen or MAX_BLOCK for i in ifaces] or [MAX_BLOCK], dtype=np.int64)
    iface = np.minimum(iface, max(nif - 1, 0))
    if simple.any():  # §4.4: original length, data to the block end, captured length implied
        orig = gather_u32(data, starts[simple] + 8, 1, big)[:, 0].astype(np.int64)
        wirelen[simple] = orig
        caplen[simple] = np.minimum(np.minimum(orig, blen[simple] - 16), snap[0])
        offsets[simple] = starts[simple] + 12
    raw = (f[:, 1].astype(np.uint64) << np.uint64(32)) | f[:, 2].astype(np.uint64)
    per = ticks[iface]
    sec = raw // per
    ts = sec.astype(np.float64) + (raw - sec * per).astype(np.float64) / per.astype(np.float64) + shift[iface]
    if simple.any():  # no timestamp in an SPB: carry the previous packet's
        known = np.where(simple, -1, np.arange(ts.shape[0]))
        prev = np.maximum.accumulate(known)
        ts = np.where(prev >= 0, ts[np.maximum(prev, 0)], last_ts)
    unshowable = ~((ts >= EPOCH_START_S) & (ts < EPOCH_END_S))  # model/epoch.showable, vectorised
    if unshowable[:n].any():  # a 64-bit time, resolution and offset may state one past year 9999
        first = int(np.argmax(unshowable[:n]))
        error = f"packet block time {float(ts[first]):.6g} s is outside the years 1 to 9999", int(starts[first])
        n = first
    out_lt = linktypes[iface]
    c32, w32 = caplen.astype(np.int32), wire_lengths(wirelen, caplen)
    for lo in range(0, n, batch_size):
        hi = min(lo + batch_size, n)
        yield PacketBatch(data, offsets[lo:hi], c32[lo:hi], w32[lo:hi], ts[lo:hi], out_lt[lo:hi]), None
    if error is not None:
        empty = np.empty(0, dtype=np.int64)
        yield PacketBatch(data, empty, empty.astype(np.int32), empty.astype(np.int32),
                          empty.astype(np.float64), empty.astype(np.uint16)), error
