"""Single-stream decompressors (gzip, bzip2, xz, lzma, lz4, zstd) from the standard library and the
lz4/zstandard packages, fed in chunks so that output size and compression ratio stay bounded."""

from __future__ import annotations

import bz2
import lzma
import posixpath
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import lz4.frame
import zstandard

from iotwarden.errors import FirmwareError
from iotwarden.firmware.sandbox import LimitExceeded, Sandbox

CHUNK = 1 << 20  # compressed bytes fed per step
# decompressed bytes taken per call (max_length): one call on a 1 MiB chunk could otherwise hold its whole output in
# memory before any limit is checked (zeros: gzip 1 GiB, xz ~7 GiB, bzip2 ~1.3 TB per MiB), an out-of-memory kill
OUT_STEP = 1 << 20
# zstandard's decompressobj takes no max_length: it is fed this much at a time (a zstd RLE block is 128 KiB out of
# 4 bytes in, RFC 8878 3.1.1.2: at most 4 MiB out per call)
ZSTD_FEED = 128
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


def _pieces(dec: Any, fmt: str, chunk: bytes, unfed: list[int]) -> Iterator[bytes]:
    """The output of ``chunk``, at most OUT_STEP bytes a piece (ZSTD_FEED input for zstd); stops at the stream's
    end (what is left is ``dec.unused_data``, and for zstd the input not fed, counted in ``unfed``)."""
    if fmt == "zstd":
        for i in range(0, len(chunk), ZSTD_FEED):
            yield dec.decompress(chunk[i : i + ZSTD_FEED])
            if dec.eof:
                unfed[0] += len(chunk) - min(i + ZSTD_FEED, len(chunk))
                return
        return
    if fmt == "gzip":
        data = chunk
        while not dec.eof:
            out = dec.decompress(data, OUT_STEP)
            yield out
            data = dec.unconsumed_tail
            if not data and len(out) < OUT_STEP:  # all input taken and no output held back by max_length
                return
        return
    yield dec.decompress(chunk, max_length=OUT_STEP)  # bz2, lzma, lz4: max_length and needs_input
    while not dec.eof and not dec.needs_input:
        yield dec.decompress(b"", max_length=OUT_STEP)


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
        unfed = [0]  # zstd input past the stream's end, never fed
        limits = sb.limits
        try:
            with target.open("wb") as w:
                while consumed < length:
                    chunk = f.read(min(CHUNK, length - consumed))
                    if not chunk:
                        break
                    consumed += len(chunk)
                    for data in _pieces(dec, fmt, chunk, unfed):
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
    return target, consumed - unfed[0] - len(getattr(dec, "unused_data", b"") or b"")
