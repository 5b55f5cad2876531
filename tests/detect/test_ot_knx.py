"""KNX programming over KNXnet/IP (dissect/knxip.py): a host tunnelling a memory write and a restart to a bus device
through the KNX IP router raises detect.ot.program_download and detect.ot.device_restart on the router, naming that
host and the bus device's individual address; routed to the multicast group, the same frames fall on the router
coupling the bus device's line, on the KNX IP device holding the address, or on the sender when no IP device is
known, never on the group (inventory/knx.py); group value writes, routed or tunnelled, raise nothing; the site's
configured engineering station (``detect.ot.engineering_stations``, by IP or MAC) programs without an alert."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.detect.ot import OtOperationDetector, stations
from iotwarden.errors import ConfigError
from iotwarden.lab.wire import Host
from iotwarden.model.alert import Alert
from tests.detect.runner import detect
from tests.dissect import knxbuild as k
from tests.risk.test_subjects import tagged


def test_programming_from_an_unknown_host_is_an_ot_alert_on_the_router(tmp_path: Path) -> None:
    ctx = detect([k.write_site(tmp_path / "knx.pcap", programmer=k.INTRUDER)])
    ot = {a.id: a for a in ctx.alerts if a.id.startswith("detect.ot")}
    assert set(ot) == {"detect.ot.program_download", "detect.ot.device_restart"}
    download, restart = ot["detect.ot.program_download"], ot["detect.ot.device_restart"]
    assert (download.src_ip, download.dst_ip) == (k.INTRUDER.ip, k.ROUTER.ip)
    assert download.severity == "critical" and "T0843" in download.mitre
    assert "A_Memory_Write" in download.evidence["operation"] and download.evidence["proto"] == "knxip"
    assert "T0816" in restart.mitre and "A_Restart" in restart.evidence["operation"]
    assert restart.subject == f"mac:{k.ROUTER.mac}"
    assert (download.evidence["knx_destination"], download.evidence["knx_target"]) == ("1.1.5", "interface")
    assert f"KNX device 1.1.5 through {k.ROUTER.ip}" in download.title


MEMORY_WRITE, RESTART = k.l_data(0x283, b"\x40\x00\x01\x02\x03", code=k.L_DATA_IND), k.l_data(0x380, code=k.L_DATA_IND)
ACTUATOR = Host("02:00:00:00:00:70", "192.168.1.70")  # a KNX IP device (IP-only actuator), individual address 1.1.20


def _routed(tmp_path: Path, frames: list[bytes], *, announced: bool = True) -> list[Alert]:
    """The intruder routing ``frames`` (cEMI L_Data.ind) to the multicast group, after the site's search and
    description (the router announces 1.1.0) or, without ``announced``, with nothing announced."""
    site = k.site(group_writes=2) if announced else []
    t = k.T0 + 30
    routed = [k.datagram(t + i, k.INTRUDER, None, k.routing(frame)) for i, frame in enumerate(frames)]
    path = k.write_frames(tmp_path / "routed.pcap", site + routed)
    return [a for a in detect([path]).alerts if a.id.startswith("detect.ot")]


def test_programming_routed_to_the_multicast_group_falls_on_the_router_of_the_bus_devices_line(tmp_path: Path) -> None:
    alerts = _routed(tmp_path, [MEMORY_WRITE, RESTART])
    assert {a.id for a in alerts} == {"detect.ot.program_download", "detect.ot.device_restart"}
    for alert in alerts:
        assert (alert.subject, alert.dst_ip, alert.src_ip) == (f"mac:{k.ROUTER.mac}", k.ROUTER.ip, k.INTRUDER.ip)
        assert (alert.evidence["knx_destination"], alert.evidence["knx_target"]) == ("1.1.5", "coupler")
        assert k.MULTICAST_IP not in alert.title and "KNX device 1.1.5" in alert.title


def test_a_routed_write_to_an_ip_devices_own_address_falls_on_that_device(tmp_path: Path) -> None:
    own = k.l_data(0x3D7, b"\x00\x0b\x10\x01\x02", code=k.L_DATA_IND, dst=0x1100)  # A_PropertyValue_Write
    (alert,) = _routed(tmp_path, [own])
    assert (alert.id, alert.subject, alert.dst_ip) == ("detect.ot.config_change", f"mac:{k.ROUTER.mac}", k.ROUTER.ip)
    assert (alert.evidence["knx_destination"], alert.evidence["knx_target"]) == ("1.1.0", "own")


def test_a_routed_frame_with_no_ip_device_known_falls_on_its_sender_never_on_the_group(tmp_path: Path) -> None:
    other_line = k.l_data(0x283, b"\x40\x00\x01\x02\x03", code=k.L_DATA_IND, dst=0x2304)  # 2.3.4: no coupler known
    for i, (frames, announced) in enumerate((([MEMORY_WRITE], False), ([other_line], True))):
        (tmp_path / str(i)).mkdir()
        (alert,) = _routed(tmp_path / str(i), frames, announced=announced)
        destination = "1.1.5" if frames[0] is MEMORY_WRITE else "2.3.4"
        assert (alert.subject, alert.dst_ip, alert.key) == (f"mac:{k.INTRUDER.mac}", None, f"knx:{destination}")
        assert alert.evidence["knx_target"] == "none" and f"KNX device {destination}" in alert.title
        assert k.MULTICAST_IP not in alert.title and k.MULTICAST_MAC not in alert.subject


def test_a_tunnelled_write_to_a_knx_ip_devices_address_falls_on_that_device(tmp_path: Path) -> None:
    announce = k.knxip(k.DESCRIPTION_RESPONSE, k.device_info(b"KNX IP Actuator", address=0x1114,
                                                               mac=bytes.fromhex("020000000070")) + k.UNSECURED)
    write = k.tunnelling(k.l_data(0x283, b"\x40\x00\x01\x02\x03", dst=0x1114), channel=8)
    frames = [*k.site(group_writes=2), k.datagram(k.T0 + 20, ACTUATOR, k.ETS, announce, dport=50000),
              k.datagram(k.T0 + 30, k.INTRUDER, k.ROUTER, write, sport=50002)]
    alerts = detect([k.write_frames(tmp_path / "ip.pcap", frames)]).alerts
    (alert,) = [a for a in alerts if a.id.startswith("detect.ot")]
    assert (alert.subject, alert.dst_ip, alert.evidence["knx_target"]) == (f"mac:{ACTUATOR.mac}", ACTUATOR.ip, "own")


def test_group_writes_raise_nothing(tmp_path: Path) -> None:
    ctx = detect([k.write_site(tmp_path / "knx.pcap", group_writes=40)])
    assert not [a.id for a in ctx.alerts if a.id.startswith("detect.ot")]


@pytest.mark.parametrize("station", [k.ETS.ip, k.ETS.mac.upper(), f"10.0.0.9, {k.ETS.ip}"])
def test_the_configured_engineering_station_programs_without_an_alert(tmp_path: Path, station: str) -> None:
    path = k.write_site(tmp_path / "knx.pcap", programmer=k.ETS)
    assert {a.id for a in detect([path]).alerts if a.id.startswith("detect.ot")} == {
        "detect.ot.program_download", "detect.ot.device_restart"}  # ETS unknown to the detector: alerts
    options = {"detect.ot": {"engineering_stations": station}}
    assert not [a.id for a in detect([path], options).alerts if a.id.startswith("detect.ot")]


def test_engineering_stations_option() -> None:
    assert stations(" 10.0.0.1,02:AA:00:00:00:01 ,, ") == frozenset({"10.0.0.1", "02:aa:00:00:00:01"})
    assert OtOperationDetector().options.engineering_stations == ""
    with pytest.raises(ConfigError, match="engineering_station"):
        OtOperationDetector({"engineering_station": "10.0.0.1"})  # a misspelt option is refused, never ignored


def test_a_write_to_a_default_address_two_devices_announce_falls_on_no_single_device(tmp_path: Path) -> None:
    """Two unprogrammed KNX IP actuators both announce the factory default 15.15.255: a memory write routed to it is
    not put on the one that answered last; the alert falls on the sender, naming both announcers."""
    second = Host("02:00:00:00:00:71", "192.168.1.71")
    frames = [*k.site(group_writes=2)]
    for i, device in enumerate((ACTUATOR, second)):
        announce = k.knxip(k.DESCRIPTION_RESPONSE, k.device_info(b"KNX IP Actuator", address=0xFFFF,
                                                                   mac=bytes.fromhex(device.mac.replace(":", "")))
                           + k.UNSECURED)
        frames.append(k.datagram(k.T0 + 20 + i, device, k.ETS, announce, dport=50000))
    write = k.l_data(0x283, b"\x40\x00\x01\x02\x03", code=k.L_DATA_IND, dst=0xFFFF)
    frames.append(k.datagram(k.T0 + 30, k.INTRUDER, None, k.routing(write)))
    alerts = [a for a in detect([k.write_frames(tmp_path / "default.pcap", frames)]).alerts
              if a.id.startswith("detect.ot")]
    (alert,) = alerts
    assert (alert.subject, alert.dst_ip, alert.key) == (f"mac:{k.INTRUDER.mac}", None, "knx:15.15.255")
    assert (alert.evidence["knx_target"], alert.evidence["knx_announcers"]) == ("ambiguous", [ACTUATOR.ip, second.ip])
    assert "KNX device 15.15.255 (announced by 2 KNX IP devices, the factory default" in alert.title


def test_two_vlans_copies_of_a_site_each_keep_their_router(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A trunk mirror of two VLANs' copies of the site (their routers at one IP and individual address 1.1.0, other
    MACs), the intruder routing a memory write to 1.1.5 on VLAN 20 only: the alert falls on VLAN 20's router, the
    coupler of line 1.1 in the frame's VLAN (inventory/knx.py), not ambiguous between the two VLANs' routers."""
    first = k.ROUTER
    vlan10 = tagged(k.site(group_writes=2), 10)
    second = Host("00:24:6d:01:02:04", first.ip)
    monkeypatch.setattr(k, "ROUTER", second)  # site() builds its frames from knxbuild.ROUTER
    later = [(t + 100, f) for t, f in [*k.site(group_writes=2), k.datagram(k.T0 + 30, k.INTRUDER, None,
                                                                           k.routing(MEMORY_WRITE))]]
    path = k.write_frames(tmp_path / "trunk.pcap", vlan10 + tagged(later, 20))
    (alert,) = [a for a in detect([path]).alerts if a.id.startswith("detect.ot")]
    assert (alert.id, alert.subject, alert.dst_ip) == ("detect.ot.program_download", f"mac:{second.mac}", second.ip)
    assert (alert.evidence["knx_destination"], alert.evidence["knx_target"]) == ("1.1.5", "coupler")
    assert "knx_announcers" not in alert.evidence
