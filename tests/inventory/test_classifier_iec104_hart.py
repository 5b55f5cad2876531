"""ics_iti's IEC 104 RTUs and HART-IP gateway: category OT with their protocol, the vendor where the traffic
names it (HART command 0's manufacturer id), never a type the protocol does not prove."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.addons import default_analyzers
from iotwarden.model import Device
from tests.conftest import shared
from tests.risk.harness import run_capture

ICS = ("pcaps", "ics_iti", "pcaps")


def _inventory(*parts: str) -> dict[str, Device]:
    path: Path = shared(*ICS, *parts)
    return run_capture(path, default_analyzers()).devices


# (capture, the controlled station's device, its common address) -- the only MAC the capture shows for it
RTUS = [
    ("TestDissectIec104.pcap", "mac:00:15:c5:18:d4:cc", "37133"),
    # 10.209.13.145 is routed: its frames carry the router's MAC, the only layer-2 address it has here
    ("JavaRMI_and_IEC_Misc.pcap", "mac:00:1c:11:40:5d:8c", "37133"),
    ("090813_diverse.pcap", "mac:02:00:4c:4f:4f:50", "3"),  # master and RTU on one loopback host
]


@pytest.mark.parametrize(("capture", "key", "station"), RTUS, ids=[r[0] for r in RTUS])
def test_the_iec104_controlled_station_is_ot_with_its_protocol(capture: str, key: str, station: str) -> None:
    dev = _inventory("IEC60870-5-104", capture)[key]
    assert dev.category == "ot"
    assert "iec104" in dev.protocols
    assert dev.attributes["service.server"] == {"iec104"}
    assert dev.attributes["iec104.station_address"] == {station}
    assert dev.device_type is None  # an RTU, a gateway or an IED: IEC 104 does not say which
    assert dev.classification["category"].evidence[0]["rule_id"] == "service.server.iec104"


@pytest.mark.parametrize(("capture", "masters"), [
    ("TestDissectIec104.pcap", {"mac:00:13:72:d7:87:8a"}),
    ("JavaRMI_and_IEC_Misc.pcap", {"mac:00:15:c5:18:d4:cc", "mac:00:e0:ab:01:10:f8"}),
])
def test_the_controlling_stations_are_ot_without_a_type(capture: str, masters: set[str]) -> None:
    devices = _inventory("IEC60870-5-104", capture)
    found = {k for k, d in devices.items() if "iec104" in d.attributes.get("service.client", set())}
    assert found == masters
    for key in masters:
        dev = devices[key]
        assert (dev.category, dev.device_type) == ("ot", None)
        assert dev.classification["category"].evidence[0]["rule_id"] == "service.client.iec104"


def test_the_hart_ip_gateway_names_its_maker_in_command_0() -> None:
    devices = _inventory("hart", "hart_ip.pcap")
    dev = devices["mac:00:26:16:00:00:d2"]
    assert (dev.category, dev.vendor, dev.device_type) == ("ot", "Rosemount", None)
    assert "hartip" in dev.protocols and dev.attributes["service.server"] == {"hartip"}
    assert dev.attributes["hartip.manufacturer_id"] == {"38"}
    assert dev.attributes["hartip.device_type"] == {str(0x264E)} and dev.attributes["hartip.device_id"] == {"0000d2"}
    assert dev.attributes["hartip.long_tag"] == {"wihartgw"}
    rules = {e["rule_id"] for e in dev.classification["vendor"].evidence}
    assert "hartip.manufacturer.38.rosemount" in rules
    # the client (a VMware guest running the HART-IP host software) is not made a HART device
    client = devices["mac:00:0c:29:50:a9:fc"]
    assert not any(a.startswith("hartip.") for a in client.attributes) and client.category != "ot"
