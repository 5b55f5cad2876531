"""File-system and boot-image extractors: squashfs (unsquashfs, sized before it writes), cramfs
(util-linux fsck.cramfs), jffs2 (jefferson), YAFFS2 (unyaffs, listed before it writes), UBI/UBIFS
(ubi_reader) and U-Boot legacy uImage
(header parsed here, payload handed back to the driver)."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

from iotwarden.errors import FirmwareError
from iotwarden.firmware.extract.tools import run_tool
from iotwarden.firmware.sandbox import LimitExceeded, Sandbox

# unsquashfs -lln line: "-rwxr-xr-x root/root  1982256 2024-11-02 21:29 squashfs-root/bin/busybox"
_LLN = re.compile(rb"^(\S{10}) \S+\s+(\d+) ")
UIMAGE_HEADER = 64
# U-Boot image.h ih_comp values
UIMAGE_COMP = {0: "none", 1: "gzip", 2: "bzip2", 3: "lzma", 4: "lzo", 5: "lz4", 6: "zstd"}


def extract_squashfs(src: Path, out: Path, sb: Sandbox, where: str) -> None:
    """List first (sizes and entry count against the limits, so a bomb is refused before any write),
    then ``unsquashfs -d``."""
    listing = run_tool(["unsquashfs", "-lln", "-no-progress", str(src)], sb, where).stdout
    matches = (_LLN.match(line) for line in listing.splitlines())
    sb.admit_listing([(m.group(1), int(m.group(2))) for m in matches if m], where)
    run_tool(
        ["unsquashfs", "-no-progress", "-no-xattrs", "-d", str(out / "root"), str(src)], sb, where, ok_codes=(0, 2)
    )


def extract_cramfs(src: Path, out: Path, sb: Sandbox, where: str) -> None:
    run_tool(["fsck.cramfs", f"--extract={out / 'root'}", str(src)], sb, where)


def extract_jffs2(src: Path, out: Path, sb: Sandbox, where: str) -> None:
    run_tool(["jefferson", "-f", "-d", str(out / "root"), str(src)], sb, where)


# unyaffs -v -t line: "-rw-rw-r--      844 2024-09-24 01:56 path/in/image"
_YAFFS_LIST = re.compile(rb"^(\S{10})\s+(\d+)\s+\S+\s+\S+\s+(.+)$")


def extract_yaffs2(src: Path, out: Path, sb: Sandbox, where: str) -> None:
    """YAFFS2 through Debian's unyaffs (flash layout autodetected): listed first, so that names that
    climb out of the root and sizes over the limits are refused before anything is written."""
    listing = run_tool(["unyaffs", "-v", "-t", str(src)], sb, where).stdout
    entries = [m for m in (_YAFFS_LIST.match(line) for line in listing.splitlines()) if m]
    for m in entries:
        name = m.group(3).split(b" -> ", 1)[0].decode("latin-1")
        if name.startswith("/") or ".." in name.split("/"):
            raise LimitExceeded("path_traversal", f"{where}: yaffs2 entry {name!r} would leave the output folder")
    sb.admit_listing([(m.group(1), int(m.group(2))) for m in entries], where)
    run_tool(["unyaffs", str(src), str(out / "root")], sb, where)


def extract_ubi(src: Path, out: Path, sb: Sandbox, where: str) -> None:
    """A UBI image (every volume's UBIFS) or a bare UBIFS image through ubi_reader; it refuses names
    that would resolve outside the output folder itself, and the driver sanitises what it wrote."""
    run_tool(["ubireader_extract_files", "-o", str(out / "root"), str(src)], sb, where)


def uimage_header(head: bytes) -> dict[str, object]:
    """Fields of a U-Boot legacy image header (image.h ``struct legacy_img_hdr``, big-endian)."""
    if len(head) < UIMAGE_HEADER:
        raise FirmwareError("uImage header truncated")
    magic, hcrc, ts, size, load, ep, dcrc, os_, arch, typ, comp = struct.unpack_from(">7I4B", head)
    name = head[32:64].split(b"\x00", 1)[0].decode("latin-1")
    return {
        "magic": magic,
        "header_crc": hcrc,
        "time": ts,
        "data_size": size,
        "load": load,
        "entry": ep,
        "data_crc": dcrc,
        "os": os_,
        "arch": arch,
        "type": typ,
        "compression": UIMAGE_COMP.get(comp, str(comp)),
        "name": name,
    }


def extract_uimage(src: Path, out: Path, sb: Sandbox, where: str) -> dict[str, object]:
    """Write the payload of a uImage to ``out`` after checking its data CRC; returns the header fields."""
    with src.open("rb") as f:
        head = f.read(UIMAGE_HEADER)
        hdr = uimage_header(head)
        size = int(str(hdr["data_size"]))
        sb.budget.check_file(size)
        payload = f.read(size)
    if len(payload) < size:
        sb.report("truncated", where, f"uImage payload has {len(payload)} of {size} bytes")
    elif zlib.crc32(payload) != hdr["data_crc"]:
        sb.report("crc_mismatch", where, "uImage data CRC does not match the header (modified or corrupt image)")
    sb.budget.add_bytes(len(payload))
    sb.budget.add_files()
    (out / "payload.bin").write_bytes(payload)
    return hdr
