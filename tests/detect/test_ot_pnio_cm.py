"""PROFINET IO CM operations end to end (dissect/pnio_cm.py through model/otops.py): a host nobody configured writing
a record to an IO device and sending it a Control (PrmEnd) raises detect.ot.config_change on the device, naming that
host; the controller's reads of I&M0FilterData, I&M0 and its EPM lookup raise nothing; a configured engineering
station writes without an alert. The device's IO controller parameterising it in the AR it opened (its start-up,
again after a restart) raises nothing; another host's IO controller AR to the device is a takeover and raises
config_change, a redundant pair's two ARs and a shared device's controllers, each owning other submodules, excepted
(dissect/pnio_cm.py)."""

from __future__ import annotations

from pathlib import Path

from iotwarden.lab.wire import Frame, Host
from iotwarden.model.alert import Alert
from tests.detect.runner import detect
from tests.dissect import pniobuild as b
from tests.risk.harness import analyse, found


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


PLC_B = Host("00:1b:1b:02:9a:c4", "192.168.0.2")  # the redundant partner of an S7-1500R/H pair


def _start_ups(tmp_path: Path, *runs: list[Frame]) -> list[Alert]:
    path = b.write_frames(tmp_path / "startups.pcap", [frame for run in runs for frame in run])
    return [a for a in detect([path]).alerts if a.id.startswith("detect.ot")]


def test_a_second_controllers_iocar_takes_the_device_over(tmp_path: Path) -> None:
    """The PLC's start-up is silent; a host that later opens its own IO controller AR to the same device and
    parameterises it (the PLC's AR dropped) is a config change on the device, naming that host."""
    (alert,) = _start_ups(tmp_path, b.startup(b.T0, b.PLC), b.startup(b.T0 + 60, b.INTRUDER, sport=0xC011))
    assert (alert.id, alert.subject) == ("detect.ot.config_change", f"mac:{b.DEVICE.mac}")
    assert (alert.src_ip, alert.dst_ip) == (b.INTRUDER.ip, b.DEVICE.ip)
    names = [o["fields"]["ot_operation_name"] for o in alert.observations]
    assert names == ["takeover_write_0x8000", "takeover_control_prm_end"]
    assert {o["fields"]["previous_controller"] for o in alert.observations} == {b.PLC.ip}


def test_the_plc_restarting_after_a_power_loss_parameterises_its_device_silently(tmp_path: Path) -> None:
    """The same controller connecting again (its own restart or the device's, on a new flow) is the start-up."""
    assert _start_ups(tmp_path, b.startup(b.T0, b.PLC), b.startup(b.T0 + 600, b.PLC, sport=0xC020),
                      b.startup(b.T0 + 1200, b.PLC, sport=0xC021)) == []


def test_a_redundant_controller_pair_is_the_devices_own(tmp_path: Path) -> None:
    """System redundancy (IOCARSR): each controller of the pair opens an AR to the device; a third is not its own."""
    pair = (b.startup(b.T0, b.PLC, ar_type=0x0020), b.startup(b.T0 + 0.5, PLC_B, ar_type=0x0020, sport=0xC011))
    assert _start_ups(tmp_path, *pair) == []
    (tmp_path / "third").mkdir()
    (alert,) = _start_ups(tmp_path / "third", *pair,
                          b.startup(b.T0 + 60, b.INTRUDER, ar_type=0x0020, sport=0xC012))
    assert alert.src_ip == b.INTRUDER.ip


def test_a_refused_connect_claims_nothing(tmp_path: Path) -> None:
    """A host whose Connect the device refused opened no AR: its writes are operations as any unsolicited write,
    and it does not become the controller, so the PLC's start-up after it stays silent."""
    (alert,) = _start_ups(tmp_path, b.startup(b.T0, b.INTRUDER, status=b.REFUSED, sport=0xC011),
                          b.startup(b.T0 + 60, b.PLC))
    assert alert.src_ip == b.INTRUDER.ip
    assert [o["fields"]["ot_operation_name"] for o in alert.observations] == ["write_0x8000", "control_prm_end"]


def test_the_takeover_is_an_unauthorised_write_finding_on_the_device(tmp_path: Path) -> None:
    path = b.write_frames(tmp_path / "takeover.pcap", b.startup(b.T0, b.PLC)
                          + b.startup(b.T0 + 60, b.INTRUDER, sport=0xC011))
    ctx, _ = analyse(path)
    (finding,) = found(ctx, "risk.ot.unauthorized_write").values()
    assert finding.subject == f"mac:{b.DEVICE.mac}"
    assert finding.evidence["unauthorised_sources"] == [f"mac:{b.INTRUDER.mac}"]
    assert finding.evidence["operations"] == ["pnio_cm.takeover_control_prm_end", "pnio_cm.takeover_write_0x8000"]


def test_a_shared_devices_controllers_own_their_submodules_and_a_claim_on_anothers_is_a_takeover(
        tmp_path: Path) -> None:
    """A shared device: the PLC asks for slot 1, a second PLC for slot 2, both silent; a host that then asks for
    slot 1 (the PLC's AR dropped) takes the PLC's submodules over."""
    slot1, slot2 = b.expected_block(1, [(1, 1)]), b.expected_block(2, [(1, 2), (2, 3)])
    shared = (b.startup(b.T0, b.PLC, expected=slot1), b.startup(b.T0 + 1, PLC_B, expected=slot2, sport=0xC011))
    assert _start_ups(tmp_path, *shared) == []
    (tmp_path / "takeover").mkdir()
    (alert,) = _start_ups(tmp_path / "takeover", *shared,
                          b.startup(b.T0 + 60, b.INTRUDER, expected=slot1 + slot2, sport=0xC012))
    assert alert.src_ip == b.INTRUDER.ip
    assert {o["fields"]["previous_controller"] for o in alert.observations} == {b.PLC.ip}
