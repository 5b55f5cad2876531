"""A gzip'd Zeek log read on by sources/zeek_gzip.py (the monitor's path) gives the lines analyze's gzip.GzipFile
gives: zero bytes padding the file after its last member are no damage (gzip(1) and Python's gzip module skip
them), and the lines decompressed before damage in the same read block are kept (found in review: a padded log
lost its last 64 KiB block of lines under the monitor and counted it bad)."""

from __future__ import annotations

import gzip
from pathlib import Path

from iotwarden.sources import zeek
from iotwarden.sources.zeek_gzip import GzipState, open_tail
from tests.sources.test_zeek_gzip import _conn_log, _uids


def _tail_lines(path: Path) -> tuple[list[bytes], bool]:
    fh, tail = open_tail(path, GzipState())
    with fh:
        return fh.read().splitlines(), tail.damaged


def test_zero_padding_after_the_last_member_is_read_as_gzip_reads_it(tmp_path: Path) -> None:
    plain = _conn_log(tmp_path)
    half = plain.index(b"C006")
    log = tmp_path / "conn.log.gz"
    log.write_bytes(gzip.compress(plain[:half]) + gzip.compress(plain[half:]) + b"\0" * 512)
    with gzip.open(log, "rb") as gz:
        assert gz.read() == plain  # what analyze reads
    assert _tail_lines(log) == (plain.splitlines(), False)
    resume = zeek.Resume()
    items = list(zeek._file_items(log, "conn", whole_lines=True, resume=resume))
    assert _uids(items) == [f"C{i:03d}" for i in range(12)] and all(it[3] is not None for it in items)
    assert not resume.gzip.damaged
    with log.open("ab") as fh:  # more padding, then a member appended to it (cat of a padded file and another)
        fh.write(b"\0" * 100 + gzip.compress(b""))
    assert not list(zeek._file_items(log, "conn", whole_lines=True, resume=resume)) and not resume.gzip.damaged


def test_lines_before_damage_in_the_same_block_are_kept_and_the_cut_line_dropped(tmp_path: Path) -> None:
    plain = _conn_log(tmp_path)
    half = plain.index(b"C006")
    first = gzip.compress(plain[:half])
    second = gzip.compress(plain[half:])
    log = tmp_path / "conn.log.gz"
    log.write_bytes(first + second[:10] + b"\x07" * 8)  # the second member's first deflate block of type 3, reserved
    # (RFC 1951 §3.2.3: an error)
    lines, damaged = _tail_lines(log)
    assert damaged and lines == plain[: plain.rfind(b"\n", 0, half) + 1].splitlines()  # the line cut at C006 dropped
