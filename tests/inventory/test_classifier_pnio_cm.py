"""PROFINET IO context management (dissect/pnio_cm.py) end to end: a Siemens CPU answering its controller's I&M0
read (and the endpoint mapper lookup) is inventoried with vendor Siemens (PI VendorID 0x002A), its model from the
I&M0 OrderID through the Siemens order-number rules and its firmware from IM_Software_Revision; the EPM annotation
alone gives the same; the controller that connects is a PLC by its application relation."""

from __future__ import annotations

from pathlib import Path

from iotwarden.addons import default_analyzers
from iotwarden.lab.wire import Frame
from iotwarden.model import Device
from tests.conftest import shared
from tests.dissect import pniobuild as b
from tests.dissect.knxbuild import write_frames
from tests.risk.harness import run_capture


def _value(dev: Device, prop: str) -> str | None:
    got = dev.classification.get(prop)
    return None if got is None else got.value


def _device(tmp_path: Path, frames: list[Frame]) -> dict[str, Device]:
    return run_capture(write_frames(tmp_path / "pnio.pcap", frames), default_analyzers()).devices


def test_an_im0_answer_names_a_siemens_s7_300_and_its_firmware(tmp_path: Path) -> None:
    devices = _device(tmp_path, b.site(epm=False))
    cpu = devices[f"mac:{b.DEVICE.mac}"]
    assert (_value(cpu, "vendor"), _value(cpu, "model"), _value(cpu, "device_type"), _value(cpu, "category")) == \
        ("Siemens", "SIMATIC S7-300", "plc", "ot")
    assert _value(cpu, "firmware") == "V3.2.6"
    attrs = cpu.attributes
    assert attrs["pnio_cm.vendor_id"] == {"42"} and attrs["pnio_cm.order_id"] == {"6ES7 315-2EH14-0AB0"}
    assert attrs["pnio_cm.serial_number"] == {"S C-X4U421302009"} and attrs["service.server"] == {"pnio_cm"}
    vendor_rules = {e["rule_id"] for e in cpu.classification["vendor"].evidence}
    assert "pnio_cm.vendor.0x002a.siemens" in vendor_rules
    assert "s7.order.s7_300" in {e["rule_id"] for e in cpu.classification["model"].evidence}
    plc = devices[f"mac:{b.PLC.mac}"]  # it only asked: none of the answer's facts are the controller's
    assert "pnio_cm.order_id" not in plc.attributes and "pnio_cm.vendor_id" not in plc.attributes
    assert plc.attributes["service.client"] == {"pnio_cm"} and _value(plc, "category") == "ot"  # it manages devices


def test_the_epm_annotation_alone_names_the_device(tmp_path: Path) -> None:
    frames = [f for f in b.site() if f[0] >= b.T0 + 0.2]  # only the lookup and its answer
    cpu = _device(tmp_path, frames)[f"mac:{b.DEVICE.mac}"]
    assert cpu.attributes["pnio_cm.device_type"] == {"S7-300 CPU 315-2 PN/DP"}
    assert (_value(cpu, "vendor"), _value(cpu, "model"), _value(cpu, "firmware")) == \
        ("Siemens", "SIMATIC S7-300", "V3.2.6")


def test_the_connecting_controller_is_a_plc_with_its_station_name(tmp_path: Path) -> None:
    frames = [b.datagram(b.T0, b.PLC, b.DEVICE, b.connect_request(b"plc-line-1"))]
    plc = _device(tmp_path, frames)[f"mac:{b.PLC.mac}"]
    assert plc.attributes["pnio_cm.initiator_station_name"] == {"plc-line-1"}
    assert plc.attributes["pnio_cm.ar_type"] == {"iocar_single"}
    assert _value(plc, "device_type") == "plc"


def test_the_ics_iti_profinet_device_and_the_tool_reading_its_im0_filter_data_are_ot() -> None:
    # profinet.pcap: 10.10.0.150 (an Intel NIC) reads I&M0FilterData from 10.10.0.129 (GE Intelligent Platforms'
    # block), whose PNIO object UUID states PI vendor id 0x015A and device id 3 (no rule names that vendor id)
    devices = run_capture(shared("pcaps", "ics_iti", "pcaps", "profinet", "profinet.pcap"), default_analyzers()).devices
    device, tool = devices["mac:00:09:91:44:20:17"], devices["mac:00:90:27:4e:e3:fc"]
    assert device.attributes["pnio_cm.vendor_id"] == {"346"} and device.attributes["pnio_cm.device_id"] == {"3"}
    assert (device.vendor, device.category, device.device_type) == ("GE Intelligent Platforms", "ot", None)
    assert {e["rule_id"] for e in device.classification["category"].evidence} == \
        {"pnio_cm.server", "mac.vendor.ge_intelligent_platforms.ot"}
    assert tool.attributes["service.client"] == {"pnio_cm"} and (tool.vendor, tool.category) == ("Intel", "ot")
