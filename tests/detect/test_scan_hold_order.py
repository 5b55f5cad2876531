"""Held sweeps when records come out of time order (detect/scan_hold): an older file of a growing folder read after
a newer one, a Zeek log written late. Nothing is raised before ``hold_s`` past its sweep, nothing twice, nothing
lost, and an older sweep is not kept waiting behind newer ones."""

from __future__ import annotations

import random

from iotwarden.detect.scan import ScanDetector
from iotwarden.detect.scan_hold import Held, Holds
from iotwarden.hooks import Context
from iotwarden.model import Flow
from iotwarden.model.alert import Alert
from tests.detect.runner import tcp_flow


def _alert(ts: float, key: str) -> Alert:
    return Alert(id="detect.scan.horizontal", title="t", severity="medium", subject="s", key=key, first_seen=ts,
                 last_seen=ts)


def _hold(holds: Holds, owner: dict[int, Held], src: str, ts: float, key: str = "7000") -> list[Alert]:
    targets = {f"10.0.1.{i}" for i in range(1, 13)}
    return holds.hold(owner, src, 7000, ts=ts, need=10, targets=targets, failed=set(targets), alert=_alert(ts, key))


def test_an_older_sweep_held_after_a_newer_one_is_due_at_its_own_time() -> None:
    """A newer file's sweep held at 5000 s, then an older file's at 100 s: the older one is due at 1000 s, the
    first compare per flow says so (before, it waited behind the newer one until 5900 s or the end of input)."""
    holds = Holds(900.0, 32, 1024, 100)
    assert _hold(holds, {}, "10.0.0.9", 5000.0, "new") == []
    assert _hold(holds, {}, "10.0.0.8", 100.0, "old") == []
    assert holds.next_due == 1000.0
    assert holds.due(999.0) == []
    assert [a.key for a in holds.due(1000.0)] == ["old"]
    assert holds.next_due == 5900.0
    assert holds.due(5899.0) == []
    assert [a.key for a in holds.due(5900.0)] == ["new"]


def test_a_time_earlier_than_a_held_sweep_raises_nothing_of_it() -> None:
    holds = Holds(900.0, 32, 1024, 100)
    _hold(holds, {}, "10.0.0.9", 5000.0)
    assert holds.due(100.0) == [] and holds.due(-1e9) == []
    assert len(holds) == 1


def test_a_detection_read_late_moves_its_sweep_back_to_its_time() -> None:
    """The sweep's detection of 1000 s held, then one of 500 s read late: the sweep is due at 1400 s, with both."""
    holds, owner = Holds(900.0, 32, 1024, 100), dict[int, Held]()
    _hold(holds, owner, "10.0.0.9", 1000.0, "a")
    _hold(holds, owner, "10.0.0.9", 500.0, "b")
    assert holds.next_due == 1400.0
    assert sorted(a.key for a in holds.due(1400.0)) == ["a", "b"]
    assert (len(holds), owner) == (0, {})


def test_out_of_order_holds_and_times_raise_each_detection_once_and_never_early() -> None:
    """300 sweeps of 60 sources held at shuffled times, judged at shuffled times, some dropped as watched, the rest
    at the end: every detection comes back exactly once (raised or dropped), none before hold_s past its sweep's
    earliest detection, and the due-order heap stays bounded."""
    rng = random.Random(7)
    holds = Holds(900.0, 32, 1024, 40)  # max_sources 40: the bound raises the oldest too
    owners: dict[str, dict[int, Held]] = {f"10.0.0.{i}": {} for i in range(60)}
    earliest: dict[tuple[str, int], float] = {}
    raised: list[Alert] = []
    sent = 0
    for n in range(300):
        src, ts = rng.choice(list(owners)), rng.uniform(0.0, 20_000.0)
        port = rng.choice((7000, 7001))
        held = owners[src].get(port)
        if held is None:
            earliest[(src, port)] = ts
        else:
            earliest[(src, port)] = min(earliest[(src, port)], ts)
        targets = {f"10.0.1.{i}" for i in range(1, 13)}
        alert = _alert(ts, f"{src}/{port}/{n}")
        sent += 1
        back = holds.hold(owners[src], src, port, ts=ts, need=10, targets=targets, failed=set(targets), alert=alert)
        raised += back
        held = owners[src].get(port)
        if held is not None and rng.random() < 0.1:  # watched: the sweep dropped, its detections with it
            kept = list(held.raises)
            for host in sorted(held.targets)[:3]:
                holds.watched(held, host)
            if owners[src].get(port) is not held:
                sent -= len(kept)
        now = rng.uniform(0.0, 25_000.0)
        for alert in holds.due(now):
            key_src, key_port, _ = alert.key.split("/")
            assert earliest[(key_src, int(key_port))] <= now - 900.0
            raised.append(alert)
        assert len(holds._order) <= 2 * len(holds) + 64 + 1
    raised += holds.all()
    keys = [a.key for a in raised]
    assert len(keys) == len(set(keys)) == sent
    assert len(holds) == 0 and holds.due(1e9) == []


def _sweep(src: str, t0: float) -> list[Flow]:
    return [tcp_flow(src, f"10.0.1.{i}", 7000, t0 + i * 0.05, sport=40000 + i, flags=(0x02, 0), pkts=(1, 0))
            for i in range(1, 13)]


def test_an_older_batchs_sweep_is_raised_at_its_own_tick_after_a_newer_batch() -> None:
    """A newer file's batch (a sweep at 5000 s), then an older file's (a sweep at 100 s, its tick at 1100 s): the
    older sweep is raised at that tick, the newer at the end of input, each once (before, the older one waited
    behind the newer until the end)."""
    det, ctx = ScanDetector(), Context()
    det.on_flows(ctx, _sweep("10.0.0.9", 5000.0))
    det.on_tick(ctx, 5001.0)
    det.on_flows(ctx, _sweep("10.0.0.8", 100.0))
    det.on_tick(ctx, 1100.0)
    assert [(a.src_ip, a.first_seen) for a in ctx.alerts] == [("10.0.0.8", 100.5)]
    det.done(ctx)
    assert [(a.src_ip, a.first_seen) for a in ctx.alerts] == [("10.0.0.8", 100.5), ("10.0.0.9", 5000.5)]


def test_a_monitor_in_an_older_batch_read_late_raises_nothing() -> None:
    """A newer file's traffic first (time at 9000 s), then an older file with a monitor's three cycles of 12 hosts
    that are down, 5 minutes apart: its first cycle's sweep is held and dropped at the third, not raised early by the
    newer file's time."""
    det, ctx = ScanDetector(), Context()
    det.on_flows(ctx, [tcp_flow("10.0.9.1", "10.0.9.2", 443, 9000.0, payload=(100, 100), flags=(0x1B, 0x1B),
                                pkts=(5, 5))])
    det.on_tick(ctx, 9000.0)
    cycles = [f for k in range(3) for f in _sweep_from_port("10.0.0.7", 100.0 + 300.0 * k, 41000 + 100 * k)]
    det.on_flows(ctx, cycles)
    det.on_tick(ctx, 800.0)
    det.done(ctx)
    assert ctx.alerts == []


def _sweep_from_port(src: str, t0: float, sport: int) -> list[Flow]:
    return [tcp_flow(src, f"10.0.1.{i}", 7000, t0 + i * 0.05, sport=sport + i, flags=(0x02, 0), pkts=(1, 0))
            for i in range(1, 13)]
