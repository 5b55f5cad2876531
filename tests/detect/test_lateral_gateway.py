"""Lateral movement through a Remote Desktop Gateway ([MS-TSGU]): a device that is not an IT machine opening a
gateway tunnel is RDP from it (detect.lateral.admin_protocol), once per device and gateway; an IT workstation doing
so, and the same device fetching an ordinary web page from the gateway host, raise nothing."""

from __future__ import annotations

from pathlib import Path

from iotwarden.addons import AddonManager
from iotwarden.detect.lateral import LateralDetector
from iotwarden.detect.pipeline import AlertPipeline
from iotwarden.hooks import Context
from iotwarden.model import Conclusion, Device, Observation
from tests.detect.runner import feed
from tests.detect.test_rdp_gateway import _capture
from tests.dissect.test_tsgu import in_channel_packets
from tests.risk.harness import T0, host, run_capture, tcp, write_pcap

ADMIN = "detect.lateral.admin_protocol"
CAMERA, GATEWAY = "10.0.20.5", "10.0.10.4"


def _request(ts: float, *, gateway: str | None = "http", uri: str = "/remoteDesktopGateway/",
             src: str = CAMERA, mac: str | None = None) -> Observation:
    fields: dict[str, object] = {"method": "RDG_OUT_DATA" if gateway else "GET", "uri": uri, "host": "gw.corp.example"}
    if gateway:
        fields["rdp_gateway"] = gateway
    return Observation(ts=ts, proto="http", kind="request", src_ip=src, dst_ip=GATEWAY, src_port=50000, dst_port=443,
                       ip_proto=6, src_mac=mac, fields=fields)


def test_a_gateway_tunnel_from_an_unclassified_device_is_rdp() -> None:
    alerts = feed([LateralDetector()], observations=[_request(100.0), _request(160.0, gateway="websocket")])
    (alert,) = alerts
    assert (alert.id, alert.key, alert.mitre[0], alert.src_ip, alert.dst_ip) == (
        ADMIN, "RDP", "T1021.001", CAMERA, GATEWAY)
    assert alert.evidence | {"category": None} == {
        "service": "RDP", "via": "rd_gateway", "transport": "http", "gateway_host": "gw.corp.example", "port": 443,
        "category": None}


def test_an_ordinary_page_of_the_gateway_host_is_not_rdp() -> None:
    # RD Web Access serves its pages from the same host: a GET of one opens no tunnel
    assert feed([LateralDetector()], observations=[_request(100.0, gateway=None, uri="/RDWeb/")]) == []


def test_an_it_workstation_may_use_the_gateway() -> None:
    ctx = Context()
    key = "mac:02:00:00:00:00:05"
    ctx.devices[key] = Device(key, 0.0, 0.0, mac="02:00:00:00:00:05", ips={"10.0.10.5"},
                              classification={"category": Conclusion("IT", 0.9)})
    addons = AddonManager(ctx, [LateralDetector(), AlertPipeline()])
    addons.observations([_request(100.0, src="10.0.10.5", mac="02:00:00:00:00:05")])
    addons.done()
    assert ctx.alerts == []


def test_from_packets(tmp_path: Path) -> None:
    # the sessions of tests/detect/test_rdp_gateway.py (10.9.0.66 to the gateway 10.9.0.4), read by the engine
    ctx = run_capture(_capture(tmp_path / "g.pcap", 2, accepted=True), [LateralDetector(), AlertPipeline()])
    assert [(a.id, a.key, a.evidence["via"], a.src_ip, a.dst_ip) for a in ctx.alerts if a.id == ADMIN] == [
        (ADMIN, "RDP", "rd_gateway", "10.9.0.66", "10.9.0.4")]


def test_the_internal_host_reached_is_named_when_the_in_channel_is_visible(tmp_path: Path) -> None:
    # the IN channel of an authorised tunnel: RDG_IN_DATA, chunked, its first packets naming the client and target
    head = (b"RDG_IN_DATA /remoteDesktopGateway/ HTTP/1.1\r\nHost: gw.corp.example\r\n"
            b"RDG-Connection-Id: {958F92D8-DA20-467A-BBE3-65E7E9B4EDCF}\r\nTransfer-Encoding: chunked\r\n\r\n")
    body = b"".join(b"%X\r\n" % len(p) + p + b"\r\n" for p in in_channel_packets())
    client, gateway = host(66), host(4)
    pcap = write_pcap(tmp_path / "in.pcap", tcp(client, gateway, 80, [(True, head), (True, body)], t=T0))
    ctx = run_capture(pcap, [LateralDetector(), AlertPipeline()])
    (alert,) = [a for a in ctx.alerts if a.id == ADMIN]
    assert (alert.key, alert.count, alert.evidence["transport"]) == ("RDP", 2, "http")
    assert (alert.evidence["target_host"], alert.evidence["target_port"], alert.evidence["client_name"]) == (
        "HMI-07.plant.local", 3389, "CAM-3")
