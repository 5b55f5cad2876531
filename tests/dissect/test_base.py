"""The dissector contract: Packet stamps observations; the registry lists every dissector once."""

from __future__ import annotations

from iotwarden.dissect import REGISTRY, default_dissectors
from iotwarden.dissect.base import Dissector, Packet, StreamDissector
from iotwarden.model import Observation


def test_packet_observation_carries_time_and_addresses() -> None:
    pkt = Packet(ts=3.0, payload=b"", src_mac="aa:bb:cc:dd:ee:ff", src_ip="10.0.0.7", dst_ip="10.0.0.1",
                 ip_proto=17, src_port=68, dst_port=67)
    obs = pkt.observation("dhcp", "request", {"hostname": "cam"})
    assert (obs.ts, obs.src_ip, obs.dst_port, obs.subject) == (3.0, "10.0.0.7", 67, "src")
    assert obs.fields == {"hostname": "cam"}


def test_packet_observation_is_the_observation_its_fields_name() -> None:
    """observation() passes its values by position: each must land in the Observation field of its name."""
    pkt = Packet(ts=3.5, payload=b"", src_mac="aa:bb:cc:dd:ee:01", dst_mac="aa:bb:cc:dd:ee:02", vlan=7,
                 src_ip="10.0.0.7", dst_ip="10.0.0.1", ip_proto=6, src_port=1025, dst_port=502, vni=(5001,))
    fields = {"unit": 1}
    obs = pkt.observation("modbus", "read", fields, "dst")
    assert obs == Observation(ts=3.5, proto="modbus", kind="read", src_mac="aa:bb:cc:dd:ee:01",
                              dst_mac="aa:bb:cc:dd:ee:02", src_ip="10.0.0.7", dst_ip="10.0.0.1", src_port=1025,
                              dst_port=502, ip_proto=6, vlan=7, vni=(5001,), subject="dst", fields=fields)
    assert obs.fields is fields


def test_registry_names_are_unique_and_match_the_dissectors() -> None:
    dissectors = default_dissectors()
    names = [d.name for d in dissectors]
    assert len(names) == len(set(names)) == len(REGISTRY)
    assert all(isinstance(d, Dissector) for d in dissectors)
    for d in dissectors:  # every dissector declares how it is reached: a dispatch table entry or a probe
        probes = type(d).probe is not Dissector.probe  # hl7: MLLP on any port, TLS keeps 2575
        assert d.ethertypes or d.llc_snap or d.wlan_management or d.udp_ports or d.tcp_ports or probes, d.name
        if d.tcp_ports and not d.udp_ports:
            assert isinstance(d, StreamDissector), d.name
