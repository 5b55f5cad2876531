"""Engine.advance: capture time going on with no packet (a quiet live link's heartbeat) closes what a packet stamped
then would close, and nothing else."""

from __future__ import annotations

from pathlib import Path

from iotwarden.engine.core import Engine
from iotwarden.lab.wire import Host, tcp_segment
from iotwarden.sources.capfile import read_capture
from tests.risk.harness import write_pcap

T0 = 1_765_000_000.0


def test_a_quiet_links_time_closes_the_flows_idle_by_then_once(tmp_path: Path) -> None:
    src, dst = Host("02:00:0a:00:00:09", "10.0.0.9"), Host("02:00:0a:00:00:07", "10.0.0.7")
    frames = [(T0 + i, tcp_segment(src, dst, b"", sport=40000 + i, dport=23, seq=i, ack=0, flags=0x02))
              for i in range(3)]
    engine = Engine()
    for batch in read_capture(write_pcap(tmp_path / "syn.pcap", frames)):
        assert engine.process(batch).flows == []
    assert engine.advance(T0 + 60.0).flows == []  # under the idle timeout (120 s)
    closed = engine.advance(T0 + 121.5)  # the first two SYNs' flows idle past it, the third not yet
    assert sorted(f.a_port for f in closed.flows) == [40000, 40001]
    assert all(f.b_port == 23 and f.pkts_ba == 0 for f in closed.flows)
    assert [f.a_port for f in engine.advance(T0 + 130.0).flows] == [40002]
    assert engine.advance(T0 + 1000.0).flows == [] and engine.open_flows() == 0
