"""Beckhoff ADS, Omron FINS and Mitsubishi MELSOFT on the ics_iti captures: the controllers are OT with
their protocol, maker and (where the traffic states it) model; their clients are OT without a type."""

from __future__ import annotations

from pathlib import Path

from iotwarden.addons import default_analyzers
from iotwarden.model import Device
from tests.conftest import shared
from tests.risk.harness import run_capture

ICS = ("pcaps", "ics_iti", "pcaps")


def _by_mac(path: Path) -> dict[str, Device]:
    return {d.mac: d for d in run_capture(path, default_analyzers()).devices.values() if d.mac}


def test_beckhoff_cx_is_an_ot_plc_serving_ads() -> None:
    devices = _by_mac(shared(*ICS, "beckoff", "beckoffaddroute.pcapng"))
    cx = devices["00:01:05:0d:75:60"]
    assert cx.attributes["service.server"] == {"ads"}
    assert cx.attributes["ads.device_name"] == {"TwinCAT CE", "PLC Server", "I/O Server"}
    assert cx.attributes["ads.hostname"] == {"CX_0D7560"} and cx.attributes["ads.twincat_version"] == {"2.11.2228"}
    assert (cx.category, cx.vendor, cx.device_type, cx.conclusion("os")) == ("ot", "Beckhoff", "plc", "Windows CE")
    engineering = devices["b8:ae:ed:7e:1b:4c"]  # 192.168.1.199, which added the route
    assert engineering.attributes["service.client"] == {"ads"}
    assert engineering.category == "ot" and engineering.device_type is None


def test_beckhoff_cx_from_discovery_alone() -> None:
    cx = _by_mac(shared(*ICS, "beckoff", "invokeid12.pcapng"))["00:01:05:0d:75:60"]
    assert cx.attributes["ads.os_platform"] == {"windows_ce"}
    assert (cx.category, cx.vendor) == ("ot", "Beckhoff")


def test_omron_fins_server_is_an_ot_plc_with_its_model() -> None:
    devices = _by_mac(shared(*ICS, "omron", "omron_test.pcap"))
    plc = devices["00:19:07:24:3c:ca"]  # 10.1.1.164
    assert plc.attributes["service.server"] == {"fins"}
    assert plc.attributes["fins.controller_model"] == {"CP1L-EL20DR-D"}
    assert (plc.category, plc.vendor, plc.conclusion("model"), plc.device_type) == (
        "ot", "Omron", "CP1L-EL20DR-D", "plc")
    assert plc.conclusion("firmware") == "01.00"
    client = devices["3c:a9:f4:21:22:f8"]  # 10.1.1.173 asked for the controller data
    assert client.category == "ot" and client.device_type is None


def test_fx5u_is_an_ot_plc_of_mitsubishi_electric_with_its_model() -> None:
    devices = _by_mac(shared(*ICS, "MELSEC", "melsoft_UDP_clean_2.pcap"))
    plc = devices["10:4b:46:28:0b:fa"]  # 192.168.3.250
    assert plc.attributes["melsoft.model"] == {"FX5U-32MT/ES"}
    assert (plc.category, plc.vendor, plc.conclusion("model"), plc.device_type) == (
        "ot", "Mitsubishi Electric", "FX5U-32MT/ES", "plc")
    tool = devices["84:7b:eb:0d:bd:b7"]  # 192.168.3.101, GX Works searching for CPUs
    assert tool.attributes["service.client"] == {"melsoft"}
    assert tool.category == "ot" and tool.device_type is None
