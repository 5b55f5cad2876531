"""A KNX IP router answering ETS's SEARCH and DESCRIPTION requests (KNXnet/IP, dissect/knxip.py) is inventoried
as a building bus gateway of the maker its KNX serial number names, with its friendly name, MAC, KNX individual
address and service families; the stations that only search or tunnel are not typed by it. A station that opens a
device-management connection to it is typed an engineering workstation (ETS), without being trusted for it."""

from __future__ import annotations

from pathlib import Path

from iotwarden.addons import default_analyzers
from tests.dissect import knxbuild as k
from tests.risk.harness import analyse, found, run_capture


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


def _managed_site(tmp_path: Path, *, programs: bool = False) -> Path:
    """The KNX site with ETS opening a device-management connection to the router (CONNECT_REQUEST, CRI connection
    type 0x03 DEVICE_MGMT_CONNECTION: 03.08.02 §7.8.1, 03.08.03 §4) and reading its serial number (M_PropRead.req of
    the Device object's PID 11 in a DEVICE_CONFIGURATION_REQUEST); with ``programs``, ETS then tunnels a memory write
    and a restart to the bus device 1.1.5 (knxbuild.site's programmer)."""
    t = k.T0 + 30
    port = 50003
    management = [
        k.datagram(t, k.ETS, k.ROUTER, k.knxip(k.CONNECT_REQUEST, k.hpai(k.ETS.ip, port) * 2 + bytes([2, 0x03])),
                   sport=port),
        k.datagram(t + 0.01, k.ROUTER, k.ETS, k.knxip(k.CONNECT_RESPONSE, bytes([2, 0]) + k.hpai(k.ROUTER.ip)
                                                      + bytes([2, 0x03])), dport=port),
        k.datagram(t + 0.1, k.ETS, k.ROUTER, k.device_configuration(bytes([0xFC, 0, 0, 1, 11, 0x10, 1]), channel=2),
                   sport=port)]
    return k.write_frames(tmp_path / "managed.pcap", k.site(programmer=k.ETS if programs else None) + management)


def test_a_host_opening_a_device_management_connection_is_an_engineering_workstation(tmp_path: Path) -> None:
    devices = run_capture(_managed_site(tmp_path), default_analyzers()).devices
    ets = devices[f"mac:{k.ETS.mac}"]
    assert ets.attributes["knxip.connection_type"] == {"device_management"}
    assert (ets.device_type, ets.category) == ("engineering_workstation", "ot")
    (evidence,) = [e for e in ets.classification["device_type"].evidence if e["agrees"]]
    assert (evidence["rule_id"], evidence["behaviour"]) == ("knxip.client.device_management", "ot_connection")
    router = devices[f"mac:{k.ROUTER.mac}"]  # the server end's answer says nothing of the client's role
    assert router.device_type == "building_gateway" and "knxip.connection_type" not in router.attributes


def test_a_visualisation_s_tunnel_is_no_engineering_workstation(tmp_path: Path) -> None:
    # the visualisation's TUNNEL_CONNECTION on the link layer (CRI 4, 0x04, 0x02) exchanges group telegrams
    visu = run_capture(_managed_site(tmp_path), default_analyzers()).devices[f"mac:{k.VISU.mac}"]
    assert visu.attributes["knxip.connection_type"] == {"tunnelling"}
    assert visu.device_type is None and visu.category is None


def test_a_management_connection_authorises_no_programming(tmp_path: Path) -> None:
    """Any client may ask for a device-management connection (an intruder's Calimero as ETS), so the type it gives
    (kb knxip.client.device_management, a behaviour rule) does not let its sender program the bus unnoticed."""
    ctx, _ = analyse(_managed_site(tmp_path, programs=True), classifier=True)
    ets = f"mac:{k.ETS.mac}"
    assert ctx.devices[ets].device_type == "engineering_workstation"
    (finding,) = found(ctx, "risk.ot.program_change").values()
    assert finding.evidence["unauthorised_sources"] == [ets]
    assert finding.evidence["untrusted_types"] == [
        f"{ets}: typed engineering_workstation only from requests any host can send "
        "(knxip.client.device_management: device_management); list it in engineering_stations if it is one"]
