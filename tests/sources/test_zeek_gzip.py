"""A gzip'd Zeek log read on from where the last read stopped: each line once, none decompressed twice."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.model import Flow
from iotwarden.sources import zeek, zeek_gzip, zeek_lines
from iotwarden.sources.zeek_gzip import GzipState, GzipTail
from tests.sources.zeek_written import Conn, Txn, write_logs


def _conn_log(tmp_path: Path, n: int = 12) -> bytes:
    hello = Txn("ssl", 0.0, 0.2, {"version": "TLSv12", "server_name": "api.example", "established": "T"})
    conns = [
        Conn(
            f"C{i:03d}",
            5000.0 + i,
            1.0,
            ("10.20.0.11", 40000 + i, "02:00:00:00:07:01"),
            ("52.0.18.10", 443, "00:0d:b9:4a:10:01"),
            service="ssl",
            txns=[hello],
        )
        for i in range(n)
    ]
    return (write_logs(tmp_path / "w", conns) / "conn.log").read_bytes()


def _uids(items: list[zeek._Item]) -> list[str]:
    return [str(it[3].extra["uid"]) for it in items if isinstance(it[3], Flow)]


def _deflated(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` gzip'd as Zeek's writer deflates it: a block flushed at each cut (within lines too), the trailer
    at the end."""
    writer = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    pieces, at = [], 0
    for cut in [*sorted(cuts), len(data)]:
        pieces.append(writer.compress(data[at:cut]) + writer.flush(zlib.Z_SYNC_FLUSH))
        at = cut
    pieces[-1] += writer.flush()
    return pieces


def _follow(path: Path, pieces: list[bytes], resume: zeek.Resume) -> list[list[zeek._Item]]:
    """Each piece appended, then the file read on (whole lines): the items each read gave."""
    reads = []
    path.write_bytes(b"")
    for piece in pieces:
        with path.open("ab") as fh:
            fh.write(piece)
        reads.append(list(zeek._file_items(path, "conn", whole_lines=True, resume=resume)))
    return reads


def test_a_log_zeek_writes_gzipd_is_read_on_from_where_it_stopped(tmp_path: Path) -> None:
    plain = _conn_log(tmp_path)
    cuts = [plain.index(b"C003") + 2, plain.index(b"C007"), plain.index(b"C010") + 5]  # within lines and at one
    log, resume = tmp_path / "conn.log.gz", zeek.Resume()
    reads = _follow(log, _deflated(plain, cuts), resume)
    assert [_uids(r) for r in reads] == [
        ["C000", "C001", "C002"],
        ["C003", "C004", "C005", "C006"],
        ["C007", "C008", "C009"],
        ["C010", "C011"],
    ]
    assert resume.gzip.offset == log.stat().st_size and resume.gzip.tail == b"" and resume.header is not None
    assert not list(zeek._file_items(log, "conn", whole_lines=True, resume=resume))  # nothing new: nothing read


def test_each_read_decompresses_only_what_was_appended(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = _conn_log(tmp_path, 40)
    pieces = _deflated(plain, [len(plain) // 4, len(plain) // 2, 3 * len(plain) // 4])
    fed: list[int] = []
    real = GzipTail._inflated

    def inflated(self: GzipTail, block: bytes) -> bytes:
        fed.append(len(block))
        return real(self, block)

    monkeypatch.setattr(GzipTail, "_inflated", inflated)
    reads = _follow(tmp_path / "conn.log.gz", pieces, zeek.Resume())
    assert sum(fed) == sum(map(len, pieces))  # every compressed byte inflated once
    assert _uids([it for r in reads for it in r]) == [f"C{i:03d}" for i in range(40)]


def test_members_appended_one_after_another_are_read_in_turn(tmp_path: Path) -> None:
    """``cat a.gz b.gz``, RFC 1952 §2.2: a member ended, another begun in a later read."""
    plain = _conn_log(tmp_path)
    cut = plain.index(b"C006")
    log, resume = tmp_path / "conn.log.gz", zeek.Resume()
    reads = _follow(log, [gzip.compress(plain[:cut]), gzip.compress(plain[cut:])], resume)
    assert _uids(reads[0]) == [f"C{i:03d}" for i in range(6)] and _uids(reads[1]) == [f"C{i:03d}" for i in range(6, 12)]
    assert resume.gzip.inflate.eof


def test_corrupt_deflate_data_is_one_bad_item_and_the_end_of_the_read(tmp_path: Path) -> None:
    plain = _conn_log(tmp_path)
    pieces = _deflated(plain, [plain.index(b"C004")])
    log, resume = tmp_path / "conn.log.gz", zeek.Resume()
    first = _follow(log, pieces[:1], resume)[0]
    with log.open("ab") as fh:
        fh.write(b"\xff" * 64 + pieces[1])  # not a deflate block
    second = list(zeek._file_items(log, "conn", whole_lines=True, resume=resume))
    assert _uids(first) == ["C000", "C001", "C002", "C003"] and [it[3] for it in second] == [None]
    assert resume.gzip.damaged and not list(zeek._file_items(log, "conn", whole_lines=True, resume=resume))


def test_a_file_read_as_finished_that_stops_within_a_member_ends_with_one_bad_item(tmp_path: Path) -> None:
    plain = _conn_log(tmp_path)
    log = tmp_path / "conn.log.gz"
    log.write_bytes(_deflated(plain, [plain.index(b"C004")])[0])  # no trailer
    items = list(zeek._file_items(log, "conn", resume=zeek.Resume()))
    assert _uids(items) == ["C000", "C001", "C002", "C003"] and items[-1][3] is None
    log.write_bytes(gzip.compress(plain))
    assert all(it[3] is not None for it in zeek._file_items(log, "conn", resume=zeek.Resume()))


def test_the_line_the_writer_is_within_is_kept_to_its_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An over-long line across reads: counted bad once, at the read that finds it over MAX_LINE_BYTES, then
    dropped to its end (no tail kept for it), the lines after it read."""
    monkeypatch.setattr(zeek_lines, "MAX_LINE_BYTES", 300)
    monkeypatch.setattr(zeek_gzip, "MAX_LINE_BYTES", 300)
    plain = _conn_log(tmp_path, 4)
    at = plain.rindex(b"\n", 0, plain.index(b"C002")) + 1  # C002's line starts there
    long = plain[:at] + b"x" * 1000 + b"\n" + plain[at:]
    log, resume = tmp_path / "conn.log.gz", zeek.Resume()
    reads = _follow(log, _deflated(long, [at + 400, at + 800]), resume)
    assert [len(r) for r in reads] == [3, 0, 2] and resume.gzip.tail == b"" and not resume.gzip.skipping
    items = [it for r in reads for it in r]
    assert _uids(items) == ["C000", "C001", "C002", "C003"] and sum(it[3] is None for it in items) == 1


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 1), max_size=6), st.lists(st.floats(0, 1), max_size=6))
def test_any_writes_read_at_any_byte_give_every_line_once(
    tmp_path_factory: pytest.TempPathFactory, flushes: list[float], reads: list[float]
) -> None:
    """Deflate blocks flushed anywhere in the text and the file read at any byte of them (a write half done):
    the reads on, then one read as finished, give what one read of the finished file gives."""
    tmp_path = tmp_path_factory.mktemp("gz")
    plain = _conn_log(tmp_path, 8)
    data = b"".join(_deflated(plain, [int(f * len(plain)) for f in flushes]))
    cuts = sorted({int(r * len(data)) for r in reads} | {len(data)})
    pieces = [data[a:b] for a, b in zip([0, *cuts], cuts, strict=False) if b > a]
    log, resume = tmp_path / "conn.log.gz", zeek.Resume()
    got = [it for r in _follow(log, pieces, resume) for it in r]
    got += list(zeek._file_items(log, "conn", resume=resume))
    whole = list(zeek._file_items(log, "conn"))
    assert [(it[0], it[2], it[3]) for it in got] == [(it[0], it[2], it[3]) for it in whole]
    assert GzipState().offset == 0
