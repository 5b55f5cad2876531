"""Identification of containers by their magic numbers and header sanity checks: which format sits
at which offset and, where the header says so, how many bytes it spans. No carving beyond this."""

from __future__ import annotations

import mmap
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from iotwarden.firmware.extract.partitions import mbr_partitions

MAX_SCAN_HITS = 256  # embedded containers located in one blob; more is a sign of noise, not structure
HEAD_BYTES = 4096  # header bytes checked per candidate (a UBIFS superblock node is 4096 bytes)


@dataclass(frozen=True, slots=True)
class Hit:
    fmt: str  # "squashfs", "cramfs", "gzip", ... (keys of :data:`MAGICS`)
    offset: int
    size: int | None = None  # bytes the container spans when its header says so


# format -> (magic, offset of the magic inside the header). Sources: squashfs-tools squashfs_fs.h,
# util-linux cramfs_common.h, RFC 1952 §2.3.1 (gzip), bzip2 format, xz-file-format §2.1.1.1,
# LZ4 frame format §3 (magic 0x184D2204), RFC 8878 §3.1.1 (zstd), PKWARE APPNOTE §4.3.7 (zip),
# POSIX ustar, cpio(5) (newc "070701", crc "070702", odc "070707"), U-Boot image.h (IH_MAGIC),
# Linux jffs2.h (JFFS2_MAGIC_BITMASK 0x1985), UBI ubi-media.h (UBI_EC_HDR_MAGIC "UBI#"), UBIFS
# ubifs-media.h (UBIFS_NODE_MAGIC 0x06101831, little-endian), romfs.txt.
MAGICS: dict[str, list[tuple[bytes, int]]] = {
    "squashfs": [(b"hsqs", 0), (b"sqsh", 0)],
    "cramfs": [(b"\x45\x3d\xcd\x28", 0), (b"\x28\xcd\x3d\x45", 0)],
    "gzip": [(b"\x1f\x8b\x08", 0)],
    "bzip2": [(b"BZh", 0)],
    "xz": [(b"\xfd7zXZ\x00", 0)],
    "lz4": [(b"\x04\x22\x4d\x18", 0)],
    "zstd": [(b"\x28\xb5\x2f\xfd", 0)],
    "zip": [(b"PK\x03\x04", 0)],
    "tar": [(b"ustar", 257)],
    "cpio": [(b"070701", 0), (b"070702", 0), (b"070707", 0)],
    "uimage": [(b"\x27\x05\x19\x56", 0)],
    "jffs2": [(b"\x85\x19", 0), (b"\x19\x85", 0)],
    "ubi": [(b"UBI#", 0)],
    "ubifs": [(b"\x31\x18\x10\x06", 0)],
    "romfs": [(b"-rom1fs-", 0)],
    "matter_ota": [(b"\x1e\xf1\xee\x1b", 0)],  # Matter Core Spec §11.21.2: file identifier 0x1BEEF11E (LE)
}
# formats without a usable magic, recognised only at offset 0 of a file or carved region:
# YAFFS2 (first chunk is the root's object header: type, parent id 1, 0xFFFF checksum, name) and an
# MBR partition table (0x55AA at 510 with sane entries, see partitions.py)
YAFFS2_HEADS = (b"\x01\x00\x00\x00\x01\x00\x00\x00\xff\xff", b"\x03\x00\x00\x00\x01\x00\x00\x00\xff\xff")
# lzma "alone" files have no magic, only a properties byte; identified at offset 0 only
LZMA_PROPS = 0x5D
ZIP_METHODS = {0, 1, 6, 8, 9, 12, 14, 93, 95, 98, 99}  # APPNOTE §4.4.5 (99: AE-x encrypted)
JFFS2_NODETYPES = {0xE001, 0xE002, 0x2003, 0x2004, 0xE006, 0xE008, 0xE009}
UBIFS_SB_NODE = 6  # ubifs-media.h: the superblock node a bare UBIFS image starts with
# formats whose every block or node repeats the magic (a UBI EC header per erase block, a JFFS2 header
# per node): a hit this close after one of the same format continues that image, it does not start one
RUN_GAP = {"ubi": 4 * 1024 * 1024, "jffs2": 1024 * 1024}


def _u32(data: bytes, off: int, big: bool) -> int:
    return int(struct.unpack_from(">I" if big else "<I", data, off)[0])


def _crc32_ubi(data: bytes) -> int:
    """The kernel's ``crc32(UBI_CRC32_INIT = ~0, ...)`` of UBI and UBIFS: zlib's CRC-32 uninverted."""
    return zlib.crc32(data) ^ 0xFFFFFFFF


def _crc32_jffs2(data: bytes) -> int:
    """The kernel's ``crc32(0, ...)`` of JFFS2 (seed 0, no inversions) over zlib's CRC-32."""
    return zlib.crc32(data, 0xFFFFFFFF) ^ 0xFFFFFFFF


def check(fmt: str, head: bytes, remaining: int) -> Hit | None:
    """Validate the header ``head`` (bytes from the magic's container start) of ``fmt``; returns a Hit
    at offset 0 with the size when known, or None when the header is not plausible."""
    try:
        return _check(fmt, head, remaining)
    except (struct.error, IndexError):
        return None


def _check(fmt: str, head: bytes, remaining: int) -> Hit | None:
    size: int | None = None
    if fmt == "squashfs":
        big = head[:4] == b"sqsh"
        major = struct.unpack_from(">H" if big else "<H", head, 28)[0]
        if major not in (1, 2, 3, 4):
            return None
        if major == 4:  # struct squashfs_super_block: bytes_used at 40 (squashfs_fs.h)
            size = int(struct.unpack_from("<Q", head, 40)[0])
    elif fmt == "cramfs":
        big = head[:4] == b"\x28\xcd\x3d\x45"
        if head[16:32] != b"Compressed ROMFS":  # cramfs_super.signature
            return None
        size = _u32(head, 4, big)
    elif fmt == "gzip":
        # RFC 1952 §2.3.1: FLG reserved bits zero, XFL 0/2/4, OS 0..13 or 255 (unknown)
        if head[3] & 0xE0 or head[8] not in (0, 2, 4) or not (head[9] <= 13 or head[9] == 255):
            return None
    elif fmt == "xz":
        # xz-file-format §2.1.1.2: stream flags (first byte 0, check type < 16) and their CRC-32
        if head[6] or head[7] > 0x0F or _u32(head, 8, False) != zlib.crc32(head[6:8]):
            return None
    elif fmt == "lz4":
        # LZ4 frame format §3: FLG version 01, BD reserved bits zero and block size id 4..7
        if head[4] >> 6 != 1 or head[5] & 0x8F or not 4 <= head[5] >> 4 <= 7:
            return None
    elif fmt == "zstd":
        if head[4] & 0x08:  # RFC 8878 §3.1.1.1.1: Frame_Header_Descriptor reserved bit must be zero
            return None
    elif fmt == "zip":
        # APPNOTE §4.3.7 local file header: version needed <= 6.3, a known method, a name
        version, method = struct.unpack_from("<HxxH", head, 4)
        name_len = struct.unpack_from("<H", head, 26)[0]
        if (version & 0xFF) > 63 or method not in ZIP_METHODS or not 0 < name_len <= 4096:
            return None
    elif fmt == "bzip2":
        if not (0x31 <= head[3] <= 0x39 and head[4:10] == b"1AY&SY"):  # block size digit, block magic
            return None
    elif fmt == "lzma":
        if head[0] != LZMA_PROPS:
            return None
        dict_size = _u32(head, 1, False)
        if dict_size & (dict_size - 1) or not (1 << 12) <= dict_size <= (1 << 30):
            return None
    elif fmt == "uimage":
        # U-Boot image.h: 64-byte header, ih_hcrc = CRC-32 of the header with ih_hcrc zeroed
        hdr = bytearray(head[:64])
        if len(hdr) < 64 or zlib.crc32(bytes(hdr[:4]) + b"\0\0\0\0" + bytes(hdr[8:64])) != _u32(head, 4, True):
            return None
        size = 64 + _u32(head, 12, True)
    elif fmt == "jffs2":
        # struct jffs2_unknown_node: magic, nodetype, totlen, hdr_crc = crc32(0, node, 8)
        big = head[:2] == b"\x19\x85"
        nodetype = struct.unpack_from(">H" if big else "<H", head, 2)[0]
        if nodetype not in JFFS2_NODETYPES or _u32(head, 4, big) < 12:
            return None
        if _u32(head, 8, big) != _crc32_jffs2(head[:8]):
            return None
    elif fmt == "ubi":
        # struct ubi_ec_hdr (ubi-media.h): version 1, hdr_crc at 60 over the 60 bytes before it
        if head[4] != 1 or len(head) < 64 or _u32(head, 60, True) != _crc32_ubi(head[:60]):
            return None
    elif fmt == "ubifs":
        # struct ubifs_ch: crc at 4 over bytes 8..len, len at 16, node_type at 20
        length = _u32(head, 16, False)
        if head[20] != UBIFS_SB_NODE or not 24 < length <= len(head):
            return None
        if _u32(head, 4, False) != _crc32_ubi(head[8:length]):
            return None
    elif fmt == "cpio":
        if not all(c in b"0123456789abcdefABCDEF" for c in head[6:14]):
            return None
    elif fmt == "tar" and head[257:262] != b"ustar":
        return None
    elif fmt == "romfs":
        size = int(struct.unpack_from(">I", head, 8)[0])  # romfs.rst superblock: full size
        # romfs.rst: the 32-bit big-endian words of the first min(512, size) bytes sum to zero
        span = min(512, size) & ~3
        if span < 32 or len(head) < span or sum(struct.unpack_from(f">{span // 4}I", head)) & 0xFFFFFFFF:
            return None
    elif fmt == "matter_ota":
        total, hsize = struct.unpack_from("<QI", head, 4)
        if not 16 < 16 + hsize <= total or hsize > 65536:
            return None
        size = int(total)
    if size is not None and (size <= 0 or size > remaining):
        size = remaining if size and size > remaining else None
    return Hit(fmt, 0, size)


def identify(path: Path) -> Hit | None:
    """The container that starts at offset 0 of ``path``, if any."""
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
    size = path.stat().st_size
    for fmt, magics in MAGICS.items():
        for magic, moff in magics:
            if head[moff : moff + len(magic)] == magic:
                hit = check(fmt, head, size)
                if hit:
                    return hit
    if head[:10] in YAFFS2_HEADS and 0 < head.find(b"\x00", 10) < 10 + 256:
        return Hit("yaffs2", 0, size)
    if mbr_partitions(head):
        return Hit("mbr", 0, size)
    if head:
        return check("lzma", head + bytes(16), size) if head[0] == LZMA_PROPS else None
    return None


def _run_end(fmt: str, data: mmap.mmap, start: int, prev: int) -> int:
    """Where the block at ``start`` of a UBI or JFFS2 run ends: a JFFS2 node says its length (totlen,
    4-aligned); a UBI erase block is as long as the step from the previous EC header at ``prev``."""
    if fmt == "jffs2":
        big = data[start : start + 2] == b"\x19\x85"
        return start + ((_u32(data[start : start + 8], 4, big) + 3) & ~3)
    return start + (start - prev)


def scan(path: Path, max_hits: int = MAX_SCAN_HITS) -> list[Hit]:
    """Every plausible container start in ``path`` (offset order), for raw images that concatenate
    a boot loader, a kernel and file systems. At most ``max_hits`` are returned."""
    hits: list[Hit] = []
    size = path.stat().st_size
    if size == 0:
        return hits
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        for fmt, magics in MAGICS.items():
            if fmt in ("cpio", "tar"):
                continue  # weak magics: recognised at offset 0 of a carved region only
            for magic, moff in magics:
                run: list[int] = []  # RUN_GAP formats: [index in hits, first offset, last block, end]
                pos = mm.find(magic)
                while pos != -1 and len(hits) < max_hits * 4:
                    start = pos - moff
                    if start >= 0:
                        hit = check(fmt, mm[start : start + HEAD_BYTES], size - start)
                        if hit and run and start <= max(run[2], run[3]) + RUN_GAP[fmt]:
                            # the same UBI or JFFS2 image goes on: it spans at least to this block's end
                            run[3] = max(run[3], min(_run_end(fmt, mm, start, run[2]), size))
                            run[2] = start
                            hits[run[0]] = Hit(fmt, run[1], run[3] - run[1])
                        elif hit:
                            hits.append(Hit(fmt, start, hit.size))
                            run = [len(hits) - 1, start, start, start] if fmt in RUN_GAP else []
                    pos = mm.find(magic, pos + 1)
    hits.sort(key=lambda h: h.offset)
    return hits[:max_hits]


def regions(hits: list[Hit], total: int) -> list[Hit]:
    """Non-overlapping regions from scan hits: a hit inside a container whose size is known is that
    container's content, not a new one; a region without a known size ends where the next begins."""
    chosen: list[Hit] = []
    end_known = 0
    for hit in hits:
        if hit.offset < end_known:
            continue
        if chosen and hit.fmt == "zip" and chosen[-1].fmt == "zip" and chosen[-1].size is None:
            continue  # every zip member has a local header: one archive, not many
        chosen.append(hit)
        end_known = hit.offset + hit.size if hit.size else hit.offset + 1
    out: list[Hit] = []
    for i, hit in enumerate(chosen):
        nxt = chosen[i + 1].offset if i + 1 < len(chosen) else total
        out.append(Hit(hit.fmt, hit.offset, hit.size or nxt - hit.offset))
    return out
