"""Lateral movement over RDP's UDP transport ([MS-RDPEUDP]): a flow the engine (dissect/rdpudp.py) or Zeek's RDPEUDP
analyzer named ``rdp`` is RDP as tcp/3389 is; other UDP to port 3389 is not."""

from __future__ import annotations

from pathlib import Path

from iotwarden.addons import AddonManager
from iotwarden.detect.lateral import LateralDetector
from iotwarden.detect.pipeline import AlertPipeline
from iotwarden.hooks import Context
from iotwarden.model import Conclusion, Device, Flow
from iotwarden.sources.zeek_map import service_name
from tests.detect.runner import feed
from tests.dissect.test_rdpudp import _capture
from tests.risk.harness import run_capture

ADMIN = "detect.lateral.admin_protocol"


def udp_flow(a: str, b: str, dport: int, ts: float, *, app: str | None, answered: bool = True,
             a_mac: str | None = None) -> Flow:
    return Flow(vlan=0, ip_proto=17, a_ip=a, a_port=50000, b_ip=b, b_port=dport, first_seen=ts, last_seen=ts + 0.1,
                a_mac=a_mac, pkts_ab=3, pkts_ba=3 if answered else 0, bytes_ab=3800, bytes_ba=3800 if answered else 0,
                payload_ab=3700, payload_ba=3700 if answered else 0, app=app)


def test_rdp_over_udp_from_an_unclassified_device_is_an_admin_protocol_alert() -> None:
    alerts = feed([LateralDetector()], flows=[udp_flow("10.0.20.5", "10.0.10.10", 3389, 100.0, app="rdp")])
    assert [(a.id, a.key, a.mitre[0], a.evidence["port"]) for a in alerts] == [(ADMIN, "RDP", "T1021.001", 3389)]


def test_an_unanswered_rdp_udp_syn_is_an_attempt_on_any_port() -> None:
    alerts = feed([LateralDetector()],
                  flows=[udp_flow("10.0.20.5", "10.0.10.10", 53389, 100.0, app="rdp", answered=False)])
    assert [(a.id, a.evidence["established"]) for a in alerts] == [(ADMIN, False)]


def test_other_udp_to_port_3389_is_not_rdp() -> None:
    # a datagram the RDP-UDP dissector did not recognise (no SYN layout): the port alone proves nothing
    alerts = feed([LateralDetector()], flows=[udp_flow("10.0.20.5", "10.0.10.10", 3389, 100.0, app=None)])
    assert [a for a in alerts if a.id == ADMIN] == []


def test_an_it_workstation_may_use_rdp_over_udp() -> None:
    ctx = Context()
    ctx.devices["mac:02:00:00:00:00:05"] = Device("mac:02:00:00:00:00:05", 0.0, 0.0, mac="02:00:00:00:00:05",
                                                  ips={"10.0.10.5"},
                                                  classification={"category": Conclusion("IT", 0.9)})
    addons = AddonManager(ctx, [LateralDetector(), AlertPipeline()])
    addons.flows([udp_flow("10.0.10.5", "10.0.10.10", 3389, 100.0, app="rdp", a_mac="02:00:00:00:00:05")])
    addons.done()
    assert ctx.alerts == []


def test_from_packets_to_the_alert(tmp_path: Path) -> None:
    ctx = run_capture(_capture(tmp_path / "u.pcap", 3389), [LateralDetector(), AlertPipeline()])
    assert [(a.id, a.key, a.src_ip, a.dst_ip) for a in ctx.alerts] == [(ADMIN, "RDP", "10.9.0.5", "10.9.0.10")]


def test_zeeks_rdpeudp_service_names_the_flow_rdp() -> None:
    # Zeek's btest baseline scripts.base.protocols.rdp.rdpeudp-handshake-success/conn.log: "udp rdpeudp"
    assert service_name("rdpeudp") == "rdp"
