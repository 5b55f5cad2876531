"""A remote sensor on a quiet link (sources/live.IdleBatch): each heartbeat closes the flows idle by its time and is
published as a tick with them, so the workers' analyzers (a held scan, flows waiting for their device's class) come
due while no packet comes; before, a quiet link sent nothing until the next packet or the stop."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from iotwarden.bus.jetstream import STREAM, NatsLink, records_subject
from iotwarden.engine.batch import LINKTYPE_ETHERNET, PacketBatch
from iotwarden.services.records import RecordMessage, decode
from iotwarden.services.runstate import RunState
from iotwarden.services.sensor import RunReport, Sensor
from iotwarden.sources.capfile import read_capture
from iotwarden.sources.live import idle_batch
from tests.natsutil import cleanup, nats_link, new_site
from tests.services.test_monitor_idle import SCANS, T0, _sweep
from tests.sources.test_live_idle import _capture

__all__ = ["nats_link"]
pytestmark = pytest.mark.nats


def _published(link: NatsLink, site: str, report: RunReport) -> list[RecordMessage]:
    sub = link.call(link.jetstream().pull_subscribe(records_subject(site), stream=STREAM))
    msgs = [decode(m.data) for m in link.call(sub.fetch(report.messages, timeout=5))]
    link.call(sub.unsubscribe())
    assert [m.seq for m in msgs] == list(range(report.messages)) and msgs[-1].end
    return msgs


def test_heartbeats_send_the_flows_closed_idle_by_their_time_as_ticks(nats_link: NatsLink, tmp_path: Path) -> None:
    site = new_site()

    def live() -> Iterator[PacketBatch]:
        yield from read_capture(_sweep(tmp_path / "sweep.pcap"))  # 12 SYNs never answered, T0 .. T0 + 0.6 s
        for at in (T0 + 60.0, T0 + 300.0, T0 + 1300.0):  # the link quiet from the sweep's end on
            yield idle_batch(LINKTYPE_ETHERNET, at)

    try:
        sensor = Sensor(nats_link, site, max_message_bytes=64 * 1024)
        report = sensor.run_live(live(), "eth-test")
        assert sensor.close() == 0
        assert report.status == "complete" and report.packets == 12 and report.flows == 12
        msgs = _published(nats_link, site, report)
        beats = [(m.tick, len(m.flows)) for m in msgs if not m.packets and not m.end]
        # 60 s: the SYNs' flows still open, a tick alone; 300 s: closed idle, sent with their tick; then a tick alone
        assert beats == [(T0 + 60.0, 0), (T0 + 300.0, 12), (T0 + 1300.0, 0)]
        assert msgs[-2].tick == T0 + 1300.0  # the stop's flush had nothing left to close: no message of its own
        # a worker's analyzers fed these messages: the scan held at 300 s is raised at 1300 s, before the run ends
        heard: list[str] = []
        run = RunState(site, report.run)
        run.pipeline.subscribe(lambda alert: heard.append(alert.id))
        for msg in msgs[:-1]:
            run.feed(msg)
        assert [i for i in heard if i in SCANS] == ["detect.scan.horizontal"] and not run.ended
    finally:
        cleanup(nats_link, site)


def test_a_plain_empty_batch_sends_nothing(nats_link: NatsLink, tmp_path: Path) -> None:
    """Only the live source's IdleBatch carries a time: an empty batch of any other kind sends no tick."""
    site = new_site()

    def batches() -> Iterator[PacketBatch]:
        yield from read_capture(_sweep(tmp_path / "sweep.pcap"))
        empty = idle_batch(LINKTYPE_ETHERNET, T0 + 300.0)
        yield PacketBatch(empty.data, empty.offsets, empty.caplen, empty.wirelen, empty.ts, empty.linktype)

    try:
        sensor = Sensor(nats_link, site, max_message_bytes=64 * 1024)
        report = sensor.run_live(batches(), "eth-test")
        assert sensor.close() == 0
        msgs = _published(nats_link, site, report)
        assert all(m.packets or m.end or m.tick is None or m.tick < T0 + 300.0 for m in msgs)
        assert [len(m.flows) for m in msgs if m.flows] == [12]  # closed by the stop's flush, not before
    finally:
        cleanup(nats_link, site)


def test_a_quiet_capture_socket_sends_a_tick_each_idle_s(nats_link: NatsLink) -> None:
    """The capture loop over a socket pair standing in for the AF_PACKET socket, no interface: its heartbeats
    reach NATS as ticks of the wall clock (the kernel stamps packets with it), about idle_s apart."""
    site = new_site()
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sensor = Sensor(nats_link, site, max_message_bytes=64 * 1024)
        threading.Timer(1.0, sensor.stop).start()
        started = time.time()
        report = sensor.run_live(_capture(a).batches(batch_timeout=0.05, stop=sensor.stopping, idle_s=0.3),
                                 "eth-test")
        assert sensor.close() == 0
        assert report.status == "stopped" and report.packets == 0
        ticks = [m.tick for m in _published(nats_link, site, report) if not m.end and m.tick is not None]
        assert len(ticks) >= 2 and all(started < t < time.time() for t in ticks)
        assert all(0.2 < later - earlier < 1.0 for earlier, later in itertools.pairwise(ticks))
    finally:
        a.close()
        b.close()
        cleanup(nats_link, site)
