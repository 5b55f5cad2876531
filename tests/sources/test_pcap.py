"""Classic pcap reading: byte orders, timestamp resolutions, snapped records, damage mid-file."""

from __future__ import annotations

import struct
from pathlib import Path

import dpkt
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.errors import CaptureError
from iotwarden.sources import chunks, pcap
from iotwarden.sources.capfile import read_capture
from tests.conftest import shared
from tests.sources.capbuild import ethernet, pcap_bytes, udp

FRAMES = [ethernet(udp("10.0.0.1", "10.0.0.2", 1000 + i, 53, b"x" * i)) for i in range(50)]
STAMPS = [1_700_000_000.25 + i * 0.5 for i in range(50)]


def _write(tmp_path: Path, blob: bytes, name: str = "c.pcap") -> Path:
    path = tmp_path / name
    path.write_bytes(blob)
    return path


def _packets(path: Path, batch_size: int = 65536) -> list[tuple[float, bytes, int]]:
    out = []
    for b in read_capture(path, batch_size=batch_size):
        for off, cap, wire, ts in zip(b.offsets.tolist(), b.caplen.tolist(), b.wirelen.tolist(), b.ts.tolist(),
                                      strict=True):
            out.append((ts, b.data[off : off + cap].tobytes(), wire))
    return out


@pytest.mark.parametrize("big_endian", [False, True])
@pytest.mark.parametrize("nano", [False, True])
def test_every_record_is_read_in_both_byte_orders_and_resolutions(tmp_path: Path, big_endian: bool, nano: bool) -> None:
    path = _write(tmp_path, pcap_bytes(list(zip(STAMPS, FRAMES, strict=True)), big_endian=big_endian, nano=nano))
    got = _packets(path)
    assert [g[1] for g in got] == FRAMES
    assert [g[0] for g in got] == pytest.approx(STAMPS, abs=1e-6)
    assert all(g[2] == len(f) for g, f in zip(got, FRAMES, strict=True))


def test_nanosecond_fraction_is_kept(tmp_path: Path) -> None:
    blob = bytearray(pcap_bytes([(1.0, FRAMES[0])], nano=True))
    struct.pack_into("<I", blob, 24 + 4, 123_456_789)  # ts fraction of record 0
    assert _packets(_write(tmp_path, bytes(blob)))[0][0] == pytest.approx(1.123456789, abs=1e-9)


def test_batches_hold_at_most_batch_size_packets(tmp_path: Path) -> None:
    path = _write(tmp_path, pcap_bytes(list(zip(STAMPS, FRAMES, strict=True))))
    sizes = [len(b) for b in read_capture(path, batch_size=7)]
    assert max(sizes) == 7
    assert sum(sizes) == 50
    assert [p[1] for p in _packets(path, batch_size=7)] == FRAMES


def test_snapped_records_keep_the_wire_length(tmp_path: Path) -> None:
    path = _write(tmp_path, pcap_bytes(list(zip(STAMPS, FRAMES, strict=True)), caplen=40))
    got = _packets(path)
    assert all(len(g[1]) == min(40, len(f)) and g[2] == len(f) for g, f in zip(got, FRAMES, strict=True))


def test_truncated_record_yields_what_came_before_then_says_how_many(tmp_path: Path) -> None:
    blob = pcap_bytes(list(zip(STAMPS, FRAMES, strict=True)))
    path = _write(tmp_path, blob[:-5])  # the last record loses its last 5 bytes
    seen = 0
    with pytest.raises(CaptureError, match=r"truncated.*49 packets read before the damage") as err:
        for b in read_capture(path):
            seen += len(b)
    assert seen == 49
    assert err.value.packets_read == 49


def test_corrupt_record_length_is_damage_not_a_huge_read(tmp_path: Path) -> None:
    blob = bytearray(pcap_bytes(list(zip(STAMPS, FRAMES, strict=True))))
    record = 24 + sum(16 + len(f) for f in FRAMES[:10])  # the 11th record
    struct.pack_into("<I", blob, record + 8, 0x7FFFFFFF)
    path = _write(tmp_path, bytes(blob))
    with pytest.raises(CaptureError, match=r"corrupt record.*10 packets read") as err:
        list(read_capture(path))
    assert err.value.packets_read == 10


def test_payload_that_looks_like_a_record_header_is_not_mistaken_for_one(tmp_path: Path) -> None:
    # a payload holding a plausible record header with the same timestamp epoch: the scan's false
    # candidate must not derail the walk
    fake = struct.pack("<IIII", 1_700_000_000, 5, 8, 8) + b"A" * 8
    frames = [ethernet(udp("10.0.0.1", "10.0.0.2", 1, 2, fake * 3)) for _ in range(20)]
    path = _write(tmp_path, pcap_bytes([(1_700_000_000.0 + i, f) for i, f in enumerate(frames)]))
    assert [p[1] for p in _packets(path)] == frames


def test_large_records_take_the_plain_walk_and_read_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("iotwarden.sources.chunks.READ_BYTES", 20000)  # many chunks: the walk switches
    frames = [ethernet(udp("10.0.0.1", "10.0.0.2", 1, 2, bytes([i % 256]) * 1400)) for i in range(300)]
    path = _write(tmp_path, pcap_bytes([(1.0 + i, f) for i, f in enumerate(frames)]))
    assert [p[1] for p in _packets(path)] == frames


def test_records_spanning_chunk_boundaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("iotwarden.sources.chunks.READ_BYTES", 1000)
    frames = [ethernet(udp("10.0.0.1", "10.0.0.2", 1, 2, bytes([i % 256]) * (i * 7 % 1500))) for i in range(200)]
    path = _write(tmp_path, pcap_bytes([(1.0 + i, f) for i, f in enumerate(frames)]))
    assert [p[1] for p in _packets(path)] == frames


def test_header_fields() -> None:
    hdr = pcap.parse_header(pcap_bytes([], linktype=113, big_endian=True, nano=True, snaplen=96), "x")
    assert (hdr.big_endian, hdr.nanosecond, hdr.snaplen, hdr.linktype, hdr.version) == (True, True, 96, 113, (2, 4))


def test_real_big_endian_capture_matches_dpkt() -> None:
    path = shared("pcaps", "ics_iti", "pcaps", "IEC61850", "m-send-req.mms.pcap")
    with path.open("rb") as fh:
        expected = [(ts, bytes(buf)) for ts, buf in dpkt.pcap.Reader(fh)]
    got = _packets(path)
    assert [g[1] for g in got] == [e[1] for e in expected]
    assert np.allclose([g[0] for g in got], [float(e[0]) for e in expected])


def test_real_linux_cooked_capture_is_read() -> None:
    path = shared("pcaps", "tcpdump_tests", "tftp-heapoverflow.pcap")
    batches = list(read_capture(path))
    assert sum(len(b) for b in batches) == 1
    assert batches[0].linktype[0] == 113


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400), st.booleans())
def test_fuzz_any_bytes_after_a_header_read_or_fail_cleanly(tail: bytes, big_endian: bool) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.pcap"
        path.write_bytes(pcap_bytes([(1.0, FRAMES[0])], big_endian=big_endian) + tail)
        try:
            batches = list(read_capture(path, batch_size=3))
        except CaptureError as exc:
            assert exc.packets_read >= 1
            return
        for b in batches:
            assert ((b.offsets + b.caplen) <= b.data.shape[0]).all()


@pytest.mark.parametrize("orig", [2**31, 0xFFFFFFF0, 0xFFFFFFFF])
def test_an_original_length_no_frame_has_counts_the_captured_bytes(tmp_path: Path, orig: int) -> None:
    # found by fuzzing: such a field read as int32 was negative, and so were its flow's byte counts
    blob = bytearray(pcap_bytes(list(zip(STAMPS[:3], FRAMES[:3], strict=True))))
    record = 24 + 16 + len(FRAMES[0])  # the second record
    struct.pack_into("<I", blob, record + 12, orig)
    struct.pack_into("<I", blob, 24 + 12, chunks.MAX_WIRE_LEN)  # the first: the longest length a record may state
    got = _packets(_write(tmp_path, bytes(blob)))
    assert [g[1] for g in got] == FRAMES[:3]
    assert [g[2] for g in got] == [chunks.MAX_WIRE_LEN, len(FRAMES[1]), len(FRAMES[2])]
