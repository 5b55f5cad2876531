"""Lateral movement on IT hosts that nothing types (issue #4 precision; brief G2 a): a Windows workstation browsing
shares and an inventory agent probing its neighbours (tests/detect/enterprise_habits.py) raise no lateral alert once
the host states what it is on the wire, through the whole pipeline with the classifier; a host nothing identifies
(a conn.log alone) is judged as an IoT device would be (detect/lateral.py, docs/detection.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.addons import AddonManager
from iotwarden.detect.lateral import LateralDetector, placed
from iotwarden.detect.pipeline import AlertPipeline
from iotwarden.hooks import Context
from iotwarden.inventory.classifier import Classifier
from iotwarden.model import Device, Flow
from iotwarden.model.device import Conclusion
from tests.detect import enterprise_habits
from tests.detect.runner import detect, tcp_flow


def _session(src: str, dst: str, port: int, ts: float) -> Flow:
    """An SMB or SSH session that carried data, as a conn.log names it: no MAC."""
    return tcp_flow(src, dst, port, ts, flags=(0x1B, 0x1B), payload=(300, 900), pkts=(6, 6))


def _lateral(path: Path) -> list[tuple[str, str]]:
    return sorted({(a.id, a.subject) for a in detect([path], classify=True).alerts if a.id.startswith("detect.lat")})


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("kind", ["smb_browsing", "inventory_agent", "wsd_discovery"])
def test_a_windows_workstation_that_states_itself_raises_no_lateral_alert(tmp_path: Path, kind: str,
                                                                          seed: int) -> None:
    """The Zeek folder's dhcp.log (vendor class MSFT 5.0) makes the host Windows, no device type: an IT machine.
    Before: the conn.log's records (no MAC) were judged as the absent ``ip:`` device's, Windows without a category
    was not IT, and the one 10,000-line batch was judged before the classifier's first pass: share browsing 1
    admin_protocol and 9-10 new_peer alerts, the inventory agent 4 admin_protocol (SMB, SSH, RDP, RPC)."""
    assert _lateral(enterprise_habits.zeek_logs(tmp_path, kind, seed)) == []


@pytest.mark.parametrize("kind", ["smb_browsing", "inventory_agent"])
def test_a_host_nothing_identifies_is_judged_as_an_iot_device(tmp_path: Path, kind: str) -> None:
    """A conn.log alone: the same hosts are unknown and raise admin_protocol, the safer side (docs/detection.md)."""
    host = f"ip:{enterprise_habits.WINDOWS_HOSTS[kind][0]}"
    found = _lateral(enterprise_habits.conn_log(tmp_path / "conn.log", kind, 1))
    assert ("detect.lateral.admin_protocol", host) in found
    assert {subject for _, subject in found} == {host}


@pytest.mark.parametrize("attributes", [
    {"dhcp.vendor_class": {"MSFT 5.0"}},  # [MS-DHCPE] §1.8
    {"smb.ntlm_version": {"10.0.19045"}},  # NTLMSSP VERSION of its SESSION_SETUP, [MS-NLMP] §2.2.2.10
    {"tls.sni": {"v10.events.data.microsoft.com"}},  # Windows diagnostic data
])
def test_what_a_windows_workstation_states_names_its_os_and_category_it_and_places_it_in_it(
        attributes: dict[str, set[str]]) -> None:
    """Each sign alone names the OS, and the classifier's IT fallback (an OS only IT machines run, 66b04af) the
    category; the detector places the device in IT by either."""
    dev = Device("mac:02:00:0a:32:00:15", 0.0, 0.0, mac="02:00:0a:32:00:15", attributes=attributes)
    dev.classification = Classifier().classify(dev)
    assert (dev.conclusion("os"), dev.category) == ("Windows", "it")
    ctx = Context(devices={dev.key: dev})
    assert placed(ctx, dev.key) == "it"


@pytest.mark.parametrize(("os_name", "category", "expected"), [
    ("Windows CE", None, None), ("Linux", None, None), ("macOS", None, None), ("Windows", None, None),
    ("Windows", "OT", "ot"), ("Windows", "IT", "it"), (None, "IoT", "iot"), (None, None, None)])
def test_a_device_is_placed_by_its_category_alone(
        os_name: str | None, category: str | None, expected: str | None) -> None:
    found = {k: Conclusion(v, 0.9) for k, v in (("os", os_name), ("category", category)) if v}
    ctx = Context(devices={"mac:02:00:00:00:00:01": Device("mac:02:00:00:00:00:01", 0.0, 0.0, classification=found)})
    assert placed(ctx, "mac:02:00:00:00:00:01") == expected


@pytest.mark.parametrize(("category", "alerted"), [("IT", False), ("IoT", True)])
def test_a_record_naming_no_mac_is_judged_as_the_device_holding_its_address(category: str, alerted: bool) -> None:
    """A Zeek conn.log names no MAC; the dhcp.log bound the address to a MAC device: its category counts, and an
    alert names that device."""
    key = "mac:02:00:0a:00:14:05"
    ctx, pipeline = Context(), AlertPipeline()
    ctx.devices[key] = Device(key, 0.0, 0.0, mac=key[4:], ips={"10.0.20.5"},
                              classification={"category": Conclusion(category, 0.9)})
    addons = AddonManager(ctx, [LateralDetector(), pipeline])
    addons.flows([_session("10.0.20.5", "10.0.10.10", 445, 100.0)])
    addons.done()
    assert [(a.id, a.subject) for a in pipeline.alerts] == ([("detect.lateral.admin_protocol", key)] if alerted
                                                            else [])


def test_a_wait_that_ended_within_its_own_batch_lasts_to_the_next_tick() -> None:
    """One batch spanning more than unknown_wait_s (a Zeek log's 10,000 lines): its flows are not judged unplaced at
    the batch's own tick, before any classifier pass; the device placed by the next, they raise nothing."""
    key = "ip:10.0.20.5"
    ctx, pipeline = Context(), AlertPipeline()
    ctx.devices[key] = Device(key, 0.0, 0.0, ips={"10.0.20.5"})
    addons = AddonManager(ctx, [LateralDetector({"unknown_wait_s": 60.0}), pipeline])
    addons.flows([_session("10.0.20.5", "10.0.10.10", 22, 100.0)])
    addons.tick(1900.0)
    assert pipeline.alerts == []
    ctx.devices[key].classification = {"os": Conclusion("Windows", 0.88), "category": Conclusion("it", 0.5)}
    addons.tick(2000.0)
    addons.done()
    assert pipeline.alerts == []


@pytest.mark.parametrize("mac", ["00:13:95:07:81:a1", "00:03:2d:01:e4:74", "00:1b:1b:01:02:03"])
def test_a_windows_station_the_classifier_leaves_uncategorised_is_not_it_here(mac: str) -> None:
    """A Windows host on an industrial PC maker's block (congatec, IBASE) or Siemens': the classifier's IT fallback
    steps aside for the OT hint (inventory/classifier IT_OS_YIELDS_TO; f645b66: mb2.pcap's PANELPC02, the IEC 61850
    sample's SAS1) and leaves no category. The detector places it by that category alone, so its SMB to another
    host is judged as an unplaced device's, not exempt as an IT machine's (a second OS rule here overruled it)."""
    key = f"mac:{mac}"
    dev = Device(key, 0.0, 0.0, mac=mac, ips={"10.0.20.5"}, attributes={"dhcp.vendor_class": {"MSFT 5.0"}})
    dev.classification = Classifier().classify(dev)
    assert (dev.conclusion("os"), dev.category) == ("Windows", None)
    ctx, pipeline = Context(devices={key: dev}), AlertPipeline()
    assert placed(ctx, key) is None
    addons = AddonManager(ctx, [LateralDetector(), pipeline])
    addons.flows([_session("10.0.20.5", "10.0.10.10", 445, 100.0)])
    addons.done()
    assert [(a.id, a.subject) for a in pipeline.alerts] == [("detect.lateral.admin_protocol", key)]


@pytest.mark.parametrize(("device_type", "port", "alerted"), [
    ("mfp", 445, False), ("printer", 445, False), ("printer", 139, False),  # scan to a network folder (SMB)
    ("mfp", 22, True), ("mfp", 3389, True), ("camera", 445, True)])
def test_a_printers_scan_to_a_network_folder_is_no_lateral_movement(device_type: str, port: int,
                                                                     alerted: bool) -> None:
    """Multifunction printers deliver scans to a shared folder over SMB (HP 'Scan to Network Folder', Ricoh 'Scan to
    Folder', Canon 'Store to shared folder', Xerox 'Scan to SMB', Brother 'Scan to Network'): every office MFP is an
    IoT device opening SMB to file servers and users' PCs, which raised a high admin_protocol alert per printer and a
    new peer per destination. A printer's SMB is its own function; its SSH or RDP, and any camera's SMB, still alert."""
    key = "mac:02:00:0a:00:14:07"
    ctx, pipeline = Context(), AlertPipeline()
    ctx.devices[key] = Device(key, 0.0, 0.0, mac=key[4:], ips={"10.0.20.7"},
                              classification={"category": Conclusion("iot", 0.9),
                                              "device_type": Conclusion(device_type, 0.9)})
    addons = AddonManager(ctx, [LateralDetector({"learn_s": 0.0}), pipeline])
    addons.flows([_session("10.0.20.7", f"10.0.10.{i}", port, 100.0 + i) for i in range(1, 4)])
    addons.done()
    assert bool(pipeline.alerts) is alerted
