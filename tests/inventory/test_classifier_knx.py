"""A KNX IP router answering ETS's SEARCH and DESCRIPTION requests (KNXnet/IP, dissect/knxip.py) is inventoried
as a building bus gateway of the maker its KNX serial number names, with its friendly name, MAC, KNX individual
address and service families; the stations that only search or tunnel are not typed by it."""

from __future__ import annotations

from pathlib import Path

from iotwarden.addons import default_analyzers
from tests.dissect import knxbuild as k
from tests.risk.harness import run_capture


def test_the_router_is_a_weinzierl_building_gateway_with_its_name_and_mac(tmp_path: Path) -> None:
    devices = run_capture(k.write_site(tmp_path / "knx.pcap"), default_analyzers()).devices
    router = devices[f"mac:{k.ROUTER.mac}"]
    assert router.vendor == "Weinzierl"  # KNX manufacturer code 197 in the serial number's first two octets
    assert router.device_type == "building_gateway" and router.category == "building"
    assert "KNX IP Router 752" in router.hostnames and router.ips == {k.ROUTER.ip}
    attrs = router.attributes
    assert attrs["knxip.mac_address"] == {k.ROUTER.mac} and attrs["knxip.manufacturer_id"] == {"197"}
    assert attrs["knxip.friendly_name"] == {"KNX IP Router 752"} and attrs["knxip.individual_address"] == {"1.1.0"}
    assert attrs["knxip.service_families"] == {"core", "device_management", "tunnelling", "routing"}
    assert attrs["knxip.secure"] == {"false"} and attrs["service.server"] == {"knxip"}
    rules = {e["rule_id"] for e in router.classification["vendor"].evidence}
    assert "knxip.manufacturer.197.weinzierl" in rules
    for client in (k.ETS, k.VISU):
        dev = devices[f"mac:{client.mac}"]
        assert dev.device_type != "building_gateway" and "knxip.friendly_name" not in dev.attributes


def test_a_merten_router_is_schneider_electric_s_brand(tmp_path: Path) -> None:
    serial = bytes.fromhex("000c" "01020304")  # KNX manufacturer code 12, Merten
    frame = k.datagram(k.T0, k.ROUTER, k.ETS, k.search_response(k.device_info(b"MTN IP Router", serial=serial)
                                                                + k.UNSECURED), dport=50000)
    path = k.write_frames(tmp_path / "merten.pcap", [frame])
    router = run_capture(path, default_analyzers()).devices[f"mac:{k.ROUTER.mac}"]
    assert router.vendor == "Merten" and router.device_type == "building_gateway"
