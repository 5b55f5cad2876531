"""Single-stream decompressors (gzip, bzip2, xz, lzma, lz4, zstd) from the standard library and the
lz4/zstandard packages, fed in chunks so that output size and compression ratio stay bounded."""

from __future__ import annotations

import bz2
import lzma
import posixpath
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import lz4.frame
import zstandard

from iotwarden.errors import FirmwareError
from iotwarden.firmware.sandbox import LimitExceeded, Sandbox

CHUNK = 1 << 20  # compressed bytes fed per step
MIN_RATIO_CHECK = 1 << 20  # the ratio limit applies once this many bytes are out (tiny files compress well)


class _Decomp(Protocol):
    def decompress(self, data: bytes) -> bytes: ...


def _gzip_name(head: bytes) -> str | None:
    """FNAME of a gzip member (RFC 1952 §2.3.1), a base name only."""
    if len(head) < 10 or not head[3] & 0x08:
        return None
    pos = 10
    if head[3] & 0x04:  # FEXTRA: XLEN then data
        pos += 2 + int.from_bytes(head[10:12], "little")
    end = head.find(b"\x00", pos)
    if end <= pos:
        return None
    name = posixpath.basename(head[pos:end].decode("latin-1").replace("\\", "/"))
    return name if name not in ("", ".", "..") else None


def _factory(fmt: str) -> Callable[[], _Decomp]:
    factories: dict[str, Callable[[], _Decomp]] = {
        "gzip": lambda: zlib.decompressobj(wbits=31),
        "bzip2": bz2.BZ2Decompressor,
        "xz": lambda: lzma.LZMADecompressor(format=lzma.FORMAT_XZ),
        "lzma": lambda: lzma.LZMADecompressor(format=lzma.FORMAT_ALONE),
        "lz4": lz4.frame.LZ4FrameDecompressor,
        "zstd": lambda: zstandard.ZstdDecompressor().decompressobj(),
    }
    return factories[fmt]


def decompress(
    src: Path, fmt: str, offset: int, length: int, out: Path, *, sb: Sandbox, where: str
) -> tuple[Path, int]:
    """Decompress the stream of ``fmt`` at ``offset`` of ``src`` (at most ``length`` bytes in) into a
    file in ``out``; returns that file and the compressed bytes the stream spans.
    Raises :class:`LimitExceeded` on a bomb, FirmwareError if corrupt."""
    with src.open("rb") as f:
        f.seek(offset)
        head = f.read(512)
        name = (_gzip_name(head) if fmt == "gzip" else None) or f"{src.name}.{fmt}-unpacked"
        target = out / name
        f.seek(offset)
        dec = _factory(fmt)()
        consumed = produced = 0
        limits = sb.limits
        try:
            with target.open("wb") as w:
                while consumed < length:
                    chunk = f.read(min(CHUNK, length - consumed))
                    if not chunk:
                        break
                    consumed += len(chunk)
                    data = dec.decompress(chunk)
                    produced += len(data)
                    if produced > limits.max_file_bytes:
                        raise LimitExceeded(
                            "limit.file_bytes", f"{fmt} stream expands past {limits.max_file_bytes} bytes"
                        )
                    if produced > MIN_RATIO_CHECK and produced > limits.max_ratio * consumed:
                        raise LimitExceeded(
                            "limit.ratio",
                            f"{fmt} stream expands {produced // max(consumed, 1)}x (limit {limits.max_ratio}x)",
                        )
                    sb.budget.add_bytes(len(data))
                    w.write(data)
                    if getattr(dec, "eof", False):
                        break
        except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError, RuntimeError, zstandard.ZstdError) as exc:
            if produced == 0:
                target.unlink(missing_ok=True)
                raise FirmwareError(f"{where}: corrupt {fmt} stream: {exc}") from None
            sb.report("truncated", where, f"{fmt} stream ends early after {produced} bytes: {exc}")
    sb.budget.add_files()
    if produced == 0 and not getattr(dec, "eof", True):
        target.unlink(missing_ok=True)
        raise FirmwareError(f"{where}: empty or truncated {fmt} stream")
    return target, consumed - len(getattr(dec, "unused_data", b"") or b"")
