"""A Linux romfs reader (Documentation/filesystems/romfs.rst): no Debian package extracts romfs
(genromfs only builds images), and unblob's romfs extractor writes in-process with no byte or file
budget, so unblob only finds the chunk (:mod:`.carving`) and this reader unpacks it, charging every
entry to the sandbox budget as it writes. Every header is bounds-checked, cycles and depth are
bounded, names are single path components and links may not leave the root."""

from __future__ import annotations

import struct
from pathlib import Path

from iotwarden.errors import FirmwareError
from iotwarden.firmware.sandbox import LimitExceeded, Sandbox, link_escapes

MAGIC = b"-rom1fs-"
ALIGN = 16
MAX_NAME = 4096  # bytes of one entry name (the format has no limit; PATH_MAX bounds it in practice)
MAX_DIR_DEPTH = 64  # nested directories followed
# romfs.rst: low 3 bits of "next" are the type, bit 3 the executable flag
TYPE_HARDLINK, TYPE_DIR, TYPE_FILE, TYPE_SYMLINK = 0, 1, 2, 3
EXEC_BIT = 0x8


def _align(n: int) -> int:
    return (n + ALIGN - 1) & ~(ALIGN - 1)


def _name(data: bytes, off: int) -> tuple[str, int]:
    """The NUL-terminated, 16-byte padded name at ``off`` and the offset after its padding."""
    end = data.find(b"\x00", off, off + MAX_NAME)
    if end < 0:
        raise FirmwareError(f"romfs: unterminated name at {off:#x}")
    return data[off:end].decode("latin-1"), off + _align(end - off + 1)


def extract_romfs(src: Path, out: Path, sb: Sandbox, where: str) -> None:
    data = src.read_bytes()
    if len(data) < 32 or data[:8] != MAGIC:
        raise FirmwareError(f"{where}: not a romfs image")
    full_size = struct.unpack_from(">I", data, 8)[0]  # superblock: full size of the file system
    if full_size < 32:
        raise FirmwareError(f"{where}: romfs size {full_size} is implausible")
    if full_size > len(data):
        sb.report("truncated", where, f"romfs says {full_size} bytes, {len(data)} present")
    _vol, first = _name(data, 16)
    root = out / "root"
    root.mkdir(mode=0o700)
    _walk_dir(data, first, root, "", sb=sb, where=where, seen=set(), depth=0)


def _walk_dir(
    data: bytes, off: int, dest: Path, rel: str, *, sb: Sandbox, where: str, seen: set[int], depth: int
) -> None:
    if depth > MAX_DIR_DEPTH:
        raise LimitExceeded("limit.depth", f"{where}: romfs directories nested deeper than {MAX_DIR_DEPTH}")
    while off:
        if off in seen or off + 16 > len(data) or off % ALIGN:
            sb.report("malformed", where, f"romfs header at {off:#x} is out of bounds, misaligned or a cycle")
            return
        seen.add(off)
        nxt, spec, size, _csum = struct.unpack_from(">4I", data, off)
        name, body = _name(data, off + 16)
        kind = nxt & 0x7
        off = nxt & ~0xF
        if name in (".", "..") or kind == TYPE_HARDLINK:
            continue  # directory self/parent links; other hard links would duplicate content
        if not name or "/" in name or "\x00" in name:
            sb.report("path_traversal", where, f"romfs entry name {name!r} refused")
            continue
        path, entry_rel = dest / name, f"{rel}/{name}".lstrip("/")
        sb.budget.add_files()
        if kind == TYPE_DIR:
            path.mkdir(mode=0o700, exist_ok=True)
            _walk_dir(data, spec & ~0xF, path, entry_rel, sb=sb, where=where, seen=seen, depth=depth + 1)
        elif kind in (TYPE_FILE, TYPE_SYMLINK):
            if body + size > len(data):
                sb.report("truncated", f"{where}/{entry_rel}", "romfs file data runs past the image")
                continue
            payload = data[body : body + size]
            if kind == TYPE_SYMLINK:
                target = payload.split(b"\x00", 1)[0].decode("latin-1")
                if link_escapes(entry_rel, target):
                    sb.report("symlink_escape", f"{where}/{entry_rel}", f"link to {target!r} leaves the image root")
                else:
                    path.symlink_to(target)
                continue
            sb.budget.check_file(size)
            sb.budget.add_bytes(size)
            path.write_bytes(payload)
            path.chmod(0o700 if nxt & EXEC_BIT else 0o600)
        else:
            sb.report("special_file", f"{where}/{entry_rel}", "romfs device node, socket or FIFO skipped")
