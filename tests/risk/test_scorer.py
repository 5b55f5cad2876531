"""Risk scores: the documented formula, bands and the fleet score."""

from __future__ import annotations

import pytest

from iotwarden.model import Conclusion, Device
from iotwarden.model.finding import Finding
from iotwarden.risk.scorer import band, device_score, fleet_score, score_devices, scores_by_subject


def finding(check: str, severity: str, subject: str = "mac:02:00:00:00:00:01") -> Finding:
    return Finding(id=check, title=check, severity=severity, subject=subject)  # type: ignore[arg-type]


def test_no_findings_scores_zero_and_one_critical_scores_80() -> None:
    assert device_score([]) == 0.0
    assert device_score([finding("a", "critical")]) == 80.0
    assert device_score([finding("a", "high")]) == 50.0
    assert device_score([finding("a", "info")]) == 0.0


def test_more_findings_add_but_never_pass_100() -> None:
    two = device_score([finding("a", "high"), finding("b", "high")])
    assert two == 75.0
    many = device_score([finding(str(n), "critical") for n in range(30)])
    assert 99.0 < many <= 100.0


def test_same_check_counts_once() -> None:
    assert device_score([finding("a", "high"), finding("a", "high")]) == 50.0


def test_ot_and_medical_weigh_more() -> None:
    assert device_score([finding("a", "high")], "ot") == 60.0
    assert device_score([finding("a", "high")], "OT") == 60.0
    assert device_score([finding("a", "critical")], "medical") == 95.0  # capped at MAX_P


@pytest.mark.parametrize(("score", "name"), [(0.0, "none"), (None, "none"), (8.0, "low"), (25.0, "medium"),
                                             (50.0, "high"), (79.9, "high"), (80.0, "critical")])
def test_bands(score: float | None, name: str) -> None:
    assert band(score) == name


def test_fleet_is_half_worst_half_mean() -> None:
    assert fleet_score([]) == 0.0
    assert fleet_score([80.0, 0.0, 0.0, 0.0]) == 50.0


def test_scores_set_on_devices() -> None:
    plc = Device("mac:02:00:00:00:00:01", 0.0, 1.0, classification={"category": Conclusion("ot", 0.9)})
    cam = Device("mac:02:00:00:00:00:02", 0.0, 1.0)
    score_devices([plc, cam], [finding("a", "high"), finding("b", "low", cam.key), finding("c", "high", "ip:x")])
    assert (plc.risk_score, cam.risk_score) == (60.0, 8.0)
    assert scores_by_subject([], {"k": None}) == {"k": 0.0}
