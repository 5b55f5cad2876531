"""Boundary monitoring: flows that cross zones against policy raise detect.policy.boundary_violation."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.detect.pipeline import AlertPipeline
from iotwarden.errors import ConfigError
from iotwarden.hooks import Context
from iotwarden.model.alert import Alert
from iotwarden.policy.boundary import BOUNDARY, BoundaryMonitor
from iotwarden.policy.model import dump_text
from iotwarden.policy.observed import from_captures
from iotwarden.policy.propose import propose
from tests.policy.conftest import Lab


def test_the_lateral_movement_raises_boundary_alerts_through_the_pipeline(lab: Lab, tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(dump_text(propose(lab.benign.devices, lab.benign.flows)), encoding="utf-8")
    seen = from_captures([lab.attack_pcap], [BoundaryMonitor({"policy": str(path)}), AlertPipeline()])
    assert seen.ctx is not None
    alerts = [a for a in seen.ctx.alerts if isinstance(a, Alert) and a.id == BOUNDARY]
    attack = next(a for a in lab.truth["attacks"] if a["kind"] == "lateral_movement")  # type: ignore[attr-defined]
    hit = {(a.dst_ip, a.evidence["port"]) for a in alerts if a.src_ip == attack["attacker"]["ip"]}
    assert {(t, p) for t in attack["targets"] for p in (445, 3389, 22)} <= hit
    alert = next(a for a in alerts if a.evidence["port"] == 445)
    assert alert.severity == "high" and alert.uid and alert.flows
    assert alert.evidence["src_zone"] == "iot" and alert.evidence["rule"] == "iot.default"
    assert all(a.src_ip == attack["attacker"]["ip"] for a in alerts)  # benign traffic raises nothing


def test_no_policy_means_idle_and_a_bad_policy_file_is_a_config_error(tmp_path: Path) -> None:
    idle = BoundaryMonitor()
    idle.load(Context())
    assert idle.policy is None
    bad = tmp_path / "bad.yaml"
    bad.write_text("zones: [{name: 'Bad'}]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"zones\[0\]\.name"):
        BoundaryMonitor({"policy": str(bad)}).load(Context())
    with pytest.raises(ConfigError, match="unknown option"):
        BoundaryMonitor({"polcy": "x"})
