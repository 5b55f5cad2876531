"""Acceptance on real device captures (../shared/data/pcaps labeled_locks_cams, nku_lifecycle): after
learning, the false-positive rate stays under one alert per device-day. Every capture holds one
benign device (its own traffic over hours to a week), so every alert is a false positive."""

from __future__ import annotations

from pathlib import Path

from iotwarden.detect.base import is_internal
from tests.conftest import shared
from tests.detect.runner import detect

DAY = 86400.0
MAX_PER_DEVICE_DAY = 1.0


def _device_days(paths: list[Path]) -> tuple[int, float]:
    alerts, days = 0, 0.0
    for path in paths:
        ctx = detect([path])
        alerts += len(ctx.alerts)
        local = [d for d in ctx.devices.values() if any(is_internal(ip) for ip in d.ips) and d.packets > 0]
        days += sum(max(d.last_seen - d.first_seen, 0.0) for d in local) / DAY
    return alerts, days


def test_locks_and_cameras_stay_under_one_alert_per_device_day() -> None:
    paths = sorted(shared("pcaps", "labeled_locks_cams", "pcaps").glob("*.pcap"))
    alerts, days = _device_days(paths)
    assert days > 20  # seven devices, about a week each
    assert alerts / days < MAX_PER_DEVICE_DAY, (alerts, days)


def test_lifecycle_captures_stay_under_one_alert_per_device_day() -> None:
    paths = sorted(shared("pcaps", "nku_lifecycle", "pcaps").rglob("*.pcap"))
    alerts, days = _device_days(paths)
    assert days > 0.2  # short lifecycle sessions: about six device-hours in all
    assert alerts / days < MAX_PER_DEVICE_DAY, (alerts, days)
