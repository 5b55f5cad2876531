"""Single-stream decompression (firmware/extract/streams.py): output taken a bounded piece at a time, so a bomb is
refused before its output is held in memory, and every format still round-trips and counts the bytes it spans."""

from __future__ import annotations

import bz2
import gzip
import lzma
import random
import tracemalloc
from collections.abc import Callable

import lz4.frame
import pytest
import zstandard

from iotwarden.firmware.extract.streams import OUT_STEP, decompress
from iotwarden.firmware.sandbox import LimitExceeded, Limits, Sandbox

MiB = 1 << 20
COMPRESS: dict[str, Callable[[bytes], bytes]] = {  # the fastest settings: the tests time decompression
    "gzip": lambda d: gzip.compress(d, 1),
    "bzip2": lambda d: bz2.compress(d, 1),
    "xz": lambda d: lzma.compress(d, format=lzma.FORMAT_XZ, preset=0),
    "lzma": lambda d: lzma.compress(d, format=lzma.FORMAT_ALONE, preset=0),
    "lz4": lz4.frame.compress,
    "zstd": lambda d: zstandard.ZstdCompressor(level=1).compress(d),
}


@pytest.mark.parametrize("fmt", ["gzip", "lz4", "zstd"])
def test_a_bomb_is_refused_before_its_output_is_held_in_memory(fmt: str) -> None:
    """64 MiB of zeros in one compressed chunk (under 1 MiB in each format): one decompress() call
    returned all of it before the 4 MiB file limit was checked; now at most OUT_STEP bytes (zstd: its feed's
    worth) are held at a time."""
    bomb = COMPRESS[fmt](bytes(64 * MiB))
    with Sandbox(Limits(max_file_bytes=4 * MiB)) as sb:
        src = sb.root / "bomb"
        src.write_bytes(bomb)
        out = sb.new_dir("out")
        tracemalloc.start()
        try:
            with pytest.raises(LimitExceeded, match=r"stream expands"):
                decompress(src, fmt, 0, len(bomb), out, sb=sb, where="bomb")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 16 * MiB, f"{peak / MiB:.0f} MiB held"


# more than one piece out, compressing about 4x (two random bits a byte)
PAYLOAD = random.Random(7).randbytes(OUT_STEP + 4096).translate(bytes(i % 4 for i in range(256))) + b"end"


@pytest.mark.parametrize("fmt", sorted(COMPRESS))
def test_every_format_round_trips_across_pieces_and_counts_its_span(fmt: str) -> None:
    payload = PAYLOAD
    packed = COMPRESS[fmt](payload)
    with Sandbox() as sb:
        src = sb.root / "s"
        src.write_bytes(b"PAD" + packed + b"trailing bytes of the next thing")
        target, span = decompress(src, fmt, 3, len(packed) + 32, sb.new_dir("out"), sb=sb, where="s")
        assert (target.read_bytes() == payload, span) == (True, len(packed))
