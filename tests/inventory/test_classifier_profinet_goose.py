"""Layer-2 OT identity end to end (engine, inventory, classifier): PROFINET DCP stations and IEC 61850 GOOSE
publishers of the ics_iti captures get their category, vendor, type and, where the traffic carries it, model."""

from __future__ import annotations

from iotwarden.addons import default_analyzers
from iotwarden.model import Device
from tests.conftest import shared
from tests.risk.harness import run_capture

ICS = ("pcaps", "ics_iti", "pcaps")
# PROFINET-RT.pcap: Siemens stations (00:1B:1B) sending DCP Identify requests for a NameOfStation
RT_STATIONS = {"00:1b:1b:02:9a:c3", "00:1b:1b:02:e6:1e", "00:1b:1b:35:84:10", "00:1b:1b:02:e6:0f",
               "00:1b:1b:35:84:07", "00:1b:1b:02:e6:5a", "00:1b:1b:47:51:84", "00:1b:1b:47:51:6b",
               "00:1b:1b:02:e5:2e", "00:1b:1b:02:e6:d2", "00:1b:1b:02:e6:78"}


def _devices(*name: str) -> dict[str, Device]:
    return run_capture(shared(*ICS, *name), default_analyzers()).devices


def _value(dev: Device, prop: str) -> str | None:
    got = dev.classification.get(prop)
    return None if got is None else got.value


def test_siemens_profinet_stations_are_ot_with_their_vendor() -> None:
    devices = _devices("profinet", "PROFINET-RT-DCP", "PROFINET-RT.pcap")
    assert {k.removeprefix("mac:") for k in devices} == RT_STATIONS
    for dev in devices.values():
        assert dev.attributes["pn_dcp.filter"] == {"name_of_station"}
        assert (_value(dev, "category"), _value(dev, "vendor")) == ("ot", "Siemens")
        assert _value(dev, "device_type") is None and _value(dev, "model") is None  # neither is carried


def test_a_scalance_io_device_answering_dcp_and_the_host_that_readdresses_it() -> None:
    devices = _devices("profinet", "PROFINET-RT-DCP", "ChangeIPUsingDCP.pcap")
    switch = devices["mac:08:00:06:93:cf:32"]
    assert (_value(switch, "category"), _value(switch, "vendor")) == ("ot", "Siemens")
    assert switch.hostnames == {"X208-BORD"} and switch.ips == {"192.168.0.6", "192.168.0.10"}
    assert "pn_dcp.vendor_id" in switch.attributes and "pn_dcp.device_role" in switch.attributes
    tool = devices["mac:00:0c:29:ba:09:ea"]  # an Identify All scan proves nothing about the scanner
    assert _value(tool, "category") is None and _value(tool, "vendor") == "VMware"


def test_an_io_controller_is_a_siemens_plc() -> None:
    dev = _devices("profinet", "profinet-wireshark-bug.pcap")["mac:00:02:e3:17:c7:50"]
    assert (_value(dev, "device_type"), _value(dev, "category"), _value(dev, "vendor")) == ("plc", "ot", "Siemens")
    assert _value(dev, "model") is None  # "S7-300EC" is no SIMATIC family name


def test_goose_publishers_are_ieds() -> None:
    devices = _devices("IEC61850", "GOOSE", "Sample_File_GOOSE.pcap")
    assert set(devices) == {"mac:0a:bb:fe:10:c9:02", "mac:0a:bb:fe:10:c9:06", "mac:0a:bb:fe:10:c9:08"}
    for dev in devices.values():
        assert (_value(dev, "device_type"), _value(dev, "category")) == ("ied", "ot")
    assert devices["mac:0a:bb:fe:10:c9:02"].attributes["goose.ld_name"] == {"AA1C1Q01A1LD0"}
    relay = _devices("IEC61850", "GOOSE", "GOOSE.pcap")["mac:00:a0:f4:08:2f:77"]
    assert (_value(relay, "device_type"), _value(relay, "vendor")) == ("ied", "GE")

