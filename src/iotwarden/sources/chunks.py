"""Streaming building blocks shared by the pcap and pcapng readers.

:class:`ChunkReader` reads a capture in large sequential chunks (each a fresh buffer, so batches
stay valid after the next read); :func:`walk_chain` finds the record starts in a chunk with numpy,
falling back to a Python step only where the cheap candidate test disagrees with the real chain.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable
from typing import Protocol

import numpy as np
import numpy.typing as npt

from iotwarden.errors import CaptureError, describe

# Bytes read per chunk. The memory a reader holds is one chunk plus the batch being processed,
# whatever the file size; a single record larger than this grows one chunk to fit it.
READ_BYTES = 32 * 1024 * 1024

Int64Array = npt.NDArray[np.int64]

# The longest original length a record may state: a PacketBatch holds wire lengths as int32, and no link carries a
# frame of 2 GiB (an IPv6 jumbogram, RFC 2675 §2, may state up to 2**32 - 1 bytes, but no link has that MTU), so a
# larger field is damage, not a length: read as int32 it turned negative, and so did the flow's byte counts
MAX_WIRE_LEN = 2**31 - 1


class Readable(Protocol):
    """A binary stream: a file, or a gzip stream over one."""

    def readinto(self, buffer: memoryview, /) -> int | None: ...


class ChunkReader:
    """Sequential reader over a (possibly gzip) capture stream, keeping the unread tail of a chunk.

    ``file_offset`` is the byte offset (in the decompressed stream) of ``buf[0]``, for error messages.
    """

    def __init__(self, fh: Readable, path: str, start: int) -> None:
        self._fh = fh
        self.path = path
        self.buf: npt.NDArray[np.uint8] = np.empty(0, dtype=np.uint8)
        self.file_offset = start
        self.eof = False

    def refill(self, keep_from: int, need: int = 0) -> npt.NDArray[np.uint8]:
        """Drop ``buf[:keep_from]`` and read at least one more chunk (and at least ``need`` bytes)."""
        tail = self.buf[keep_from:].data
        filled = len(tail)
        size = max(READ_BYTES, need) + filled
        fresh = np.empty(size, dtype=np.uint8)  # not zero-filled: every byte kept is read into
        fresh[:filled] = np.frombuffer(tail, dtype=np.uint8)
        tail.release()
        self.file_offset += keep_from
        view = fresh.data
        try:
            while filled < size:
                got = self._fh.readinto(view[filled:])
                if not got:
                    self.eof = True
                    break
                filled += got
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:  # gzip damage surfaces here
            raise CaptureError(f"{self.path}: gzip data damaged or cut short ({describe(exc)})") from exc
        except OSError as exc:
            raise CaptureError(f"cannot read {self.path}: {describe(exc)}") from exc
        finally:
            view.release()
        self.buf = fresh[:filled]
        return self.buf


def walk_chain(
    start: int,
    end: int,
    cand: Int64Array,
    cand_next: Int64Array,
    step: Callable[[int], int | None],
) -> tuple[Int64Array, int]:
    """Record starts from ``start`` up to ``end``, and the position where the walk stopped.

    ``cand`` are sorted positions that look like complete records (a cheap vectorised test) and
    ``cand_next`` where each would be followed by the next record. The true chain is followed from
    ``start``: runs where candidate ``i`` leads to candidate ``i + 1`` are taken whole; false
    candidates are never reached; a true record the test missed is handled by ``step(pos)``,
    which validates it and returns the next position, or None to stop (incomplete record or a
    block that needs the caller).
    """
    keep = cand_next <= end
    cand, cand_next = cand[keep], cand_next[keep]
    n = int(cand.shape[0])
    parts: list[Int64Array] = []
    pos = start
    if n:
        breaks = np.flatnonzero(cand_next[:-1] != cand[1:])
        breaks = np.append(breaks, n - 1)
    while pos < end:
        i = int(np.searchsorted(cand, pos)) if n else 0
        if i < n and int(cand[i]) == pos:
            b = int(breaks[int(np.searchsorted(breaks, i))])
            parts.append(cand[i : b + 1])
            pos = int(cand_next[b])
            continue
        nxt = step(pos)
        if nxt is None:
            break
        parts.append(np.array([pos], dtype=np.int64))
        pos = nxt
    if not parts:
        return np.empty(0, dtype=np.int64), pos
    return np.concatenate(parts), pos


def word_view(data: npt.NDArray[np.uint8] | bytearray, dtype: str) -> np.ndarray:
    """A view of ``data`` where element ``i`` is the ``dtype`` word starting at byte ``i``.

    Strides of one byte: any unaligned field is a single fancy-index gather (x86 and arm64 load
    unaligned words; numpy copies through its unaligned loop elsewhere).
    """
    width = np.dtype(dtype).itemsize
    size = len(data) - width + 1
    if size < 1:
        return np.zeros(0, dtype=dtype)
    return np.ndarray((size,), dtype=dtype, buffer=data, offset=0, strides=(1,))


def wire_lengths(orig: npt.NDArray[np.integer], caplen: npt.NDArray[np.integer]) -> npt.NDArray[np.int32]:
    """Each record's length on the wire: its original length field (pcap ``orig_len``, pcapng ``Original Packet
    Length``), at least its captured length; a field past :data:`MAX_WIRE_LEN` is unknown, so the record counts the
    bytes it holds."""
    wire, cap = orig.astype(np.int64), caplen.astype(np.int64)
    return np.where(wire > MAX_WIRE_LEN, cap, np.maximum(wire, cap)).astype(np.int32)


def gather_u32(data: npt.NDArray[np.uint8], pos: Int64Array, width: int, big_endian: bool) -> npt.NDArray[np.uint32]:
    """``width`` consecutive 32-bit fields at each position, as an (n, width) array.

    Fields past the end of ``data`` read as its last word (callers only use fields they bounded).
    """
    n = int(pos.shape[0])
    out = np.zeros((n, width), dtype=np.uint32)
    words = word_view(data, ">u4" if big_endian else "<u4")
    if not n or not words.shape[0]:
        return out
    last = words.shape[0] - 1
    for k in range(width):
        out[:, k] = words[np.minimum(pos + 4 * k, last)]
    return out
