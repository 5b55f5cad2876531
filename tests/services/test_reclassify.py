"""A device analysed in several captures is classified over everything the store knows of it, not over
the last capture alone (issue #3: the judged datasets spread one device over many captures)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from iotwarden.inventory.classifier import Classifier
from iotwarden.model import Device
from iotwarden.services.analyze import analyze
from iotwarden.store import Store
from iotwarden.store import writer as w
from iotwarden.store.schema import DeviceRow
from tests.conftest import shared

PLC_MAC = "00:04:17:02:36:35"  # ELAU block; serves Modbus in ModbusTCP.pcap, shows only its MAC in mb2.pcap
CLASSIFY = Classifier().classify


def _device(attributes: dict[str, set[str]], mac: str = "02:00:00:00:00:07") -> Device:
    dev = Device(key=f"mac:{mac}", first_seen=1.0, last_seen=2.0, mac=mac, attributes=attributes)
    dev.classification = CLASSIFY(dev)
    return dev


def _stored(store: Store, key: str) -> DeviceRow:
    with store.session() as s:
        return s.scalars(select(DeviceRow).where(DeviceRow.key == key)).one()


def test_what_an_earlier_capture_showed_keeps_counting(store: Store) -> None:
    with store.transaction() as s:
        w.merge_devices(s, [_device({"service.server": {"modbus"}})], reclassify=CLASSIFY)
    assert _stored(store, "mac:02:00:00:00:00:07").category == "ot"
    later = _device({"dns.qname": {"pool.ntp.org"}})  # a later capture shows nothing about its role
    assert "category" not in later.classification
    with store.transaction() as s:
        w.merge_devices(s, [later], reclassify=CLASSIFY)
    row = _stored(store, "mac:02:00:00:00:00:07")
    assert row.category == "ot"
    assert row.classification["category"]["evidence"][0]["rule_id"] == "service.server.modbus"
    assert later.classification["category"].value == "ot"  # the run reports what is stored


def test_without_the_classifier_the_latest_run_replaces_the_stored_conclusions(store: Store) -> None:
    with store.transaction() as s:
        w.merge_devices(s, [_device({"service.server": {"modbus"}}, mac="00:1b:21:00:00:01")])
    with store.transaction() as s:  # an Intel NIC's block names a vendor, no category (ELAU's now says OT)
        w.merge_devices(s, [_device({"dns.qname": {"pool.ntp.org"}}, mac="00:1b:21:00:00:01")])
    row = _stored(store, "mac:00:1b:21:00:00:01")
    assert (row.vendor, row.category) == ("Intel", None)


def test_a_run_that_saw_everything_stored_keeps_its_own_conclusions(store: Store) -> None:
    calls: list[str] = []

    def counting(dev: Device) -> dict[str, object]:
        calls.append(dev.key)
        return CLASSIFY(dev)  # type: ignore[return-value]

    with store.transaction() as s:
        w.merge_devices(s, [_device({"service.server": {"modbus"}})], reclassify=counting)  # type: ignore[arg-type]
    with store.transaction() as s:
        w.merge_devices(s, [_device({"service.server": {"modbus", "s7comm"}})], reclassify=counting)  # type: ignore[arg-type]
    assert calls == []  # nothing stored that the run did not see: its classification stands, no second pass
    assert _stored(store, "mac:02:00:00:00:00:07").vendor == "Siemens"


def test_a_plc_seen_in_two_captures_stays_ot(store: Store, tmp_path: Path) -> None:
    folder = shared("pcaps", "ics_iti", "pcaps", "ModbusTCP")
    first, second = folder / "ModbusTCP.pcap", folder / "mb2.pcap"
    if not (first.is_file() and second.is_file()):
        pytest.skip("the ics_iti ModbusTCP captures are not in ../shared/data")
    report = analyze([first, second], store)
    assert [f.status for f in report.files] == ["complete", "complete"]
    row = _stored(store, f"mac:{PLC_MAC}")
    assert (row.vendor, row.category) == ("ELAU", "ot")
    shown = {d.key: d for d in report.devices}[f"mac:{PLC_MAC}"]
    assert shown.classification["category"].value == "ot"
