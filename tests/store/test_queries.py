"""Reading the store: device filters, resolving one device from what a user types, flow filters."""

from __future__ import annotations

import pytest

from iotwarden.errors import StoreError
from iotwarden.model import Device, Flow
from iotwarden.store import Store
from iotwarden.store import queries as q
from iotwarden.store import writer as w

CAM = "mac:00:40:8c:12:34:56"
CAM2 = "mac:00:40:8c:12:99:99"
PRINTER = "mac:3c:2a:f4:00:00:01"
REMOTE = "ip:203.0.113.9"


@pytest.fixture
def filled(store: Store) -> Store:
    devices = [
        Device(key=CAM, first_seen=1, last_seen=2, mac=CAM[4:], ips={"10.0.0.20"}, hostnames={"axis-cam"},
               attributes={"http.server": {"Boa/0.94"}}, protocols={"http", "dhcp"}),
        Device(key=CAM2, first_seen=1, last_seen=2, mac=CAM2[4:], ips={"10.0.0.21"}, protocols={"rtsp"}),
        Device(key=PRINTER, first_seen=1, last_seen=2, mac=PRINTER[4:], ips={"10.0.0.30"},
               hostnames={"HP_Office"}, attributes={"mdns.services": {"_ipp._tcp.local"}}, protocols={"mdns"}),
        Device(key=REMOTE, first_seen=1, last_seen=2, ips={"203.0.113.9"}, protocols={"tls"}),
    ]
    flows = [
        Flow(vlan=0, ip_proto=6, a_ip="10.0.0.20", a_port=50000, b_ip="203.0.113.9", b_port=443, first_seen=10,
             last_seen=11, a_mac=CAM[4:], app="tls"),
        Flow(vlan=0, ip_proto=17, a_ip="10.0.0.30", a_port=5353, b_ip="224.0.0.251", b_port=5353, first_seen=12,
             last_seen=12, a_mac=PRINTER[4:], app="mdns"),
        Flow(vlan=0, ip_proto=6, a_ip="10.0.0.99", a_port=51000, b_ip="10.0.0.30", b_port=631, first_seen=13,
             last_seen=14, app="http"),
    ]
    with store.transaction() as s:
        w.merge_devices(s, devices)
        w.merge_device_ips(s, {d.key: dict.fromkeys(d.ips, (1.0, 2.0)) for d in devices})
        fw = w.FlowWriter(s, None)
        fw.add(flows)
        fw.flush()
    return store


def keys(rows: list) -> list[str]:
    return [r.key for r in rows]


def test_list_devices_is_ordered_by_key(filled: Store) -> None:
    with filled.session() as s:
        assert keys(q.list_devices(s)) == sorted([CAM, CAM2, PRINTER, REMOTE])


def test_devices_by_keys_reads_the_report_columns_of_the_named_devices_in_key_order(filled: Store) -> None:
    with filled.session() as s:
        rows = q.devices_by_keys(s, [PRINTER, CAM, "mac:00:00:5e:00:53:01"])  # one unknown: no row
        stored = {r.key: r for r in q.list_devices(s)}
    assert keys(rows) == [CAM, PRINTER]
    names = [c.key for c in q.REPORT_COLUMNS]
    assert "classification" not in names
    for row in rows:
        assert tuple(row) == tuple(getattr(stored[row.key], name) for name in names)
    assert rows[0].attributes == {"http.server": ["Boa/0.94"]} and sorted(rows[0].protocols) == ["dhcp", "http"]


def test_proto_filter_matches_whole_protocol_names(filled: Store) -> None:
    with filled.session() as s:
        assert keys(q.list_devices(s, proto="http")) == [CAM]
        assert keys(q.list_devices(s, proto="HTTP")) == [CAM]
        assert keys(q.list_devices(s, proto="htt")) == []


@pytest.mark.parametrize(
    ("term", "expected"),
    [("axis", [CAM]), ("hp_office", [PRINTER]), ("_ipp._tcp", [PRINTER]), ("203.0.113", [REMOTE]),
     ("00:40:8c", [CAM, CAM2]), ("boa/0.94", [CAM]), ("100%", [])],
)
def test_search_looks_at_keys_macs_ips_names_and_attributes(filled: Store, term: str, expected: list[str]) -> None:
    with filled.session() as s:
        assert keys(q.list_devices(s, search=term)) == expected


@pytest.mark.parametrize(
    ("ident", "expected"),
    [(CAM, CAM), ("00:40:8c:12:34:56", CAM), ("10.0.0.30", PRINTER), ("mac:3c", PRINTER), ("3c:2a", PRINTER),
     ("203.0.113.9", REMOTE), ("ip:203", REMOTE)],
)
def test_resolve_device_by_key_prefix_mac_or_ip(filled: Store, ident: str, expected: str) -> None:
    with filled.session() as s:
        assert q.resolve_device(s, ident).key == expected


def test_ambiguous_and_unknown_identifiers_are_clear_errors(filled: Store) -> None:
    with filled.session() as s:
        with pytest.raises(StoreError, match="matches several devices: mac:00:40:8c:12:34:56, mac:00:40:8c:12:99:99"):
            q.resolve_device(s, "00:40:8c")
        with pytest.raises(StoreError, match="no device matches"):
            q.resolve_device(s, "10.9.9.9")


def test_flows_of_a_device_filtered_by_protocol_and_port(filled: Store) -> None:
    with filled.session() as s:
        printer = q.resolve_device(s, PRINTER)
        assert [f.b_port for f in q.list_flows(s, device=printer)] == [631, 5353]  # newest first
        assert [f.app for f in q.list_flows(s, proto="udp")] == ["mdns"]
        assert [f.app for f in q.list_flows(s, proto="tls")] == ["tls"]
        assert [f.app for f in q.list_flows(s, proto="6")] == ["http", "tls"]
        assert [f.app for f in q.list_flows(s, port=443)] == ["tls"]
        assert len(q.list_flows(s, limit=1)) == 1


def test_counts_of_what_the_store_holds(filled: Store) -> None:
    with filled.session() as s:
        assert q.count_rows(s) == {"captures": 0, "devices": 4, "flows": 3, "evidence": 0}
