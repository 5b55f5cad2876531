"""A UDP flood's datagram that meets udp/69 is no TFTP download (issue #4, tests/detect/botnet_variants.py: a
Mirai ``attack_udp_generic`` flood at random ports raised detect.c2.tool_download on a pair labelled DDoS)."""

from __future__ import annotations

from iotwarden.detect.c2_download import DownloadDetector
from iotwarden.model import Flow
from tests.detect.runner import feed


def _to_69(payload: int, pkts: int = 1) -> Flow:
    return Flow(0, 17, "10.0.0.9", 40000, "198.18.7.7", 69, 1.0, 1.0, pkts_ab=pkts, bytes_ab=payload + 28 * pkts,
                payload_ab=payload)


def test_a_flood_datagram_to_port_69_is_no_tftp_download() -> None:
    assert feed([DownloadDetector()], flows=[_to_69(512)]) == []


def test_a_tftp_read_request_and_its_retransmissions_are_a_download() -> None:
    request = len(b"\x00\x01mips\x00octet\x00blksize\x001468\x00")  # RRQ with an option (RFC 1350, RFC 2347)
    for flow in (_to_69(request), _to_69(3 * request, pkts=3)):
        assert [a.id for a in feed([DownloadDetector()], flows=[flow])] == ["detect.c2.tool_download"]
