"""A gzip'd Zeek log read on from where the last read stopped, as an uncompressed one is read from a byte offset.

Zeek writes a log gzip'd when ``LogAscii::gzip_level`` is set (base/frameworks/logging/writers/ascii.zeek; the
writer deflates through zlib, src/logging/writers/ascii/Ascii.cc): the file grows a deflate block at a time and has
no gzip trailer until it is closed. gzip has no index to start from (RFC 1952: one deflate stream per member), so a
log that grows is read on by keeping what reading it to its end left: the compressed bytes consumed, the zlib
decompressor's state after them (``zlib.Decompress.copy``, so a failed read leaves the kept one as it was) and the
decompressed bytes after the last end of line (the line the writer is within). A file of several members (``cat``
of gzip files, RFC 1952 §2.2) is read member after member.
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from iotwarden.errors import CaptureError
from iotwarden.sources.zeek_lines import MAX_LINE_BYTES, READ_BLOCK

_GZIP_WBITS = 16 + zlib.MAX_WBITS  # a gzip header and trailer around the deflate stream (zlib's inflateInit2)


@dataclass(slots=True)
class GzipState:
    """Where a gzip'd log's next read starts: past ``offset`` compressed bytes, with ``inflate`` (None: at the
    start) in the state reading them left it and ``tail`` (at most ``MAX_LINE_BYTES + 1`` bytes) decompressed
    after the last end of line. ``damaged``: the deflate data was corrupt; nothing after it is read."""

    offset: int = 0
    inflate: Any = None  # zlib.Decompress (its type is not public)
    tail: bytes = b""
    damaged: bool = False
    skipping: bool = False  # within a line longer than MAX_LINE_BYTES, counted bad: dropped to its end of line


class GzipTail(io.RawIOBase):
    """The decompressed bytes of a gzip file from ``state`` on: ``state.tail`` first, then what the file's bytes
    past ``state.offset`` inflate to through a copy of ``state.inflate``. :meth:`state` is where the next read
    starts once this one has read to the end."""

    def __init__(self, raw: IO[bytes], state: GzipState) -> None:
        super().__init__()
        self._raw = raw
        self._offset = state.offset
        self._inflate = state.inflate.copy() if state.inflate is not None else zlib.decompressobj(_GZIP_WBITS)
        self._pending = b"" if state.damaged else state.tail
        self._tail = state.tail
        self._skipping = state.skipping
        self.damaged = state.damaged  # corrupt deflate data met (now or before): reading stops there
        self.newly_damaged = False
        raw.seek(self._offset)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            if self.damaged:
                return 0
            block = self._raw.read(READ_BLOCK)
            if not block:
                return 0
            self._offset += len(block)
            self._pending = self._inflated(block)
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def _inflated(self, block: bytes) -> bytes:
        parts = []
        try:
            parts.append(self._inflate.decompress(block))
            while self._inflate.eof and self._inflate.unused_data:  # the next member
                # zero bytes padding the file after a member: gzip(1) and Python's gzip module (analyze's reader) skip
                # them; the eof'd decompressor keeps taking what follows as unused data
                rest = self._inflate.unused_data.lstrip(b"\0")
                if not rest:
                    break
                self._inflate = zlib.decompressobj(_GZIP_WBITS)
                parts.append(self._inflate.decompress(rest))
        except zlib.error:  # what came before the damage is read, to its last whole line; nothing after
            self.damaged = self.newly_damaged = True
            out = b"".join(parts)
            out = out[: out.rfind(b"\n") + 1]
            if self._skipping and out:  # within an over-long line: dropped to its end, the rest read
                out = out[out.find(b"\n") + 1 :]
            self._skipping = False
            return out
        out = b"".join(parts)
        if self._skipping:  # the rest of an over-long line the last read counted
            end = out.find(b"\n")
            self._skipping = end < 0
            out = b"" if end < 0 else out[end + 1 :]
        cut = out.rfind(b"\n")
        self._tail = out[cut + 1 :] if cut >= 0 else (self._tail + out)[-(MAX_LINE_BYTES + 1) :]
        return out

    @property
    def ended(self) -> bool:
        """Whether the data read ends a gzip member (its trailer read): a file that stops elsewhere is truncated,
        or still being written."""
        return bool(self._inflate.eof)

    def state(self) -> GzipState:
        """Where the next read starts, this one having read the file to its end (a tail longer than a line may be
        was counted bad by this read's :func:`~iotwarden.sources.zeek_format.iter_lines`: dropped, not kept)."""
        if self._skipping or len(self._tail) > MAX_LINE_BYTES:
            return GzipState(self._offset, self._inflate, b"", self.damaged, skipping=True)
        return GzipState(self._offset, self._inflate, self._tail, self.damaged)

    def close(self) -> None:
        self._raw.close()
        super().close()


def open_tail(path: Path, state: GzipState) -> tuple[io.BufferedReader, GzipTail]:
    """``path`` (a gzip file) decompressed from ``state`` on, buffered, and the reader that tells its new state."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise CaptureError(f"{path}: cannot read Zeek log: {exc.strerror or exc}") from exc
    tail = GzipTail(raw, state)
    return io.BufferedReader(tail, READ_BLOCK), tail
