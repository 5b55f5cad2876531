"""MBR partition tables (the classic DOS layout: four 16-byte entries at offset 446, signature 0x55AA at
510): each primary partition is copied out as its own file for the driver to identify."""

from __future__ import annotations

import itertools
import struct
from pathlib import Path

from iotwarden.errors import FirmwareError
from iotwarden.firmware.sandbox import Sandbox

SECTOR = 512
TABLE_OFFSET = 446
EXTENDED_TYPES = {0x05, 0x0F, 0x85}  # extended partitions chain further tables: not followed
COPY_CHUNK = 1 << 20


def mbr_partitions(head: bytes) -> list[tuple[int, int, int, int]]:
    """(number, type, start byte, size in bytes) of the non-empty primary partitions, or [] when the
    sector is not a plausible MBR (boot flag 0x00/0x80, start after the table, no overlap)."""
    if len(head) < SECTOR or head[510:512] != b"\x55\xaa":
        return []
    parts = []
    for i in range(4):
        status, ptype, start, count = struct.unpack_from("<B3xB3xII", head, TABLE_OFFSET + 16 * i)
        if ptype == 0 and start == 0 and count == 0:
            continue
        if status not in (0x00, 0x80) or ptype == 0 or start == 0 or count == 0:
            return []
        parts.append((i + 1, ptype, start * SECTOR, count * SECTOR))
    spans = sorted((s, s + n) for _, _, s, n in parts)
    if not parts or any(b[0] < a[1] for a, b in itertools.pairwise(spans)):
        return []
    return parts


def extract_mbr(src: Path, out: Path, sb: Sandbox, where: str) -> list[dict[str, int]]:
    """Copy each primary partition to ``out/partN.bin``; returns the table."""
    size = src.stat().st_size
    with src.open("rb") as f:
        parts = mbr_partitions(f.read(SECTOR))
        if not parts:
            raise FirmwareError(f"{where}: not a plausible MBR partition table")
        table = []
        for num, ptype, start, length in parts:
            table.append({"partition": num, "type": ptype, "start": start, "size": length})
            if ptype in EXTENDED_TYPES:
                sb.report("unsupported", f"{where}/part{num}", "extended partition chains are not followed")
                continue
            if start >= size:
                sb.report("truncated", f"{where}/part{num}", f"partition starts at {start}, past the image end")
                continue
            avail = min(length, size - start)
            if avail < length:
                sb.report("truncated", f"{where}/part{num}", f"partition has {avail} of {length} bytes")
            sb.budget.check_file(avail)
            sb.budget.add_bytes(avail)
            sb.budget.add_files()
            f.seek(start)
            with (out / f"part{num}.bin").open("wb") as w:
                left = avail
                while left > 0 and (chunk := f.read(min(left, COPY_CHUNK))):
                    w.write(chunk)
                    left -= len(chunk)
    return table
