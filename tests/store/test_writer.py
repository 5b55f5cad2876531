"""Writing captures: idempotent flow upserts, device merges, address history, bounded evidence."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from iotwarden.errors import StoreError
from iotwarden.model import Device, Flow
from iotwarden.store import Store
from iotwarden.store import writer as w
from iotwarden.store.schema import DeviceIpRow, DeviceRow, EvidenceRow, FlowRow


def flow(i: int, *, pkts: int = 3, vlan: int = 0) -> Flow:
    return Flow(vlan=vlan, ip_proto=6, a_ip=f"10.0.{i // 250}.{i % 250 + 1}", a_port=40000 + i % 20000,
                b_ip="192.0.2.10", b_port=443, first_seen=1_700_000_000.0 + i, last_seen=1_700_000_001.0 + i,
                a_mac="02:00:00:00:00:01", b_mac="02:00:00:00:00:02", pkts_ab=pkts, pkts_ba=pkts,
                bytes_ab=100 * pkts, bytes_ba=200 * pkts, app="tls", end_reason="fin")


def count(store: Store, table: type) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


def test_writing_the_same_flows_twice_does_not_duplicate_and_keeps_newer_counters(store: Store) -> None:
    for pkts in (3, 5):
        with store.transaction() as s:
            fw = w.FlowWriter(s, None)
            fw.add([flow(i, pkts=pkts) for i in range(10)])
            fw.flush()
    assert count(store, FlowRow) == 10
    with store.session() as s:
        assert set(s.scalars(select(FlowRow.pkts_ab))) == {5}


def test_flows_differing_only_in_vlan_or_start_are_distinct(store: Store) -> None:
    later = flow(0)
    later.first_seen += 0.5
    with store.transaction() as s:
        fw = w.FlowWriter(s, None)
        fw.add([flow(0), flow(0, vlan=7), later])
        fw.flush()
    assert count(store, FlowRow) == 3


def test_one_hundred_thousand_flows_are_written_in_batches(store: Store) -> None:
    """Writing is batched: 100k flows take a bounded number of statements, not one round trip per flow (the
    writer's speed itself is a benchmark, bench/README.md, never a wall-clock assertion here)."""
    flows = [flow(i) for i in range(100_000)]
    statements = 0

    def counted(*_: object) -> None:
        nonlocal statements
        statements += 1

    event.listen(store.engine, "before_cursor_execute", counted)
    try:
        with store.transaction() as s:
            fw = w.FlowWriter(s, None)
            fw.add(flows)
            fw.flush()
    finally:
        event.remove(store.engine, "before_cursor_execute", counted)
    assert count(store, FlowRow) == 100_000
    assert statements <= 1_000, f"100k flows took {statements} statements"


def test_device_merge_unions_sets_widens_times_and_adds_counters(store: Store) -> None:
    first = Device(key="mac:02:00:00:00:00:01", first_seen=100.0, last_seen=200.0, mac="02:00:00:00:00:01",
                   ips={"10.0.0.5"}, hostnames={"cam-1"}, attributes={"dhcp.vendor_class": {"AXIS"}},
                   protocols={"dhcp"}, packets=10, bytes=1000)
    second = Device(key="mac:02:00:00:00:00:01", first_seen=50.0, last_seen=150.0, mac="02:00:00:00:00:01",
                    ips={"10.0.0.6"}, hostnames={"cam-1"}, attributes={"dhcp.vendor_class": {"AXIS 2"},
                                                                        "http.server": {"Boa"}},
                    protocols={"http"}, packets=5, bytes=500)
    for dev in (first, second):
        with store.transaction() as s:
            w.merge_devices(s, [dev])
    with store.session() as s:
        row = s.scalars(select(DeviceRow)).one()
    assert (row.first_seen, row.last_seen) == (50.0, 200.0)
    assert row.ips == ["10.0.0.5", "10.0.0.6"]
    assert row.hostnames == ["cam-1"]
    assert row.attributes == {"dhcp.vendor_class": ["AXIS", "AXIS 2"], "http.server": ["Boa"]}
    assert row.protocols == ["dhcp", "http"]
    assert (row.packets, row.bytes) == (15, 1500)


def test_attribute_values_stay_bounded_across_captures(store: Store) -> None:
    for batch in range(3):
        values = {f"ua-{batch}-{i:03d}" for i in range(w.MAX_STORED_VALUES_PER_ATTRIBUTE)}
        dev = Device(key="ip:192.0.2.1", first_seen=1.0, last_seen=2.0, attributes={"http.user_agent": values})
        with store.transaction() as s:
            w.merge_devices(s, [dev])
    with store.session() as s:
        row = s.scalars(select(DeviceRow)).one()
    assert len(row.attributes["http.user_agent"]) == w.MAX_STORED_VALUES_PER_ATTRIBUTE
    assert all(v.startswith("ua-0-") for v in row.attributes["http.user_agent"])  # first seen are kept


def test_device_ip_history_keeps_earliest_first_and_latest_last(store: Store) -> None:
    key = "mac:02:00:00:00:00:01"
    with store.transaction() as s:
        w.merge_devices(s, [Device(key=key, first_seen=1.0, last_seen=9.0)])
    for span in ((5.0, 6.0), (2.0, 4.0), (7.0, 9.0)):
        with store.transaction() as s:
            w.merge_device_ips(s, {key: {"10.0.0.5": span}})
    with store.session() as s:
        row = s.scalars(select(DeviceIpRow)).one()
    assert (row.ip, row.first_seen, row.last_seen) == ("10.0.0.5", 2.0, 9.0)


def test_evidence_is_deduplicated_counted_and_bounded_per_device(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(w, "MAX_EVIDENCE_PER_DEVICE", 3)
    key = "mac:02:00:00:00:00:01"
    with store.transaction() as s:
        w.merge_devices(s, [Device(key=key, first_seen=1.0, last_seen=9.0)])

    def ev(value: str, ts: float) -> w.Evidence:
        return w.Evidence(key, "dhcp", "request", "hostname", value, ts, ts, 2)

    with store.transaction() as s:
        assert w.merge_evidence(s, [ev("a", 5.0), ev("b", 5.0)]) == 0
    with store.transaction() as s:  # "a" again updates; "c" fills the last slot; "d" and "e" are dropped
        assert w.merge_evidence(s, [ev("a", 1.0), ev("c", 6.0), ev("d", 6.0), ev("e", 6.0)]) == 2
    with store.session() as s:
        rows = {r.value: r for r in s.scalars(select(EvidenceRow))}
    assert sorted(rows) == ["a", "b", "c"]
    assert (rows["a"].count, rows["a"].first_seen, rows["a"].last_seen) == (4, 1.0, 5.0)


def test_long_evidence_values_are_cut_to_the_column_width(store: Store) -> None:
    key = "ip:192.0.2.1"
    with store.transaction() as s:
        w.merge_devices(s, [Device(key=key, first_seen=1.0, last_seen=1.0)])
        w.merge_evidence(s, [w.Evidence(key, "http", "request", "user_agent", "x" * 2000, 1.0, 1.0, 1)])
    with store.session() as s:
        assert len(s.scalars(select(EvidenceRow.value)).one()) == w.MAX_VALUE_LEN


def test_a_rolled_back_transaction_leaves_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as s:
        w.begin_capture(s, path="x.pcap", sha256="1" * 64, size=10, fmt="capture")
        fw = w.FlowWriter(s, None)
        fw.add([flow(i) for i in range(w.FLOW_CHUNK + 10)])  # one chunk already sent to the database
        raise RuntimeError("killed")
    assert count(store, FlowRow) == 0


def test_find_analysed_ignores_failed_attempts(store: Store) -> None:
    with store.transaction() as s:
        row = w.begin_capture(s, path="x.pcap", sha256="2" * 64, size=10, fmt="capture")  # status failed
        assert w.find_analysed(s, "2" * 64) is None
        w.finish_capture(row, status="complete", packets=1, flows=0, observations=0, devices=0, error=None,
                         stats={})
    with store.session() as s:
        found = w.find_analysed(s, "2" * 64)
        assert found is not None
        assert found.status == "complete"


def test_odd_values_are_made_storable_instead_of_failing_the_capture(store: Store) -> None:
    odd = flow(0)
    odd.app = "a-very-long-application-name-beyond-the-column"
    odd.extra = {"history": {"S", "h"}, "raw": b"\x00\x01"}
    key = "ip:192.0.2.1"
    with store.transaction() as s:
        fw = w.FlowWriter(s, None)
        fw.add([odd])
        fw.flush()
        w.merge_devices(s, [Device(key=key, first_seen=1.0, last_seen=1.0)])
        w.merge_evidence(s, [w.Evidence(key, "p" * 40, "k" * 80, "f" * 80, "v", 1.0, 1.0, 1)])
    with store.session() as s:
        row = s.scalars(select(FlowRow)).one()
        assert row.app == odd.app[:32]
        assert set(row.extra) == {"history", "raw"}
        ev = s.scalars(select(EvidenceRow)).one()
        assert (len(ev.proto), len(ev.kind), len(ev.field)) == (32, 64, 64)


def test_probes_are_empty_tcp_attempts_answered_by_at_most_one_packet() -> None:
    def probe(**kw: int) -> Flow:
        return Flow(vlan=0, ip_proto=kw.pop("ip_proto", 6), a_ip="10.0.0.5", a_port=40000, b_ip="192.0.2.10",
                    b_port=23, first_seen=1.0, last_seen=1.0, pkts_ab=1, **kw)
    assert w.is_probe(probe())  # S0: unanswered SYN
    assert w.is_probe(probe(pkts_ba=1))  # REJ: one RST back
    assert not w.is_probe(probe(pkts_ba=2))  # a handshake answered
    assert not w.is_probe(probe(payload_ab=20))  # carried data
    assert not w.is_probe(probe(ip_proto=17))  # UDP is never a probe here


def test_past_the_probe_budget_probes_are_counted_and_data_flows_still_written(store: Store) -> None:
    probes = [Flow(vlan=0, ip_proto=6, a_ip="10.0.0.5", a_port=40000 + i, b_ip=f"198.18.0.{i + 1}", b_port=23,
                   first_seen=1.0 + i, last_seen=1.0 + i, pkts_ab=1) for i in range(30)]
    with store.transaction() as s:
        out = w.FlowWriter(s, None, max_probes=10)
        out.add([*probes, flow(1), flow(2)])
        out.flush()
    assert (out.written, out.probes, out.probes_not_stored) == (12, 10, 20)
    assert count(store, FlowRow) == 12


def test_sqlite_rows_written_through_the_driver_equal_sqlalchemys(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The raw sqlite3 executemany stores each flow as SQLAlchemy's executemany did, odd values included."""
    odd = [flow(i) for i in range(6)]
    odd[0].extra = {"uid": "C1", "conn_state": "S0", "local_orig": True, "missed_bytes": 0, "services": ["dns", "ssl"]}
    odd[1].extra = {"seen": {"b", "a"}, "raw": b"\x00", 7: "int key", "nan": float("nan")}  # type: ignore[dict-item]  # not JSON as it is
    odd[2].first_seen, odd[2].last_seen = 1_700_000_000, 1_700_000_002  # ints in a Float column
    odd[3].app, odd[3].end_reason = "x" * 40, ""  # cut to the column, empty is NULL
    odd[4].vlan, odd[4].a_port, odd[4].a_mac = None, None, None  # type: ignore[assignment]
    dumps = []
    for raw in (True, False):
        store = Store(f"sqlite:///{tmp_path / f'{raw}.db'}")
        if not raw:
            monkeypatch.setattr(w.FlowWriter, "_sqlite", lambda self: None)
        with store.transaction() as s:
            fw = w.FlowWriter(s, None)
            fw.add(odd)
            fw.flush()
            assert fw.written == len(odd)
            rows = s.connection().exec_driver_sql(
                "SELECT vlan, ip_proto, a_ip, a_port, b_ip, b_port, first_seen, typeof(first_seen), last_seen, "
                "a_mac, b_mac, pkts_ab, pkts_ba, bytes_ab, bytes_ba, payload_ab, payload_ba, tcp_flags_ab, "
                "tcp_flags_ba, app, end_reason, extra FROM flows ORDER BY id").all()
        store.close()
        dumps.append([tuple(r) for r in rows])
    assert dumps[0] == dumps[1]
    assert dumps[0][2][7] == "real" and dumps[0][3][19] == "x" * 32


def test_a_database_error_on_the_sqlite_path_is_a_store_error(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(StoreError, match="database error"), store.transaction() as s:
        fw = w.FlowWriter(s, 999_999)  # no such capture: the foreign key refuses the rows
        fw.add([flow(0)])
        fw.flush()
    store.close()
