"""The device list: facet filters read from what the store has, free text, time ranges, sort, pages, counts."""

from __future__ import annotations

import time

from sqlalchemy import insert, select

from iotwarden.api import devicequery as dq
from iotwarden.store import Store
from iotwarden.store import queries as q
from iotwarden.store.schema import DeviceRow
from tests.api.conftest import CAMERA, some_vendor


def keys(store: Store, flt: dq.DeviceFilter, **kw: object) -> list[str]:
    with store.session() as session:
        return [r.key for r in dq.list_devices(session, flt, **kw).rows]  # type: ignore[arg-type]


def matching(store: Store, facet: dq.Facet, value: str) -> list[str]:
    with store.session() as session:
        clause = dq.facet_clause(facet, value, session.get_bind().dialect.name)
        return list(session.scalars(select(DeviceRow.key).where(clause).order_by(DeviceRow.key)))


def test_a_facet_without_its_column_reads_what_devices_state_in_their_attributes(store: Store) -> None:
    plc_vendor = dq.Facet("plc_vendor", "no_such_column", ("modbus.vendor_name", "bacnet.vendor_name"), "PLC vendor")
    assert dq.facet_source(plc_vendor) == "attributes"
    # the demo's PLCs answer Modbus Read Device Identification with their vendor, its BACnet controllers
    # state theirs in the Device object's vendor-name property (lab/scenarios/enterprise.yaml)
    assert matching(store, plc_vendor, "Schneider Electric") == ["mac:00:11:00:4d:21:01"]
    assert matching(store, plc_vendor, "Schneider") == []  # a facet value matches whole
    with store.session() as session:
        values = dict(dq.facet_values(session, plc_vendor))
    assert values == {"Schneider Electric": 1, "Siemens": 1, "Rockwell Automation": 1,
                      "Delta Controls": 1, "Johnson Controls": 1}


def test_a_facet_with_its_column_matches_the_column_exactly(store: Store) -> None:
    by_mac = dq.Facet("by_mac", "mac", ("dhcp.hostname",), "MAC")  # any existing column stands for the classifier's
    assert dq.facet_source(by_mac) == "column"
    assert matching(store, by_mac, CAMERA[4:]) == [CAMERA]
    assert matching(store, by_mac, CAMERA[4:10]) == []
    with store.session() as session:
        assert (CAMERA[4:], 1) in dq.facet_values(session, by_mac)


def test_a_facet_nothing_states_matches_nothing_rather_than_guessing(store: Store) -> None:
    unknown = dq.Facet("unknown", "no_such_column", (), "Unknown")
    assert dq.facet_source(unknown) == "none"
    assert matching(store, unknown, "iot") == []
    with store.session() as session:
        assert dq.facet_values(session, unknown) == []


def test_every_declared_facet_filters_without_error(store: Store) -> None:
    for name in dq.FACETS:
        assert isinstance(keys(store, dq.DeviceFilter(**{name: "no such value"})), list)


def test_free_text_protocol_and_combined_filters(store: Store) -> None:
    cams = keys(store, dq.DeviceFilter(search="AXIS"))
    assert "mac:ac:cc:8e:4a:10:01" in cams
    modbus = keys(store, dq.DeviceFilter(protocol="modbus"), limit=500)
    assert "mac:00:11:00:4d:21:01" in modbus
    vendor, _count = some_vendor(store)
    by_vendor = keys(store, dq.DeviceFilter(vendor=vendor), limit=500)
    both = keys(store, dq.DeviceFilter(protocol="modbus", vendor=vendor), limit=500)
    assert set(both) == set(modbus) & set(by_vendor)  # filters combine with AND
    assert keys(store, dq.DeviceFilter(search="100%_")) == []  # LIKE wildcards are matched literally


def test_time_ranges_sort_and_pages(store: Store) -> None:
    with store.session() as session:
        total = q.count_rows(session)["devices"]
        everything = dq.list_devices(session, dq.DeviceFilter(), sort="last_seen", limit=500)
    assert everything.total == len(everything.rows) == total  # every device of the demo network
    seen = [r.last_seen for r in everything.rows]
    assert seen == sorted(seen)
    middle = seen[len(seen) // 2]
    later = keys(store, dq.DeviceFilter(last_seen_after=middle), limit=500)
    assert later and all(r.last_seen >= middle for r in everything.rows if r.key in later)
    with store.session() as session:
        page2 = dq.list_devices(session, dq.DeviceFilter(), sort="-bytes", offset=10, limit=10)
        top = dq.list_devices(session, dq.DeviceFilter(), sort="-bytes", limit=20)
    assert [r.key for r in page2.rows] == [r.key for r in top.rows[10:]]
    assert page2.total == total and page2.total_exact


def test_page_size_is_bounded_and_an_unknown_sort_falls_back_to_the_key(store: Store) -> None:
    with store.session() as session:
        page = dq.list_devices(session, dq.DeviceFilter(), sort="-nonsense", limit=10_000)
    assert page.limit == dq.MAX_PAGE
    assert [r.key for r in page.rows] == sorted((r.key for r in page.rows), reverse=True)


def test_the_count_of_a_filtered_list_stops_at_its_limit(store: Store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    now = time.time()
    with store.transaction() as session:
        session.execute(insert(DeviceRow), [
            {"key": f"ip:10.99.{i // 256}.{i % 256}", "mac": None, "first_seen": now, "last_seen": now,
             "ips": [f"10.99.{i // 256}.{i % 256}"], "hostnames": [], "attributes": {}, "protocols": ["dns"],
             "packets": 1, "bytes": 60} for i in range(300)])
    monkeypatch.setattr(dq, "MAX_COUNTED", 100)
    with store.session() as session:
        page = dq.list_devices(session, dq.DeviceFilter(search="10.99."), limit=10)
    assert page.total == 100 and not page.total_exact
