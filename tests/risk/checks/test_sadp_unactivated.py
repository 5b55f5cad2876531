"""risk.sadp.unactivated: a Hikvision device answering SADP while it waits for its first password."""

from __future__ import annotations

from pathlib import Path

from tests.dissect.test_sadp import INQUIRY, camera_probe_match
from tests.risk.harness import T0, analyse, found, host, udp, write_pcap

ID = "risk.sadp.unactivated"
VMS, CAMERA = host(10), host(64)


def _search(tmp_path: Path, *answers: bytes) -> list[object]:
    frames = []
    for i, answer in enumerate(answers):
        t = T0 + 60 * i
        frames += udp(VMS, CAMERA, 37020, 37020, INQUIRY, t=t) + udp(CAMERA, VMS, 37020, 37020, answer, t=t + 0.01)
    ctx, _ = analyse(write_pcap(tmp_path / "sadp.pcap", frames))
    return list(found(ctx, ID).values())


def test_a_camera_waiting_for_activation_is_high(tmp_path: Path) -> None:
    (finding,) = _search(tmp_path, camera_probe_match(activated="false"))
    assert finding.severity == "high" and finding.subject == f"mac:{CAMERA.mac}"
    assert finding.evidence["models"] == ["DS-2CD2142FWD-I"]


def test_an_activated_camera_and_one_activated_since_raise_nothing(tmp_path: Path) -> None:
    assert _search(tmp_path, camera_probe_match(activated="true")) == []
    assert _search(tmp_path, camera_probe_match(activated="false"), camera_probe_match(activated="true")) == []
