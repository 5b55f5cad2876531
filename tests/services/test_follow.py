"""A followed file: its head's digest, a rotated log's names sharing one read position, a Zeek log named by its
content (plain or gzip'd) once it holds a whole record, and packets an earlier read fed passed over."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np

from iotwarden.engine.batch import PacketBatch
from iotwarden.services.follow import HEAD_BYTES, Cursor, Progress, head_of, skip_packets, zeek_ident, zeek_log_begun

HEADER = ("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
          "#open\t2026-12-07-08-00-00\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\n"
          "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\n")
RECORD = "1765094400.000000\tCa1\t10.0.0.2\t50000\t10.0.0.1\t53\tudp\n"


def test_a_files_head_is_its_length_and_digest(tmp_path: Path) -> None:
    path = tmp_path / "a.pcap"
    path.write_bytes(b"x" * (HEAD_BYTES + 10))
    assert head_of(path) == (HEAD_BYTES, hashlib.sha256(b"x" * HEAD_BYTES).digest())
    assert head_of(path, 3) == (3, hashlib.sha256(b"xxx").digest())


def test_a_rotated_logs_names_share_one_progress() -> None:
    shared = Progress()
    first, renamed = Cursor("zeek", 1, 1, 0, b"", progress=shared), Cursor("zeek", 1, 2, 0, b"", progress=shared)
    first.records = 40
    assert renamed.records == 40 and shared.records == 40


def test_a_zeek_log_is_named_by_its_content_once_it_holds_a_record(tmp_path: Path) -> None:
    header_only = tmp_path / "conn.log"
    header_only.write_text(HEADER)
    assert zeek_ident(header_only) is None and not zeek_log_begun(header_only)
    header_only.write_text(HEADER + RECORD[:20])  # a record cut short by the writer
    assert zeek_ident(header_only) is None
    header_only.write_text(HEADER + RECORD)
    gz = tmp_path / "conn.08:00:00-09:00:00.log.gz"
    gz.write_bytes(gzip.compress(header_only.read_bytes()))
    assert zeek_ident(header_only) == zeek_ident(gz) is not None
    assert zeek_log_begun(header_only) and zeek_log_begun(gz)
    other = tmp_path / "other.log"
    other.write_text(HEADER.replace("08-00-00", "09-00-00") + RECORD)  # another #open time: another log
    assert zeek_ident(other) != zeek_ident(header_only)
    assert zeek_ident(tmp_path / "missing.log") is None


def _batch(first: int, n: int) -> PacketBatch:
    return PacketBatch(np.zeros(n, dtype=np.uint8), np.arange(n, dtype=np.int64), np.ones(n, dtype=np.int32),
                       np.ones(n, dtype=np.int32), np.arange(first, first + n, dtype=np.float64),
                       np.ones(n, dtype=np.uint16))


def test_packets_fed_by_an_earlier_read_are_passed_over_across_batches() -> None:
    batches = [_batch(0, 3), _batch(3, 4), _batch(7, 2)]
    assert [list(b.ts) for b in skip_packets(iter(batches), 5)] == [[5.0, 6.0], [7.0, 8.0]]
    assert [len(b) for b in skip_packets(iter(batches), 0)] == [3, 4, 2]
    assert list(skip_packets(iter(batches), 9)) == []
