"""Inventory queries as the front ends use them: JSON-ready dicts from the store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iotwarden.errors import StoreError
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
    assert len(devices) == 42
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
    assert len(inventory.list_flows(filled, device=b.WEB_IP, limit=None)) == 40
    assert inventory.list_flows(filled, proto="udp") == []
    assert len(inventory.list_flows(filled, port=80, limit=10)) == 10


def test_stats_total_the_captures(filled: Store) -> None:
    stats = inventory.stats(filled)
    (capture,) = stats["captures"]
    assert (capture["status"], capture["flows"], capture["packets"]) == ("complete", 40, 40)
    assert stats["totals"]["flows"] == 40
    assert stats["store"] == {"captures": 1, "devices": 42, "flows": 40, "evidence": 0}
    json.dumps(stats)
