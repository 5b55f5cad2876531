"""A live monitor on a quiet link (sources/live.IdleBatch): the engine closes the flows idle by the heartbeat's time
and the analyzers are ticked to it, so a sweep's probes are judged and its held scan comes due with no packet."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from iotwarden.engine.batch import LINKTYPE_ETHERNET, PacketBatch
from iotwarden.lab.wire import Host, tcp_segment
from iotwarden.services.monitor import Monitor
from iotwarden.sources.capfile import read_capture
from iotwarden.sources.live import idle_batch
from tests.risk.harness import write_pcap

T0 = 1_765_000_000.0
SCANS = {"detect.scan.horizontal", "detect.scan.vertical", "detect.scan.telnet_mirai"}


def _sweep(path: Path) -> Path:
    """10.0.0.9's SYNs to 12 hosts' tcp/7000, 50 ms apart, never answered (a small sweep: held, scan_hold)."""
    src = Host("02:00:0a:00:00:09", "10.0.0.9")
    frames = [(T0 + i * 0.05, tcp_segment(src, Host(f"02:00:0a:00:01:{i:02x}", f"10.0.1.{i}"), b"", sport=40000 + i,
                                          dport=7000, seq=1000 * i, ack=0, flags=0x02)) for i in range(1, 13)]
    return write_pcap(path, frames)


def test_a_quiet_links_heartbeats_hand_a_sweep_over_and_raise_its_held_scan(tmp_path: Path) -> None:
    heard: list[tuple[str, float]] = []
    after: list[list[str]] = []
    mon = Monitor(on_alert=[lambda a: heard.append((a.id, a.first_seen))])

    def live() -> Iterator[PacketBatch]:
        yield from read_capture(_sweep(tmp_path / "sweep.pcap"))
        for at in (T0 + 60.0, T0 + 300.0, T0 + 1300.0):  # the link quiet from the sweep's end on
            yield idle_batch(LINKTYPE_ETHERNET, at)
            after.append([i for i, _ in heard if i in SCANS])

    mon.run_live(live())
    # 60 s: the SYNs' flows still open; 300 s: closed idle and judged, the scan held; 1300 s: hold_s (900 s) past
    # the detection, raised while the link is still quiet (before, nothing came until the monitor stopped)
    assert after == [[], [], ["detect.scan.horizontal"]]
    mon.finish()
    assert [(i, t) for i, t in heard if i in SCANS] == [("detect.scan.horizontal", T0 + 0.5)]
    assert mon.counts["flows"] >= 12


def test_an_empty_batch_that_is_no_heartbeat_ticks_nothing(tmp_path: Path) -> None:
    """Only the live source's IdleBatch carries a time: a plain empty batch (any other source) moves no clock."""
    heard: list[str] = []
    mon = Monitor(on_alert=[lambda a: heard.append(a.id)])

    def batches() -> Iterator[PacketBatch]:
        yield from read_capture(_sweep(tmp_path / "sweep.pcap"))
        empty = idle_batch(LINKTYPE_ETHERNET, 0.0)
        yield PacketBatch(empty.data, empty.offsets, empty.caplen, empty.wirelen, empty.ts, empty.linktype)
        assert not [i for i in heard if i in SCANS]

    mon.run_live(batches())
    mon.finish()
