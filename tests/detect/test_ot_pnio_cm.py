"""PROFINET IO CM operations end to end (dissect/pnio_cm.py through model/otops.py): a host nobody configured writing
a record to an IO device and sending it a Control (PrmEnd) raises detect.ot.config_change on the device, naming that
host; the controller's reads of I&M0FilterData, I&M0 and its EPM lookup raise nothing; a configured engineering
station writes without an alert."""

from __future__ import annotations

from pathlib import Path

from tests.detect.runner import detect
from tests.dissect import pniobuild as b


def _ot(path: Path, options: dict[str, dict[str, object]] | None = None) -> list[object]:
    return [a for a in detect([path], options).alerts if a.id.startswith("detect.ot")]


def test_a_write_from_an_unknown_host_is_a_config_change_on_the_device(tmp_path: Path) -> None:
    ctx = detect([b.write_site(tmp_path / "pnio.pcap", writer=b.INTRUDER)])
    (alert,) = [a for a in ctx.alerts if a.id.startswith("detect.ot")]
    assert (alert.id, alert.severity, alert.mitre) == ("detect.ot.config_change", "high", ["T0836", "T0855"])
    assert alert.subject == f"mac:{b.DEVICE.mac}" and (alert.src_ip, alert.dst_ip) == (b.INTRUDER.ip, b.DEVICE.ip)
    assert alert.evidence["proto"] == "pnio_cm"
    assert "write_im1" in alert.evidence["operation"]
    assert [o["fields"]["ot_operation_name"] for o in alert.observations] == ["write_im1", "control_prm_end"]


def test_reads_raise_nothing(tmp_path: Path) -> None:
    assert _ot(b.write_site(tmp_path / "pnio.pcap")) == []


def test_the_configured_engineering_station_writes_without_an_alert(tmp_path: Path) -> None:
    path = b.write_site(tmp_path / "pnio.pcap", writer=b.INTRUDER)
    assert _ot(path, {"detect.ot": {"engineering_stations": b.INTRUDER.ip}}) == []


def test_an_io_controller_parameterising_the_device_in_its_own_ar_raises_nothing(tmp_path: Path) -> None:
    """Connect (IOCAR) -> Write -> PrmEnd is the start-up every PLC runs with its IO devices."""
    assert _ot(b.write_site(tmp_path / "pnio.pcap", writer=b.INTRUDER, connect=0x0001)) == []


def test_a_supervisor_ar_write_is_still_a_config_change(tmp_path: Path) -> None:
    """An engineering tool's supervisor AR (IOSAR) is not the device's controller: its writes are operations."""
    (alert,) = _ot(b.write_site(tmp_path / "pnio.pcap", writer=b.INTRUDER, connect=0x0006))
    assert alert.id == "detect.ot.config_change"  # type: ignore[attr-defined]
