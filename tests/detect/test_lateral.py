"""Lateral movement: admin protocols from non-IT devices, IoT to IT, new internal peers after learning."""

from __future__ import annotations

from iotwarden.addons import AddonManager
from iotwarden.detect.lateral import LateralDetector
from iotwarden.detect.pipeline import AlertPipeline
from iotwarden.hooks import Context
from iotwarden.model import Conclusion, Device
from tests.detect.runner import feed, tcp_flow

OK = {"payload": (300, 300), "flags": (0x1B, 0x1B), "pkts": (5, 5)}


def test_smb_from_an_unclassified_device_is_an_admin_protocol_alert() -> None:
    alerts = feed([LateralDetector()], flows=[tcp_flow("10.0.20.5", "10.0.10.10", 445, 100.0, **OK)])
    assert [(a.id, a.key, a.mitre[0]) for a in alerts] == [("detect.lateral.admin_protocol", "SMB", "T1021.002")]


def test_it_devices_may_administer_servers() -> None:
    ctx = Context()
    ctx.devices["mac:02:00:00:00:00:05"] = Device("mac:02:00:00:00:00:05", 0.0, 0.0, mac="02:00:00:00:00:05",
                                                  ips={"10.0.10.5"},
                                                  classification={"category": Conclusion("IT", 0.9)})
    addons = AddonManager(ctx, [LateralDetector(), AlertPipeline()])
    addons.flows([tcp_flow("10.0.10.5", "10.0.10.10", 3389, 100.0, a_mac="02:00:00:00:00:05", **OK)])
    addons.done()
    assert ctx.alerts == []


def test_iot_device_reaching_a_new_it_device_after_learning() -> None:
    ctx = Context()
    for key, ip, cat in (("mac:02:00:00:00:00:07", "10.0.20.7", "IoT"), ("mac:02:00:00:00:00:0a", "10.0.10.10", "IT")):
        ctx.devices[key] = Device(key, 0.0, 0.0, mac=key[4:], ips={ip}, classification={"category": Conclusion(cat, 1)})
    addons = AddonManager(ctx, [LateralDetector({"learn_s": 60.0}), AlertPipeline()])
    addons.flows([tcp_flow("10.0.20.7", "10.0.20.1", 443, 1.0, a_mac="02:00:00:00:00:07", **OK),
                  tcp_flow("10.0.20.7", "10.0.10.10", 8080, 500.0, a_mac="02:00:00:00:00:07",
                           **OK | {"flags": (0x1B, 0x1B)})])
    addons.done()
    assert [a.id for a in ctx.alerts] == ["detect.lateral.iot_to_it"]


def test_peers_seen_while_learning_are_normal_and_new_ones_are_reported_once() -> None:
    flows = [tcp_flow("10.0.20.7", "10.0.20.1", 1883, float(t), **OK) for t in range(0, 3000, 100)]
    flows += [tcp_flow("10.0.20.7", "10.0.20.99", 80, 4000.0 + t, **OK) for t in range(3)]
    alerts = feed([LateralDetector({"learn_s": 3600.0})], flows=flows)
    assert [(a.id, a.key, a.count) for a in alerts] == [("detect.lateral.new_peer", "10.0.20.99", 1)]


def test_a_device_classified_after_its_first_admin_flow_is_judged_by_its_category() -> None:
    ctx = Context()
    addons = AddonManager(ctx, [LateralDetector(), AlertPipeline()])
    ws = "mac:02:00:00:00:00:05"
    addons.flows([tcp_flow("10.0.10.5", "10.0.10.10", 445, 100.0, a_mac=ws[4:], **OK)])
    addons.tick(130.0)  # the classifier has not judged the workstation yet: the flow waits
    assert ctx.alerts == []
    ctx.devices[ws] = Device(ws, 0.0, 0.0, mac=ws[4:], ips={"10.0.10.5"},
                             classification={"category": Conclusion("IT", 0.9)})
    addons.tick(160.0)
    addons.done()
    assert ctx.alerts == []


def test_a_device_still_unclassified_after_the_wait_counts_as_not_it() -> None:
    ctx, pipeline = Context(), AlertPipeline()
    addons = AddonManager(ctx, [LateralDetector({"unknown_wait_s": 60.0}), pipeline])
    addons.flows([tcp_flow("10.0.20.5", "10.0.10.10", 22, 100.0, **OK)])
    addons.tick(150.0)
    assert pipeline.alerts == []
    addons.tick(161.0)  # raised by the wait's end, not by the end of input
    assert [(a.id, a.key) for a in pipeline.alerts] == [("detect.lateral.admin_protocol", "SSH")]


def test_a_record_joined_mid_stream_is_no_admin_attempt() -> None:
    """IoT-23 44-1: the gateway's SSH session to the bot appears as a record with no handshake (Zeek OTH,
    history of data and ACKs): who opened it, and when, is unknown, so it is no attempt; a SYN is."""
    midstream = tcp_flow("10.0.20.5", "10.0.10.10", 22, 100.0, flags=(0x18, 0x18), pkts=(4, 4), payload=(0, 0))
    midstream.extra["conn_state"] = "OTH"
    assert feed([LateralDetector()], flows=[midstream]) == []
    refused = tcp_flow("10.0.20.5", "10.0.10.10", 22, 200.0)  # SYN, then RST+ACK: an attempt
    assert [a.id for a in feed([LateralDetector()], flows=[refused])] == ["detect.lateral.admin_protocol"]
