"""Flow: direction-free key, totals, and a lossless dict round trip."""

from __future__ import annotations

from iotwarden.model import Flow, FlowKey


def _flow() -> Flow:
    return Flow(vlan=10, ip_proto=6, a_ip="10.0.0.5", a_port=50000, b_ip="10.0.0.9", b_port=502,
                first_seen=100.0, last_seen=103.5, pkts_ab=3, pkts_ba=2, bytes_ab=300, bytes_ba=180)


def test_totals_and_key() -> None:
    flow = _flow()
    assert flow.key == FlowKey(10, 6, "10.0.0.5", 50000, "10.0.0.9", 502)
    assert (flow.packets, flow.bytes, flow.duration) == (5, 480, 3.5)


def test_round_trip_keeps_unknown_fields_in_extra() -> None:
    data = _flow().to_dict()
    assert Flow.from_dict(data) == _flow()
    data["community_id"] = "1:abc="
    assert Flow.from_dict(data).extra == {"community_id": "1:abc="}


def test_domain_is_the_vlan_and_vnis_the_flow_was_seen_in() -> None:
    """Flow.domain names the broadcast domain as Observation.domain does (model/observation.link_domain)."""
    flow = _flow()
    assert flow.domain == "vlan10"
    flow.extra["vni"] = [4001, 1]
    assert flow.domain == "vni4001/vni1/vlan10"
    flow.vlan = 0
    assert flow.domain == "vni4001/vni1"
    flow.extra["vni"] = "not a list"
    assert flow.domain == ""
    assert Flow.from_dict(_flow().to_dict()).domain == "vlan10"
