"""A scan source's tables (detect/scan_state): bounded, least recently probed first, evidence the scan's own."""

from __future__ import annotations

from iotwarden.detect.scan import ScanOptions
from iotwarden.detect.scan_state import EVIDENCE_FLOWS, Probes, Recent, fresh, own, probed, raised, slow_probe
from tests.detect.runner import tcp_flow


def test_a_table_keeps_the_latest_probe_of_each_key_and_drops_the_least_recent_past_its_limit() -> None:
    table: Recent[str, float] = Recent()
    for i in range(5):
        probed(table, f"10.0.0.{i}", float(i), 3)
    probed(table, "10.0.0.3", 1.0, 3)  # an older probe read late keeps the later time
    assert list(table.items()) == [("10.0.0.2", 2.0), ("10.0.0.4", 4.0), ("10.0.0.3", 3.0)]


def test_fresh_counts_what_is_within_the_window_and_drops_the_rest() -> None:
    table = Recent((f"h{i}", float(i * 10)) for i in range(10))
    assert fresh(table, 90.0, 30.0) == 4
    assert list(table) == ["h6", "h7", "h8", "h9"]


def test_what_was_raised_is_forgotten_past_both_windows_or_max_targets() -> None:
    o = ScanOptions(window_s=60.0, slow_window_s=3600.0, max_targets=2)
    table: Recent[tuple[str, str], float] = Recent()
    raised(table, ("a", "1"), 0.0, o)
    raised(table, ("a", "2"), 10.0, o)
    raised(table, ("a", "3"), 20.0, o)
    assert list(table) == [("a", "2"), ("a", "3")]
    raised(table, ("a", "4"), 3620.5, o)
    assert list(table) == [("a", "4")]  # the others were raised longer ago than slow_window_s


def test_evidence_is_the_scans_own_latest_probes_oldest_first() -> None:
    st = Probes()
    for i in range(10):
        st.recent.append(tcp_flow("10.0.0.9", f"10.0.1.{i}", 23 if i % 2 else 80, float(i)))
    mine = own(st.recent, lambda f: f.b_port == 23)
    assert [f.first_seen for f in mine] == [3.0, 5.0, 7.0, 9.0][-EVIDENCE_FLOWS:]


def test_a_slow_scans_port_keeps_its_first_probes_and_leaves_with_its_table() -> None:
    st = Probes()
    for i in range(6):
        hosts, probes = slow_probe(st, tcp_flow("10.0.0.9", f"10.0.1.{i}", 8080, float(i)), f"10.0.1.{i}", 2)
    assert len(hosts) == 2 and [f.first_seen for f in probes] == [0.0, 1.0, 2.0, 3.0]
    for port in (8081, 8082):
        slow_probe(st, tcp_flow("10.0.0.9", "10.0.1.1", port, 10.0), "10.0.1.1", 2)
    assert list(st.slow) == [8081, 8082] and set(st.slow_flows) == {8081, 8082}
