"""Test helper: run the inventory, every detector and the alert pipeline over captures or Zeek logs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from iotwarden.addons import AddonManager
from iotwarden.detect import default_detectors
from iotwarden.detect.pipeline import AlertPipeline
from iotwarden.engine.core import Engine
from iotwarden.hooks import Context
from iotwarden.inventory.builder import InventoryBuilder
from iotwarden.inventory.classifier import DeviceClassifier
from iotwarden.model import Flow, Observation
from iotwarden.model.alert import Alert
from iotwarden.services.analyze import gc_tuned, sniff_format
from iotwarden.sources.base import RecordBatch
from iotwarden.sources.capfile import read_capture
from iotwarden.sources.zeek import read_zeek


def detect(paths: Sequence[Path], options: dict[str, dict[str, Any]] | None = None, *,
           classify: bool = False) -> Context:
    """The run's context after ``done``: ``ctx.alerts`` holds the aggregated alerts. Run with the garbage
    collector set as ``iotwarden analyze`` sets it (services/analyze.gc_tuned): with the test session's
    objects in its full collections, a three-hour capture spent a sixth of its time collecting. Without
    ``classify`` no classifier runs (every device's category unknown to the detectors, as the evaluations
    were measured); with it the classifier analyzer runs before the detectors, as in ``iotwarden analyze``."""
    with gc_tuned():
        return _detect(paths, options, classify)


def _detect(paths: Sequence[Path], options: dict[str, dict[str, Any]] | None, classify: bool = False) -> Context:
    ctx = Context()
    classifier = [DeviceClassifier()] if classify else []
    addons = AddonManager(ctx, [InventoryBuilder(), *classifier, *default_detectors(options), AlertPipeline()])
    addons.load()
    engine = Engine()
    for path in paths:
        zeek = path.is_dir() or sniff_format(path) == "zeek"
        for item in (read_zeek(path) if zeek else read_capture(path)):
            if isinstance(item, RecordBatch):
                addons.observations(item.observations)
                addons.flows(item.flows)
                if item.last_ts is not None:
                    addons.tick(item.last_ts)
                continue
            res = engine.process(item)
            addons.observations(res.observations)
            addons.flows(res.flows)
            addons.tick(float(item.ts[-1]))
    res = engine.flush()  # closing flows can still yield observations (stream bytes behind lost segments)
    addons.observations(res.observations)
    addons.flows(res.flows)
    addons.done()
    assert not ctx.stats.analyzer_errors, ctx.stats.analyzer_errors
    return ctx


def feed(analyzers: list[Any], observations: Sequence[Observation] = (), flows: Sequence[Flow] = ()) -> list[Alert]:
    """Aggregated alerts of ``analyzers`` (detectors; the pipeline is added) over synthetic records."""
    ctx = Context()
    addons = AddonManager(ctx, [*analyzers, AlertPipeline()])
    addons.observations(observations)
    addons.flows(flows)
    last = max([o.ts for o in observations] + [f.last_seen for f in flows] + [0.0])
    addons.tick(last)
    addons.done()
    assert not ctx.stats.analyzer_errors, ctx.stats.analyzer_errors
    return list(ctx.alerts)


def tcp_flow(a: str, b: str, dport: int, ts: float, *, sport: int = 40000, payload: tuple[int, int] = (0, 0),
             flags: tuple[int, int] = (0x02, 0x14), pkts: tuple[int, int] = (1, 1), a_mac: str | None = None,
             app: str | None = None, bytes_: tuple[int, int] | None = None) -> Flow:
    """A closed TCP flow; defaults describe a refused attempt (SYN, then RST+ACK)."""
    wire = bytes_ or (payload[0] + 60 * pkts[0], payload[1] + 60 * pkts[1])
    return Flow(vlan=0, ip_proto=6, a_ip=a, a_port=sport, b_ip=b, b_port=dport, first_seen=ts, last_seen=ts + 0.01,
                a_mac=a_mac, pkts_ab=pkts[0], pkts_ba=pkts[1], bytes_ab=wire[0], bytes_ba=wire[1],
                payload_ab=payload[0], payload_ba=payload[1], tcp_flags_ab=flags[0], tcp_flags_ba=flags[1], app=app)


def zeek_connects(a: str, b: str, dport: int, starts: Sequence[float], *, retransmits: Sequence[float] = (7.0, 15.0),
                  sport: int = 41000) -> list[Flow]:
    """Unanswered connects as Zeek logs them (IoT-23 20-1, 44-1): per start, an S0 record of the first
    three SYNs (0, 1, 3 s), then a 1-packet S0 record of the same source port for each later
    retransmission (Linux: 7, 15, 31 s); each connect from the next source port up from ``sport``."""
    out = []
    for i, t in enumerate(starts):
        out.append(tcp_flow(a, b, dport, t, sport=sport + i, flags=(0x02, 0), pkts=(3, 0)))
        out += [tcp_flow(a, b, dport, t + at, sport=sport + i, flags=(0x02, 0), pkts=(1, 0)) for at in retransmits]
    return sorted(out, key=lambda f: f.first_seen)


def zeek_connects_in_flight(a: str, b: str, dport: int, starts: Sequence[float], *, offset: float,
                            retransmits: Sequence[float] = (7.0, 15.0), sockets: int = 2) -> list[Flow]:
    """:func:`zeek_connects` with ``sockets`` connects in flight at once: per start, each further socket
    (the k-th's ports from 41000 + 5000 k up) connecting ``offset`` seconds after the one before, so the
    sockets' records interleave."""
    out = [f for k in range(sockets) for f in zeek_connects(a, b, dport, [t + k * offset for t in starts],
                                                            retransmits=retransmits, sport=41000 + 5000 * k)]
    return sorted(out, key=lambda f: f.first_seen)
