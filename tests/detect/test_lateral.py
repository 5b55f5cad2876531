"""Lateral movement: admin protocols from non-IT devices, IoT to IT, new internal peers after learning."""

from __future__ import annotations

from iotwarden.addons import AddonManager
from iotwarden.detect.lateral import LateralDetector
from iotwarden.detect.pipeline import AlertPipeline
from iotwarden.dissect.smbshare import describe
from iotwarden.hooks import Context
from iotwarden.model import Conclusion, Device, Observation
from iotwarden.model.device import DOMAINS_ATTRIBUTE
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


def _tree_connect(src: str, share_path: str, ts: float, mac: str | None = None) -> Observation:
    """The client's SMB TREE_CONNECT as dissect/smb.py reports it (share fields from dissect/smbshare.py)."""
    return Observation(ts=ts, proto="smb", kind="tree_connect", src_ip=src, dst_ip="10.0.10.10", src_port=50000,
                       dst_port=445, ip_proto=6, src_mac=mac, fields={"smb1": False, **describe(share_path)})


def test_an_admin_share_opened_by_an_iot_device_is_reported_once_per_server_and_share() -> None:
    ctx = Context()
    cam = "mac:02:00:00:00:00:07"
    ctx.devices[cam] = Device(cam, 0.0, 0.0, mac=cam[4:], ips={"10.0.20.7"},
                              classification={"category": Conclusion("IoT", 0.9)})
    addons = AddonManager(ctx, [LateralDetector(), AlertPipeline()])
    addons.observations([_tree_connect("10.0.20.7", "\\\\fs01\\ADMIN$", 10.0, cam[4:]),
                         _tree_connect("10.0.20.7", "\\\\fs01\\ADMIN$", 20.0, cam[4:]),
                         _tree_connect("10.0.20.7", "\\\\fs01\\C$", 30.0, cam[4:]),
                         _tree_connect("10.0.20.7", "\\\\fs01\\IPC$", 40.0, cam[4:]),  # named pipes: not admin
                         _tree_connect("10.0.20.7", "\\\\fs01\\public", 50.0, cam[4:])])
    addons.done()
    assert [(a.id, a.key, a.mitre, a.severity) for a in ctx.alerts] == [
        ("detect.lateral.admin_share", "10.0.10.10:ADMIN$", ["T1021.002"], "high"),
        ("detect.lateral.admin_share", "10.0.10.10:C$", ["T1021.002"], "high")]


def test_an_admin_share_from_an_it_host_waits_for_its_category_and_raises_nothing() -> None:
    ctx = Context()
    addons = AddonManager(ctx, [LateralDetector(), AlertPipeline()])
    ws = "mac:02:00:00:00:00:05"
    addons.observations([_tree_connect("10.0.10.5", "\\\\fs01\\C$", 100.0, ws[4:])])
    addons.tick(130.0)
    assert ctx.alerts == []  # not judged yet: the classifier has not placed the host
    ctx.devices[ws] = Device(ws, 0.0, 0.0, mac=ws[4:], ips={"10.0.10.5"},
                             classification={"category": Conclusion("IT", 0.9)})
    addons.tick(160.0)
    addons.done()
    assert ctx.alerts == []
    # never placed: judged as not IT at the end of input
    assert [a.id for a in feed([LateralDetector()], observations=[_tree_connect("10.0.20.9", "ADMIN$", 5.0)])] == [
        "detect.lateral.admin_share"]


def test_a_peer_learned_on_one_vlan_is_new_to_the_same_address_on_another() -> None:
    """A trunk mirror: VLAN 10's 10.0.20.7 talks to its 10.0.20.99 while learning; VLAN 20's 10.0.20.7, learning
    from its own MQTT flows, first reaches VLAN 20's 10.0.20.99 after learning: a new peer of that device (per plain
    address it was hidden as known). The same flows untagged, or on one VLAN, are one device and its known peer."""
    def flows(vlans: tuple[int, int]) -> list:
        out = []
        for vlan in vlans:
            mqtt = [tcp_flow("10.0.20.7", "10.0.20.1", 1883, float(t), **OK) for t in range(0, 3000, 500)]
            for flow in mqtt:
                flow.vlan = vlan
            out += mqtt
        learnt = tcp_flow("10.0.20.7", "10.0.20.99", 80, 100.0, **OK)
        late = tcp_flow("10.0.20.7", "10.0.20.99", 80, 4000.0, **OK)
        learnt.vlan, late.vlan = vlans
        return sorted([*out, learnt, late], key=lambda f: f.first_seen)
    alerts = feed([LateralDetector({"learn_s": 3600.0})], flows=flows((10, 20)))
    assert [(a.id, a.src_ip, a.key) for a in alerts] == [("detect.lateral.new_peer", "10.0.20.7", "10.0.20.99")]
    assert feed([LateralDetector({"learn_s": 3600.0})], flows=flows((20, 20))) == []
    assert feed([LateralDetector({"learn_s": 3600.0})], flows=flows((0, 0))) == []


def test_smb_from_one_address_on_two_vpcs_is_an_admin_protocol_alert_for_each() -> None:
    """VPC 4001's and VPC 4002's 10.0.20.5 (MACs of their own) each open SMB: each device's first use of the service,
    two alerts; per plain address the second was hidden. Twice from one VPC is still one first use."""
    def smb(vnis: tuple[int, int]) -> list:
        out = []
        for i, vni in enumerate(vnis):
            flow = tcp_flow("10.0.20.5", "10.0.10.10", 445, 100.0 + i, a_mac=f"02:00:00:00:01:0{vni % 2 + 1}", **OK)
            flow.extra["vni"] = [vni]
            out.append(flow)
        return out
    assert sorted((a.id, a.count) for a in feed([LateralDetector()], flows=smb((4001, 4002)))) == [
        ("detect.lateral.admin_protocol", 1)] * 2
    assert [(a.id, a.count) for a in feed([LateralDetector()], flows=smb((4001, 4001)))] == [
        ("detect.lateral.admin_protocol", 1)]


def _zeek_records_to_the_server(ctx: Context, vlan: int) -> list[str]:
    """The alert ids of two tagged Zeek records of the IoT device 10.0.20.7 (its MAC named): its gateway while
    learning, then the IT server 10.0.10.10 on 8080 after it, both on ``vlan`` (0: untagged)."""
    addons = AddonManager(ctx, [LateralDetector({"learn_s": 60.0}), AlertPipeline()])
    flows = [tcp_flow("10.0.20.7", "10.0.20.1", 443, 1.0, a_mac="02:00:00:00:00:07", **OK),
             tcp_flow("10.0.20.7", "10.0.10.10", 8080, 500.0, a_mac="02:00:00:00:00:07",
                      **OK | {"flags": (0x1B, 0x1B)})]
    for flow in flows:
        flow.vlan = vlan
    addons.flows(flows)
    addons.done()
    return [a.id for a in ctx.alerts]


def test_a_tagged_zeek_record_names_its_peer_by_the_device_holding_the_address() -> None:
    """A Zeek conn.log record of a trunk names no MAC: its responder on VLAN 10 is the MAC device holding the
    address (an IT server), so the IoT device reaching it is iot_to_it, as untagged; an ip: device of another
    VLAN at that address is never the peer (no IT category borrowed from VLAN 20's host)."""
    def run(vlan: int, server_key: str) -> list[str]:
        ctx = Context()
        for key, ip, cat in (("mac:02:00:00:00:00:07", "10.0.20.7", "IoT"), (server_key, "10.0.10.10", "IT")):
            ctx.devices[key] = Device(key, 0.0, 0.0, mac=key[4:] if key.startswith("mac:") else None, ips={ip},
                                      classification={"category": Conclusion(cat, 1)})
        return _zeek_records_to_the_server(ctx, vlan)
    assert run(10, "mac:02:00:00:00:00:0a") == ["detect.lateral.iot_to_it"]
    assert run(0, "mac:02:00:00:00:00:0a") == ["detect.lateral.iot_to_it"]
    assert run(10, "ip:10.0.10.10%vlan10") == ["detect.lateral.iot_to_it"]
    assert run(10, "ip:10.0.10.10%vlan20") == ["detect.lateral.new_peer"]


def test_a_tagged_zeek_record_never_names_a_mac_device_of_another_vlan_as_its_peer() -> None:
    """The same records, the IT server's MAC device seen on VLAN 10 only (the inventory's link.domain): a VLAN 20
    record to 10.0.10.10 is not that server (new_peer; before: iot_to_it, the server borrowed from VLAN 10); on
    VLAN 10, or a server seen on both, it is (iot_to_it)."""
    def run(vlan: int, server_domains: set[str]) -> list[str]:
        ctx = Context()
        for mac, ip, cat, domains in (("02:00:00:00:00:07", "10.0.20.7", "IoT", {f"vlan{vlan}"}),
                                      ("02:00:00:00:00:0a", "10.0.10.10", "IT", server_domains)):
            ctx.devices[f"mac:{mac}"] = Device(f"mac:{mac}", 0.0, 0.0, mac=mac, ips={ip},
                                               attributes={DOMAINS_ATTRIBUTE: domains},
                                               classification={"category": Conclusion(cat, 1)})
        return _zeek_records_to_the_server(ctx, vlan)
    assert run(20, {"vlan10"}) == ["detect.lateral.new_peer"]
    assert run(10, {"vlan10"}) == ["detect.lateral.iot_to_it"]
    assert run(20, {"vlan10", "vlan20"}) == ["detect.lateral.iot_to_it"]
