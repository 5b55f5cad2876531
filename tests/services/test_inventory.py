"""Inventory queries as the front ends use them: JSON-ready dicts from the store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iotwarden.errors import ConfigError, StoreError
from iotwarden.services import inventory
from iotwarden.services.analyze import analyze
from iotwarden.store import Store
from tests.services import builders as b


@pytest.fixture
def filled(store: Store, tmp_path: Path) -> Store:
    analyze([b.zeek_conn_log(tmp_path / "conn.log", 40)], store)
    return store


def test_device_list_and_filters(filled: Store) -> None:
    devices = inventory.list_devices(filled)
    assert {d["key"] for d in devices} == {f"mac:02:00:00:00:00:{i:02x}" for i in range(1, 41)} | {
        f"mac:{b.ROUTER_MAC}"}  # 40 hosts and the router; the internet web server is a flow peer
    assert [d["key"] for d in inventory.list_devices(filled, search="10.1.0.7")] == ["mac:02:00:00:00:00:07"]
    assert inventory.list_devices(filled, proto="mqtt") == []
    json.dumps(devices)


def test_show_device_has_history_evidence_and_recent_flows(filled: Store) -> None:
    shown = inventory.show_device(filled, "10.1.0.7")
    assert shown["key"] == "mac:02:00:00:00:00:07"
    assert [h["ip"] for h in shown["ip_history"]] == ["10.1.0.7"]
    assert shown["evidence"] == []  # conn.log carries no identity facts
    assert [(f["a_ip"], f["b_port"]) for f in shown["flows"]] == [("10.1.0.7", 80)]
    with pytest.raises(StoreError):
        inventory.show_device(filled, "10.250.0.1")


def test_flows_by_device_protocol_and_port(filled: Store) -> None:
    assert len(inventory.list_flows(filled, limit=None)) == 40
    everything = inventory.list_flows(filled, limit=None)
    assert {(f["b_ip"], f["b_port"]) for f in everything} == {(b.WEB_IP, 80)}  # the peer lives in the flows
    assert len(inventory.list_flows(filled, device="10.1.0.7", limit=None)) == 1
    with pytest.raises(StoreError, match="no device matches"):  # a remote peer is no device of the site
        inventory.list_flows(filled, device=b.WEB_IP)
    assert inventory.list_flows(filled, proto="udp") == []
    assert len(inventory.list_flows(filled, port=80, limit=10)) == 10


def test_stats_total_the_captures(filled: Store) -> None:
    stats = inventory.stats(filled)
    (capture,) = stats["captures"]
    assert (capture["status"], capture["flows"], capture["packets"]) == ("complete", 40, 40)
    assert stats["totals"]["flows"] == 40
    assert stats["store"] == {"captures": 1, "devices": 41, "flows": 40, "evidence": 0}
    json.dumps(stats)


# --- approved inventory, shadow devices, diff between runs ----------------------------------------


@pytest.fixture
def two_runs(store: Store, tmp_path: Path) -> Store:
    """Run 1: the camera's lease and HTTP check; run 2, an hour later: the same, plus the printer."""
    analyze([b.camera_capture(tmp_path / "1.pcap")], store)
    analyze([b.second_capture(tmp_path / "2.pcap")], store)
    return store


def _findings(store: Store) -> dict[str, tuple[str, str]]:
    from sqlalchemy import select

    from iotwarden.store.alert_models import FindingRow

    with store.session() as s:
        return {r.device_key: (r.severity, r.status)
                for r in s.scalars(select(FindingRow).where(FindingRow.check_id == "inventory.shadow_device"))}


def test_without_an_approved_inventory_nothing_is_shadow(two_runs: Store) -> None:
    assert inventory.check_shadow(two_runs) == {"approved": 0, "shadow": [], "new_findings": 0, "resolved": 0}
    assert _findings(two_runs) == {}


def test_importing_the_approved_inventory_raises_findings_for_the_others(two_runs: Store, tmp_path: Path) -> None:
    csv = tmp_path / "approved.csv"
    csv.write_text(f"mac,ip,hostname,owner\n{b.CAMERA_MAC.upper()},,,Facilities\n,{b.ROUTER_IP},,IT\n")
    result = inventory.import_approved(two_runs, csv)
    printer = f"mac:{b.PRINTER_MAC}"
    assert result == {"file": str(csv), "imported": 2, "approved": 2, "shadow": [printer], "new_findings": 1,
                      "resolved": 0}
    assert _findings(two_runs) == {printer: ("medium", "open")}
    assert [e.owner for e in inventory.approved_entries(two_runs)] == ["Facilities", "IT"]
    # the printer is approved by name in the next import: its finding is resolved, the list replaced
    csv.write_text(f"mac,hostname\n{b.CAMERA_MAC},\n{b.ROUTER_MAC},\n,hp-office\n")
    again = inventory.import_approved(two_runs, csv)
    assert (again["imported"], again["shadow"], again["resolved"]) == (3, [], 1)
    assert _findings(two_runs) == {printer: ("medium", "resolved")}


def test_a_bad_approved_file_names_its_line_and_keeps_the_stored_list(two_runs: Store, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text(f"mac\n{b.CAMERA_MAC}\n")
    inventory.import_approved(two_runs, good)
    bad = tmp_path / "bad.csv"
    bad.write_text(f"mac,ip\n{b.CAMERA_MAC},\n,10.0.0.999\n")
    with pytest.raises(ConfigError, match=r"bad.csv: approved inventory line 3: ip '10.0.0.999'"):
        inventory.import_approved(two_runs, bad)
    assert [e.mac for e in inventory.approved_entries(two_runs)] == [b.CAMERA_MAC]


def test_devices_diff_between_the_last_two_runs(two_runs: Store) -> None:
    assert [r["id"] for r in inventory.runs(two_runs)] == [1, 2]
    result = inventory.devices_diff(two_runs)
    assert (result["from"], result["to"]) == (1, 2)
    assert [d["key"] for d in result["new"]] == [f"mac:{b.PRINTER_MAC}"]
    assert result["new"][0]["ips"] == [b.PRINTER_IP]
    assert result["new"][0]["hostnames"] == ["hp-office.local"]
    assert result["gone"] == []
    assert result["changed"] == []  # the camera and the router are as they were
    backwards = inventory.devices_diff(two_runs, from_run=2, to_run=1)
    assert [d["key"] for d in backwards["gone"]] == [f"mac:{b.PRINTER_MAC}"]
    json.dumps(result)


def test_devices_diff_needs_two_runs(store: Store, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="need two analysed captures"):
        inventory.devices_diff(store)
    analyze([b.camera_capture(tmp_path / "1.pcap")], store)
    with pytest.raises(StoreError, match="no analysis run before run 1"):
        inventory.devices_diff(store)
    with pytest.raises(StoreError, match="no analysis run 7 with a device snapshot"):
        inventory.devices_diff(store, from_run=7)
