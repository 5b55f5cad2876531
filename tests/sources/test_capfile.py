"""Opening captures by content: gzip, pcap vs pcapng, and the clear errors for what is not a capture."""

from __future__ import annotations

import gzip
import tracemalloc
from pathlib import Path

import pytest

from iotwarden.errors import CaptureError
from iotwarden.sources.capfile import capture_info, read_capture
from tests.conftest import shared
from tests.sources.capbuild import ethernet, pcap_bytes, pcapng_bytes, udp

FRAME = ethernet(udp("192.0.2.1", "192.0.2.2", 68, 67, b"dhcp"))
PCAP = pcap_bytes([(10.0 + i, FRAME) for i in range(20)])
PCAPNG = pcapng_bytes([(1, None), (113, 9)], [(0, i, FRAME) for i in range(20)])


def _count(path: Path) -> int:
    return sum(len(b) for b in read_capture(path))


@pytest.mark.parametrize("blob", [PCAP, PCAPNG], ids=["pcap", "pcapng"])
def test_gzip_is_detected_by_magic_not_by_name(tmp_path: Path, blob: bytes) -> None:
    path = tmp_path / "capture.bin"  # no .gz suffix on purpose
    path.write_bytes(gzip.compress(blob))
    assert _count(path) == 20
    assert capture_info(path)["gzip"] is True


def test_truncated_gzip_stream_is_a_capture_error(tmp_path: Path) -> None:
    path = tmp_path / "c.pcap.gz"
    path.write_bytes(gzip.compress(PCAP)[:-30])
    with pytest.raises(CaptureError):
        _count(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="not found") as err:
        _count(tmp_path / "nope.pcap")
    assert err.value.packets_read == 0


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.pcap"
    path.write_bytes(b"")
    with pytest.raises(CaptureError, match="empty"):
        _count(path)


def test_a_directory_is_not_a_capture(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="cannot"):
        _count(tmp_path)


def test_not_a_capture_names_what_it_starts_with(tmp_path: Path) -> None:
    path = tmp_path / "notes.pcap"
    path.write_text("hello, this is text")
    with pytest.raises(CaptureError, match=r"not a pcap or pcapng capture.*0x68656c6c"):
        _count(path)


def test_header_only_pcap_has_no_packets(tmp_path: Path) -> None:
    path = tmp_path / "h.pcap"
    path.write_bytes(pcap_bytes([]))
    assert _count(path) == 0


def test_cut_inside_the_file_header(tmp_path: Path) -> None:
    path = tmp_path / "h.pcap"
    path.write_bytes(PCAP[:10])
    with pytest.raises(CaptureError, match="cut short"):
        _count(path)


def test_unsupported_pcap_link_type_is_named(tmp_path: Path) -> None:
    path = tmp_path / "arcnet.pcap"
    path.write_bytes(pcap_bytes([(1.0, b"\x01\x02\x03")], linktype=129))
    with pytest.raises(CaptureError, match=r"unsupported link type 129 \(ARCNET_LINUX\)"):
        _count(path)


def test_capture_info_pcap(tmp_path: Path) -> None:
    path = tmp_path / "c.pcap"
    path.write_bytes(pcap_bytes([(1.0, FRAME)], linktype=276, nano=True, big_endian=True, snaplen=262144))
    info = capture_info(path)
    assert info["format"] == "pcap"
    assert info["linktypes"] == [276]
    assert info["linktype_names"] == ["276 (LINUX_SLL2)"]
    assert (info["snaplen"], info["ts_resolution"], info["byte_order"], info["gzip"]) == (262144, "ns", "big", False)


def test_capture_info_pcapng_lists_interfaces(tmp_path: Path) -> None:
    path = tmp_path / "c.pcapng"
    path.write_bytes(PCAPNG)
    info = capture_info(path)
    assert info["format"] == "pcapng"
    assert info["linktypes"] == [1, 113]
    assert info["ts_resolution"] == ["us", "ns"]


def test_capture_info_real_files() -> None:
    info = capture_info(shared("pcaps", "tcpdump_tests", "dhcp-option-108.pcapng"))
    assert (info["format"], info["linktypes"], info["supported"]) == ("pcapng", [1], True)
    info = capture_info(shared("pcaps", "tcpdump_tests", "arcnet-rfc1051-arp-icmp-http.pcap"))
    assert info["supported"] is False


def test_memory_is_bounded_by_the_chunk_not_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("iotwarden.sources.chunks.READ_BYTES", 256 * 1024)
    big = ethernet(udp("192.0.2.1", "192.0.2.2", 1, 2, b"z" * 1000))
    path = tmp_path / "big.pcap"
    path.write_bytes(pcap_bytes([(float(i), big) for i in range(12000)]))  # ~12.5 MB
    tracemalloc.start()
    try:
        packets = sum(len(b) for b in read_capture(path, batch_size=4096))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert packets == 12000
    assert peak < 3 * 1024 * 1024
