"""Scan detection from flows alone: horizontal, vertical and Mirai-style Telnet scans."""

from __future__ import annotations

from iotwarden.detect.scan import ScanDetector
from iotwarden.model import Flow, Observation
from tests.detect.runner import feed, tcp_flow


def test_telnet_probes_to_five_hosts_are_a_mirai_scan() -> None:
    flows = [tcp_flow("10.0.0.9", f"10.0.0.{i}", 23, 100.0 + i) for i in range(1, 6)]
    alerts = feed([ScanDetector()], flows=flows)
    assert [(a.id, a.key, a.src_ip) for a in alerts] == [("detect.scan.telnet_mirai", "23/2323", "10.0.0.9")]
    assert alerts[0].mitre == ["T1046", "T1110"]


def test_refused_probes_of_one_port_on_many_hosts_are_a_horizontal_scan() -> None:
    flows = [tcp_flow("10.0.0.9", f"10.0.1.{i}", 445, 100.0 + i * 0.5) for i in range(1, 11)]
    assert [a.id for a in feed([ScanDetector()], flows=flows)] == ["detect.scan.horizontal"]


def test_many_ports_on_one_host_are_a_vertical_scan() -> None:
    flows = [tcp_flow("10.0.0.9", "10.0.0.1", port, 100.0 + port * 0.01) for port in range(20, 40)]
    alerts = feed([ScanDetector()], flows=flows)
    assert [(a.id, a.key) for a in alerts] == [("detect.scan.vertical", "10.0.0.1")]


def test_probes_spread_beyond_the_window_are_not_a_scan() -> None:
    flows = [tcp_flow("10.0.0.9", f"10.0.1.{i}", 445, 100.0 + i * 120) for i in range(1, 30)]
    assert feed([ScanDetector()], flows=flows) == []


def test_established_connections_are_not_probes() -> None:
    flows = [tcp_flow("10.0.0.9", f"10.0.1.{i}", 554, 100.0 + i, payload=(200, 5000), flags=(0x1B, 0x1B),
                      pkts=(6, 8)) for i in range(1, 30)]
    assert feed([ScanDetector()], flows=flows) == []


def test_zeek_conn_states_mark_probes_without_tcp_flags() -> None:
    flows = []
    for i in range(1, 12):
        f = tcp_flow("10.0.0.9", f"10.0.2.{i}", 8080, 100.0 + i, flags=(0, 0))
        f.extra["conn_state"] = "S0" if i % 2 else "REJ"
        flows.append(f)
    assert [a.id for a in feed([ScanDetector()], flows=flows)] == ["detect.scan.horizontal"]


def test_a_long_scan_is_one_alert_with_a_count() -> None:
    flows = [tcp_flow("10.0.0.9", f"10.{i // 250}.0.{i % 250}", 23, 100.0 + i * 0.05) for i in range(5000)]
    alerts = feed([ScanDetector()], flows=flows)
    assert len(alerts) == 1 and alerts[0].count >= 2


def test_tracked_sources_are_bounded() -> None:
    det = ScanDetector({"max_sources": 10})
    flows = [tcp_flow(f"10.9.{i // 200}.{i % 200}", "10.0.0.1", 80, float(i)) for i in range(500)]
    feed([det], flows=flows)
    assert len(det._src) == 10


def test_unanswered_udp_from_service_ports_is_not_a_probe() -> None:
    flows = [Flow(0, 17, "8.8.8.8", 53, "10.0.0.5", 40000 + i, 1.0 + i, 1.0 + i, pkts_ab=1) for i in range(30)]
    assert feed([ScanDetector()], flows=flows) == []


def test_unanswered_udp_to_a_group_address_is_not_a_probe() -> None:
    # ics_iti MELSEC/melsoft_UDP_clean_1.pcap: an FX5U answers GX Works' searches from udp/5560 to the broadcast
    # address, each on the tool's port of the moment: 30 ports of "one host" that was never one host
    def flows(dst: str, dst_mac: str | None) -> list[Flow]:
        return [Flow(0, 17, "192.168.3.250", 5560, dst, 49152 + i, 1.0 + i, 1.0 + i, pkts_ab=1,
                     a_mac="10:4b:46:28:0b:fa", b_mac=dst_mac) for i in range(30)]
    for dst, mac in (("255.255.255.255", "ff:ff:ff:ff:ff:ff"), ("192.168.3.255", "ff:ff:ff:ff:ff:ff"),
                     ("239.255.0.1", "01:00:5e:7f:00:01"), ("255.255.255.255", None), ("239.1.2.3", None)):
        assert feed([ScanDetector()], flows=flows(dst, mac)) == [], dst
    (alert,) = feed([ScanDetector()], flows=flows("192.168.3.101", "84:7b:eb:0d:bd:b7"))  # one host: a scan
    assert alert.id == "detect.scan.vertical"


def test_an_arp_sweep_is_a_horizontal_scan() -> None:
    obs = [Observation(ts=10.0 + i * 0.1, proto="arp", kind="request", src_mac="02:00:00:00:00:09",
                       fields={"sender_ip": "10.0.0.9", "target_ip": f"10.0.0.{i + 1}", "gratuitous": False,
                               "probe": False}) for i in range(70)]
    alerts = feed([ScanDetector()], observations=obs)
    assert [(a.id, a.key, a.mitre) for a in alerts] == [("detect.scan.horizontal", "arp", ["T1018", "T1046"])]


def test_one_address_asking_on_two_vlans_is_two_hosts_not_a_sweep() -> None:
    """A trunk mirror: VLAN 10's and VLAN 20's 10.0.0.9 each resolve 40 neighbours (80 together, over 64)."""
    obs = [Observation(ts=10.0 + i * 0.1, proto="arp", kind="request", src_mac=f"02:00:00:00:00:{10 + i % 2:02x}",
                       vlan=10 + 10 * (i % 2), fields={"sender_ip": "10.0.0.9", "gratuitous": False, "probe": False,
                                                       "target_ip": f"10.0.0.{i // 2 + 10 + 100 * (i % 2)}"})
           for i in range(80)]
    assert feed([ScanDetector()], observations=obs) == []
    for o in obs:
        o.vlan, o.src_mac = 20, "02:00:00:00:00:0b"
        o.fields["target_ip"] = f"10.0.1.{int((o.ts - 10.0) * 10 + 0.5)}"
    alerts = feed([ScanDetector()], observations=obs)
    assert [(a.id, a.key, a.evidence["domain"]) for a in alerts] == [("detect.scan.horizontal", "arp", "vlan20")]


def test_a_sweep_of_many_hosts_keeps_bounded_tables_and_is_still_one_alert() -> None:
    det = ScanDetector({"max_targets": 64})
    flows = [tcp_flow("10.0.0.66", f"198.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}", 23, i * 0.05)
             for i in range(5000)]  # 250 s of probes, ~20 a second
    alerts = feed([det], flows=flows)
    st = det._src["10.0.0.66"]
    assert len(st.by_host) == 64 and len(st.by_port[23]) <= 64  # the latest hosts only, not 5000
    assert [(a.id, a.count > 1) for a in alerts] == [("detect.scan.telnet_mirai", True)]


def test_a_host_probed_on_one_port_holds_that_port_alone_until_a_second_comes() -> None:
    """A sweep's hosts are each probed once: (port, last probe) stands for the host's port table, which a
    second port makes (in probe order); a vertical scan is counted as before."""
    det = ScanDetector()
    feed([det], flows=[tcp_flow("10.0.0.5", f"10.0.9.{i}", 23, 100.0 + i) for i in range(1, 4)])
    (st,) = det._src.values()
    assert list(st.by_host.items()) == [(f"10.0.9.{i}", (23, 100.0 + i)) for i in range(1, 4)]
    feed([det], flows=[tcp_flow("10.0.0.5", "10.0.9.1", 23, 90.0), tcp_flow("10.0.0.5", "10.0.9.1", 80, 110.0)])
    assert list(st.by_host["10.0.9.1"].items()) == [(23, 101.0), (80, 110.0)]  # type: ignore[union-attr]
    alerts = feed([det], flows=[tcp_flow("10.0.0.5", "10.0.9.2", 1000 + p, 120.0 + p) for p in range(15)])
    assert [(a.id, a.key, a.evidence) for a in alerts] == [("detect.scan.vertical", "10.0.9.2", {"ports": 15})]


def test_one_address_probing_from_two_vlans_is_two_sources_not_a_scan() -> None:
    """A trunk mirror: VLAN 10's and VLAN 20's 10.0.0.9 each probe 6 hosts on 445 (12 together, over
    min_hosts 10); two VPCs' (VNIs 4001 and 4002) the same. One VLAN's 12 probes are a scan."""
    def probes(tag: dict[str, object], n: int = 12) -> list[Flow]:
        out = []
        for i in range(n):
            flow = tcp_flow("10.0.0.9", f"10.0.1.{i + 1}", 445, 100.0 + i * 0.5)
            if "vlan" in tag:
                flow.vlan = 10 + 10 * (i % 2)
            if "vni" in tag:
                flow.extra["vni"] = [4001 + i % 2]
            out.append(flow)
        return out
    assert feed([ScanDetector()], flows=probes({"vlan": True})) == []
    assert feed([ScanDetector()], flows=probes({"vni": True})) == []
    assert [a.id for a in feed([ScanDetector()], flows=probes({}))] == ["detect.scan.horizontal"]  # untagged
    one_vlan = probes({})
    for flow in one_vlan:
        flow.vlan = 20
    (alert,) = feed([ScanDetector()], flows=one_vlan)
    assert (alert.id, alert.src_ip, alert.evidence["hosts"]) == ("detect.scan.horizontal", "10.0.0.9", 10)


def test_a_source_outside_the_site_is_one_scanner_on_every_vlan() -> None:
    """An internet scanner reaching VLAN 10's and VLAN 20's hosts is one source: 6 + 6 hosts are a scan."""
    flows = [tcp_flow("203.0.113.7", f"10.0.{10 + 10 * (i % 2)}.{i + 1}", 445, 100.0 + i * 0.5) for i in range(12)]
    for i, flow in enumerate(flows):
        flow.vlan = 10 + 10 * (i % 2)
    (alert,) = feed([ScanDetector()], flows=flows)
    assert (alert.src_ip, alert.evidence["hosts"]) == ("203.0.113.7", 10)


def test_one_address_pinging_from_two_vlans_is_two_sources_not_a_sweep() -> None:
    def pings(vlans: tuple[int, int]) -> list[Flow]:
        return [Flow(vlans[i % 2], 1, "10.0.0.9", 0, f"10.0.1.{i + 1}", 0, 10.0 + i, 10.0 + i, pkts_ab=1,
                     extra={"icmp_type": 8}) for i in range(12)]
    assert feed([ScanDetector()], flows=pings((10, 20))) == []
    assert [a.key for a in feed([ScanDetector()], flows=pings((20, 20)))] == ["icmp"]


def test_sources_on_many_vlans_stay_within_max_sources() -> None:
    det = ScanDetector({"max_sources": 10})
    flows = [tcp_flow("10.0.0.9", "10.0.0.1", 80, float(i)) for i in range(300)]
    for i, flow in enumerate(flows):
        flow.vlan = 1 + i
    feed([det], flows=flows)
    assert len(det._src) == 10 and "10.0.0.9%vlan300" in det._src


def test_an_outside_scanner_probing_one_plan_on_two_vlans_probed_twice_the_hosts() -> None:
    """A trunk mirror: 203.0.113.7 probes 10.0.0.1-6 on 445 on VLAN 10 and the same six on VLAN 20: twelve
    hosts (over min_hosts 10), a scan; counted by plain address (before) they were six, no alert. A port
    scan of VLAN 10's 10.0.0.7 and one of VLAN 20's are two, each keyed by its host within its VLAN."""
    flows = [tcp_flow("203.0.113.7", f"10.0.0.{i % 6 + 1}", 445, 100.0 + i * 0.5) for i in range(12)]
    for i, flow in enumerate(flows):
        flow.vlan = 10 if i < 6 else 20
    (alert,) = feed([ScanDetector()], flows=flows)
    assert (alert.id, alert.src_ip, alert.evidence["hosts"]) == ("detect.scan.horizontal", "203.0.113.7", 10)
    for flow in flows:
        flow.vlan = 20
    assert feed([ScanDetector()], flows=flows) == []  # one VLAN's six hosts probed twice
    ports = [tcp_flow("203.0.113.7", "10.0.0.7", 1000 + p, 200.0 + p * 0.1) for p in range(30)]
    for p, flow in enumerate(ports):
        flow.vlan = 10 if p < 15 else 20
    assert sorted(a.key for a in feed([ScanDetector()], flows=ports)) == ["10.0.0.7%vlan10", "10.0.0.7%vlan20"]


def test_an_outside_pinger_of_one_plan_on_two_vlans_swept_twice_the_hosts() -> None:
    pings = [Flow(10 if i < 6 else 20, 1, "203.0.113.7", 0, f"10.0.1.{i % 6 + 1}", 0, 10.0 + i, 10.0 + i,
                  pkts_ab=1, extra={"icmp_type": 8}) for i in range(12)]
    assert [(a.key, a.evidence["hosts"]) for a in feed([ScanDetector()], flows=pings)] == [("icmp", 10)]
    for flow in pings:
        flow.vlan = 10
    assert feed([ScanDetector()], flows=pings) == []
