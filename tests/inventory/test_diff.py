"""``devices diff``: new, gone and changed devices between two runs' snapshots."""

from __future__ import annotations

from iotwarden.inventory.diff import changes, diff

CAM = {"vendor": "Axis", "device_type": "camera", "category": "iot", "ips": ["10.0.0.20"], "hostnames": ["cam"]}


def test_new_gone_and_changed_devices_by_key() -> None:
    before = {"mac:a": CAM, "mac:b": {"vendor": "HP", "ips": ["10.0.0.30"]}}
    after = {"mac:a": {**CAM, "ips": ["10.0.0.21"], "device_type": "nvr"}, "mac:c": {"vendor": "Espressif"}}
    result = diff(before, after)
    assert result["new"] == [{"key": "mac:c", "vendor": "Espressif"}]
    assert result["gone"] == [{"key": "mac:b", "vendor": "HP", "ips": ["10.0.0.30"]}]
    assert result["changed"] == [{"key": "mac:a", "changes": {
        "device_type": {"from": "camera", "to": "nvr"},
        "ips": {"from": ["10.0.0.20"], "to": ["10.0.0.21"], "added": ["10.0.0.21"], "removed": ["10.0.0.20"]},
    }}]


def test_the_same_facts_in_another_order_are_no_change() -> None:
    assert changes({"ips": ["b", "a"], "hostnames": []}, {"ips": ["a", "b"]}) == {}


def test_a_run_that_classified_less_does_not_contradict_the_earlier_one() -> None:
    assert changes(CAM, {**CAM, "vendor": None, "device_type": None}) == {}
    assert changes({**CAM, "vendor": None}, CAM) == {"vendor": {"from": None, "to": "Axis"}}


def test_new_names_are_reported_added() -> None:
    assert changes(CAM, {**CAM, "hostnames": ["cam", "cam.local"]}) == {
        "hostnames": {"from": ["cam"], "to": ["cam", "cam.local"], "added": ["cam.local"], "removed": []}}
