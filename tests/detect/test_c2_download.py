"""Tool download: bot binaries and droppers over HTTP, TFTP to the outside (T1105)."""

from __future__ import annotations

import pytest

from iotwarden.detect.c2_download import DownloadDetector
from iotwarden.model import Flow, Observation
from tests.detect.runner import feed


def _get(uri: str, agent: str | None, host: str) -> Observation:
    return Observation(ts=10.0, proto="http", kind="request", src_ip="10.0.0.9", dst_ip="198.18.7.7",
                       fields={"method": "GET", "uri": uri, "user_agent": agent, "host": host})


@pytest.mark.parametrize(("uri", "agent", "host"), [
    ("/bins/mirai.arm7", "Wget(linux)", "198.18.7.7"),  # Mirai loader
    ("/bins.sh", None, "198.18.7.7"),
    ("/x/okiru.mpsl?x=1", "python-requests/2.31", "cdn.example.net"),  # named host: the suffix says it
    ("/update", "BusyBox/1.30.1", "198.18.7.7:8080"),  # a command-line fetcher from a bare address
])
def test_bot_downloads_are_caught(uri: str, agent: str | None, host: str) -> None:
    (alert,) = feed([DownloadDetector()], observations=[_get(uri, agent, host)])
    assert (alert.id, alert.mitre, alert.src_ip) == ("detect.c2.tool_download", ["T1105"], "10.0.0.9")


@pytest.mark.parametrize(("uri", "agent", "host"), [
    ("/firmware/v2.bin", "curl/7.68.0", "fw.vendor.example"),  # a firmware update from a named server
    ("/api/status", "Hue/1.0", "198.18.7.7"),
    ("/index.html", "Mozilla/5.0", "198.18.7.7"),
])
def test_device_updates_and_browsing_are_not(uri: str, agent: str, host: str) -> None:
    assert feed([DownloadDetector()], observations=[_get(uri, agent, host)]) == []


def test_tftp_to_the_outside_is_a_download_and_inside_is_not() -> None:
    def tftp(dst: str) -> Flow:
        return Flow(0, 17, "10.0.0.9", 40000, dst, 69, 1.0, 2.0, pkts_ab=3, pkts_ba=3, payload_ab=30, payload_ba=1500)

    assert [a.key for a in feed([DownloadDetector()], flows=[tftp("198.18.7.7"), tftp("10.0.0.2")])] == [
        "tftp:198.18.7.7"]


def test_suffixes_are_a_site_option() -> None:
    det = DownloadDetector({"suffixes": ".elf"})
    assert feed([det], observations=[_get("/a.arm7", None, "h.example")]) == []
    assert len(feed([det], observations=[_get("/a.elf", None, "h.example")])) == 1
