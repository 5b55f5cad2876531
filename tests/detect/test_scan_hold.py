"""A small sweep's scan is held until its targets show a monitoring cadence or ``hold_s`` of traffic time passes
(detect/scan_hold): a monitoring system's first cycles over the hosts that are down raise nothing, a small scan is
raised as it was found (its time, counts and evidence) only later, a large one at once."""

from __future__ import annotations

from iotwarden.detect.scan import ScanDetector
from iotwarden.detect.scan_hold import MAX_HELD_DETECTIONS, Held, Holds
from iotwarden.hooks import Context
from iotwarden.model import Flow
from iotwarden.model.alert import Alert
from tests.detect.runner import feed, tcp_flow


def _alert(ts: float, key: str = "7000") -> Alert:
    return Alert(id="detect.scan.horizontal", title="t", severity="medium", subject="s", key=key, first_seen=ts,
                 last_seen=ts)


def _hosts(n: int, net: str = "10.0.1") -> set[str]:
    return {f"{net}.{i}" for i in range(1, n + 1)}


def _hold(holds: Holds, owner: dict[int, Held], ts: float, n: int, *, src: str = "10.0.0.9", completed: int = 0,
          port: int = 7000) -> list[Alert]:
    targets = _hosts(n)
    failed = set(sorted(targets)[completed:])
    return holds.hold(owner, src, port, ts=ts, need=10, targets=targets, failed=failed, alert=_alert(ts))


def test_a_small_sweep_is_held_until_hold_s_then_raised() -> None:
    holds, owner = Holds(900.0, 32, 1024, 100), dict[int, Held]()
    assert _hold(holds, owner, 100.0, 12) == []
    assert len(holds) == 1
    assert holds.due(999.9) == []
    [alert] = holds.due(1000.0)
    assert alert.first_seen == 100.0  # raised as it was found
    assert (len(holds), owner) == (0, {})


def test_a_sweep_of_max_held_hosts_failed_targets_is_raised_at_once() -> None:
    holds, owner = Holds(900.0, 32, 1024, 100), dict[int, Held]()
    assert [a.first_seen for a in _hold(holds, owner, 5.0, 32)] == [5.0]
    assert len(holds) == 0


def test_completed_targets_count_towards_the_scan_not_towards_its_size() -> None:
    """A load balancer's first round of checks (connections completed, then reset) is held however many."""
    holds, owner = Holds(900.0, 32, 1024, 100), dict[int, Held]()
    assert _hold(holds, owner, 5.0, 40, completed=40) == []
    held = owner[7000]
    assert holds.grow(held, "10.0.2.1", failed=False) == []
    for i in range(1, 32):
        assert holds.grow(held, f"10.0.3.{i}", failed=True) == []
    [alert] = holds.grow(held, "10.0.3.32", failed=True)  # the 32nd failed target
    assert alert.first_seen == 5.0
    assert owner == {}


def test_a_held_sweep_whose_targets_turn_out_watched_is_dropped() -> None:
    holds, owner = Holds(900.0, 32, 1024, 100), dict[int, Held]()
    _hold(holds, owner, 5.0, 12)
    held = owner[7000]
    holds.watched(held, "10.0.1.1")
    holds.watched(held, "10.0.1.2")
    assert len(holds) == 1  # 10 targets left: still a scan
    holds.watched(held, "10.0.1.3")
    assert (len(holds), owner, holds.dropped) == (0, {}, 1)
    assert holds.all() == []


def test_later_detections_of_a_held_sweep_wait_with_it() -> None:
    holds, owner = Holds(900.0, 32, 1024, 100), dict[int, Held]()
    _hold(holds, owner, 5.0, 12)
    assert _hold(holds, owner, 70.0, 12) == []
    assert [a.first_seen for a in holds.all()] == [5.0, 70.0]


def test_held_detections_and_sweeps_are_bounded() -> None:
    """MAX_HELD_DETECTIONS a sweep, ``max_sources`` sweeps: past either the oldest is raised, never lost."""
    holds, owner = Holds(1e9, 32, 1024, 100), dict[int, Held]()
    out = [a for i in range(MAX_HELD_DETECTIONS) for a in _hold(holds, owner, i * 60.0, 12)]
    assert len(out) == MAX_HELD_DETECTIONS
    holds = Holds(900.0, 32, 1024, 2)
    owners = [dict[int, Held]() for _ in range(3)]
    assert _hold(holds, owners[0], 1.0, 12, src="a") == []
    assert _hold(holds, owners[1], 2.0, 12, src="b") == []
    assert [a.first_seen for a in _hold(holds, owners[2], 3.0, 12, src="c")] == [1.0]
    assert (len(holds), owners[0]) == (2, {})


def test_a_sweep_held_for_a_source_that_left_the_source_table_is_raised_when_it_is_held_again() -> None:
    holds = Holds(900.0, 32, 1024, 100)
    _hold(holds, {}, 1.0, 12)
    assert [a.first_seen for a in _hold(holds, {}, 80.0, 12)] == [1.0]
    assert [a.first_seen for a in holds.all()] == [80.0]


def _sweep(n: int, t0: float = 100.0, port: int = 7000, sport: int = 40000) -> list[Flow]:
    """``n`` hosts' ``port`` probed once each (SYN, no answer), 50 ms apart, from 10.0.0.9."""
    return [tcp_flow("10.0.0.9", f"10.0.{1 + i // 250}.{1 + i % 250}", port, t0 + i * 0.05, sport=sport + i,
                     flags=(0x02, 0), pkts=(1, 0)) for i in range(n)]


def _other(ts: float) -> Flow:
    """Another host's answered connection: traffic time goes on."""
    return tcp_flow("10.0.9.1", "10.0.9.2", 443, ts, payload=(100, 100), flags=(0x1B, 0x1B), pkts=(5, 5))


def test_a_small_sweep_alerts_hold_s_later_as_it_was_found() -> None:
    """12 hosts once: nothing while traffic time is under hold_s past the detection (the 10th probe), then the
    same alert as without holding (hold_s 0)."""
    det, ctx = ScanDetector(), Context()
    det.flows(ctx, _sweep(12))
    assert ctx.alerts == []
    det.flows(ctx, [_other(100.45 + 899.0)])
    assert ctx.alerts == []
    det.flows(ctx, [_other(100.45 + 900.0)])
    [alert] = ctx.alerts
    assert (alert.key, alert.first_seen, alert.evidence["hosts"]) == ("7000", 100.45, 10)
    unheld = ScanDetector({"hold_s": 0.0})
    unheld_ctx = Context()
    unheld.flows(unheld_ctx, _sweep(12))
    assert [a.to_dict() for a in unheld_ctx.alerts] == [alert.to_dict()]


def test_a_large_sweep_alerts_at_once_with_the_alert_it_found_first() -> None:
    """A /24's sweep: raised in the batch that reached max_held_hosts (32) failed targets, with the detection of
    its 10th host; a Mirai-style Telnet sweep the same from its 5th host."""
    for port, first in ((7000, 9), (23, 4)):
        det, ctx = ScanDetector(), Context()
        det.flows(ctx, _sweep(31, port=port))
        assert ctx.alerts == []
        det.flows(ctx, [tcp_flow("10.0.0.9", "10.0.7.1", port, 102.0, sport=39999, flags=(0x02, 0), pkts=(1, 0))])
        [alert] = ctx.alerts
        assert alert.first_seen == 100.0 + first * 0.05


def test_at_the_end_of_input_a_held_sweep_is_raised() -> None:
    [alert] = feed([ScanDetector()], flows=_sweep(12))
    assert (alert.key, alert.count, alert.first_seen) == ("7000", 1, 100.45)


def test_the_sweeps_of_a_scanner_rescanning_unevenly_are_each_raised() -> None:
    """Held sweeps of a scanner going over the same 12 hosts at 0, 65, 200 and 700 s: no steady cadence, so each
    of its four detections is raised, with its own time."""
    flows = [f for k, t in enumerate((0.0, 65.0, 200.0, 700.0)) for f in _sweep(12, t0=t, sport=30000 + 100 * k)]
    [alert] = feed([ScanDetector()], flows=flows)
    assert (alert.count, alert.first_seen, alert.last_seen) == (4, 0.45, 700.45)


def _pings(requests: int, spread: float) -> list[Flow]:
    """Unanswered echo-request flows to 12 hosts, each of ``requests`` requests over ``spread`` seconds."""
    return [Flow(0, 1, "10.0.0.5", 8, f"10.0.2.{i}", 0, 100.0 + i * 0.01, 100.0 + i * 0.01 + spread,
                 pkts_ab=requests, bytes_ab=84 * requests, extra={"icmp_type": 8}) for i in range(1, 13)]


def test_a_ping_flow_of_requests_a_cycle_apart_is_a_monitors_not_a_sweeps() -> None:
    """From packets a monitor's pings of a host that is down stay one flow (the engine's idle timeout is longer than
    their minute): three requests or more, MIN_MONITOR_PING_GAP_S (10 s) or more apart on average, are its cycles; a
    sweep's request and its retransmission (two), three within a second, or a ping command's three a second apart
    (``ping -c 3``) are a probe."""
    assert feed([ScanDetector()], flows=_pings(31, 1800.0)) == []
    assert feed([ScanDetector()], flows=_pings(3, 20.0)) == []
    for requests, spread in ((2, 1.0), (3, 0.5), (3, 2.0)):
        [alert] = feed([ScanDetector()], flows=_pings(requests, spread))
        assert alert.key == "icmp"


def test_a_held_sweep_is_raised_at_the_first_tick_hold_s_after_it_when_no_flow_comes() -> None:
    """A live monitor whose traffic is quiet (ticks of ARP, long connections, no new flow handed over): the held
    sweep is raised once capture time passes hold_s, not left until a flow starting later comes (monitor's
    on_tick, services/monitor.feed)."""
    det, ctx = ScanDetector(), Context()
    det.on_flows(ctx, _sweep(12))
    det.on_tick(ctx, 110.0)
    assert ctx.alerts == []
    det.on_tick(ctx, 100.45 + 899.0)
    assert ctx.alerts == []
    det.on_tick(ctx, 100.45 + 900.0)
    [alert] = ctx.alerts
    assert (alert.key, alert.first_seen) == ("7000", 100.45)
    det.done(ctx)
    assert len(ctx.alerts) == 1
