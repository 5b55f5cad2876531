"""Zeek log files as lines: the log type from a file's name or first lines, over-long lines counted and skipped,
and a file read a block at a time giving the lines and counts that reading line by line gives."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.sources import zeek_lines
from iotwarden.sources.zeek_lines import iter_lines, sniff_lines, type_from_name


def test_type_from_file_names() -> None:
    assert type_from_name(Path("conn.log")) == "conn"
    assert type_from_name(Path("/logs/dns.12:00:00-13:00:00.log.gz")) == "dns"
    assert type_from_name(Path("known_services.2024-01-01-00-00-00.log")) == "known_services"
    assert type_from_name(Path("capture.pcap")) is None


def test_sniff_reads_path_from_the_header() -> None:
    assert sniff_lines(Path("x.log"), [b"#separator \\x09", b"#path\tssh", b"#fields\tts"]) == "ssh"
    assert sniff_lines(Path("ssl.log"), [b"#separator \\x09", b"#fields\tts"]) == "ssl"  # no #path: the name
    assert sniff_lines(Path("x.log"), [b"#separator \\x09", b"#set_separator\t,"]) is None
    assert sniff_lines(Path("x.log"), [b'{"_path":"weird","ts":1}']) == "weird"
    assert sniff_lines(Path("x.log"), [b'{"ts":1,"qtype_name":"A"}']) == "dns"
    assert sniff_lines(Path("x.log"), [b'{"ts":1}']) is None
    assert sniff_lines(Path("conn.log"), [b'{"ts": 1, "x": ' + b"[" * 3000 + b"]" * 3000 + b"}"]) is None  # too deep


def test_over_long_lines_are_reported_and_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zeek_lines, "MAX_LINE_BYTES", 10)
    bad: list[int] = []
    lines = list(iter_lines(io.BytesIO(b"short\n" + b"x" * 35 + b"\nafter\r\nlast"), lambda: bad.append(1)))
    assert lines == [b"short", b"after", b"last"]
    assert bad == [1]


def _both_ways(data: bytes, *, whole_lines: bool) -> list[tuple[list[bytes], int]]:
    """(lines, bad lines) of ``data`` read line by line (a stream) and a block at a time (a file)."""
    out = []
    for fh in (io.BytesIO(data), io.BufferedReader(io.BytesIO(data))):  # type: ignore[arg-type]
        bad: list[int] = []
        out.append((list(iter_lines(fh, lambda: bad.append(1), whole_lines=whole_lines)), len(bad)))  # noqa: B023
    return out


@settings(max_examples=400, deadline=None)
@given(data=st.lists(st.sampled_from([b"\n", b"\r", b"\r\n", b"x", b"xxxx", b"abcdefghij", b"#fields\tts"]),
                     max_size=60).map(b"".join), block=st.integers(1, 24), whole_lines=st.booleans())
def test_a_file_read_in_blocks_gives_the_lines_and_bad_counts_of_readline(data: bytes, block: int,
                                                                         whole_lines: bool) -> None:
    mp = pytest.MonkeyPatch()
    mp.setattr(zeek_lines, "MAX_LINE_BYTES", 10)
    mp.setattr(zeek_lines, "READ_BLOCK", block)
    try:
        by_line, by_block = _both_ways(data, whole_lines=whole_lines)
    finally:
        mp.undo()
    assert by_block == by_line


def test_over_long_lines_of_a_file_are_reported_once_and_skipped(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zeek_lines, "MAX_LINE_BYTES", 10)
    monkeypatch.setattr(zeek_lines, "READ_BLOCK", 4)  # the long lines span blocks
    path = tmp_path / "x.log"
    path.write_bytes(b"short\n" + b"x" * 35 + b"\nafter\r\n" + b"y" * 11 + b"\n" + b"z" * 10 + b"\nlast")
    bad: list[int] = []
    with path.open("rb") as fh:
        lines = list(iter_lines(fh, lambda: bad.append(1)))
    assert lines == [b"short", b"after", b"z" * 10, b"last"]
    assert bad == [1, 1]
