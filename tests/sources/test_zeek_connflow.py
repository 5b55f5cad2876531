"""conn.log records as Flows (sources/zeek_connflow.py): Flow's fields in their declared order, lines of one shape
sharing no mutable state, services Zeek removed after a violation kept apart, a carrier's payload named, and the
history's "^" (Zeek flipped the direction). Reading whole conn.logs is tests/sources/test_zeek_map.py's."""

from __future__ import annotations

import dataclasses

import pytest

from iotwarden.model import Flow
from iotwarden.sources import zeek_connflow


def test_shaped_flow_passes_flows_fields_in_their_declared_order() -> None:
    """shaped_flow builds each Flow positionally (a conn.log line's cost): the order it assumes is Flow's."""
    assert tuple(f.name for f in dataclasses.fields(Flow)) == zeek_connflow.FLOW_FIELDS
    shape = zeek_connflow.conn_shape(proto=6, ip_proto=None, listed=["ssl"], failed_column=[], history="ShR",
                                extra={"conn_state": "RSTO"}, duration=1.5, vlan=7, orig_l2="AA:BB:CC:00:00:01",
                                resp_l2=None, counters=(3, 4, 50, 60, 10, 20))
    flow = zeek_connflow.shaped_flow(shape, 5.0, "10.0.0.1", 1, "10.0.0.2", 2, "C1")
    assert dataclasses.asdict(flow) == {
        "vlan": 7, "ip_proto": 6, "a_ip": "10.0.0.1", "a_port": 1, "b_ip": "10.0.0.2", "b_port": 2,
        "first_seen": 5.0, "last_seen": 6.5, "a_mac": "aa:bb:cc:00:00:01", "b_mac": None, "pkts_ab": 3, "pkts_ba": 4,
        "bytes_ab": 50, "bytes_ba": 60, "payload_ab": 10, "payload_ba": 20, "tcp_flags_ab": 0x06,
        "tcp_flags_ba": 0x12, "app": "tls", "end_reason": "zeek", "extra": {"uid": "C1", "conn_state": "RSTO"}}
    assert list(flow.extra) == ["uid", "conn_state"]  # uid first, as CONN_EXTRA orders them


def test_flows_of_one_shape_share_no_mutable_state() -> None:
    """A shape serves many lines (a scan's probes): each Flow gets its own extra and lists, ICMP ports per line."""
    shape = zeek_connflow.conn_shape(proto=1, ip_proto=None, listed=["dns", "-ssl", "http"], failed_column=[],
                                history="", extra={"conn_state": "OTH"}, duration=None, vlan=None, orig_l2=None,
                                resp_l2=None, counters=(1, 1, 28, 28, 0, 0))
    one = zeek_connflow.shaped_flow(shape, 1.0, "10.0.0.1", 8, "10.0.0.2", 0, None)
    two = zeek_connflow.shaped_flow(shape, 2.0, "fe80::1", 135, "fe80::2", 136, "C2")
    assert (one.ip_proto, one.a_port, one.last_seen) == (1, 0, 1.0)
    assert list(one.extra) == ["icmp_type", "icmp_resp_p", "conn_state", "services", "failed_services"]
    assert (two.ip_proto, two.extra["icmp_type"], two.extra["icmp_resp_p"], two.extra["uid"]) == (58, 135, 136, "C2")
    one.extra["services"].append("x")
    assert two.extra["services"] == ["dns", "http"] and shape.extra["services"] == ["dns", "http"]
    assert one.extra is not two.extra and "uid" not in shape.extra


def test_conn_services_zeek_removed_after_a_violation_are_kept_apart() -> None:
    rec = {"ts": 1700000000.0, "id.orig_h": "192.168.10.21", "id.orig_p": 40000, "id.resp_h": "198.18.7.7",
           "id.resp_p": 443, "proto": "tcp", "history": "ShADadFf", "conn_state": "SF", "missed_bytes": 0}
    # DPD::track_removed_services_in_connection logs "-ssl"; failed-service-logging.zeek a column
    flow = zeek_connflow.map_conn({**rec, "service": ["-ssl"]})
    assert (flow.app, flow.extra["failed_services"]) == (None, ["tls"])
    flow = zeek_connflow.map_conn({**rec, "service": ["http"], "failed_service": ["ssl"]})
    assert (flow.app, flow.extra["failed_services"]) == ("http", ["tls"])
    assert "failed_services" not in zeek_connflow.map_conn({**rec, "service": ["ssl"]}).extra


def test_conn_service_a_carrier_lists_beside_its_payload_is_the_payloads() -> None:
    # ICSNPP-S7comm's conn.log (its snap7 test baseline): "cotp,s7comm" on one connection to tcp/102
    rec = {"ts": 1700000000.0, "id.orig_h": "192.168.61.131", "id.orig_p": 51212, "id.resp_h": "192.168.61.211",
           "id.resp_p": 102, "proto": "tcp", "history": "Dd", "conn_state": "OTH"}
    assert zeek_connflow.map_conn({**rec, "service": ["cotp", "s7comm"]}).app == "s7comm"
    assert zeek_connflow.map_conn({**rec, "service": ["s7comm", "cotp"]}).app == "s7comm"
    assert zeek_connflow.map_conn({**rec, "service": ["cotp"]}).app == "cotp"  # nothing carried that Zeek named


@pytest.mark.parametrize(("history", "flipped"), [("^dADa", "zeek"), ("^hADadFf", "zeek"), ("ShADadFf", None),
                                                  ("", None)])
def test_conn_history_caret_says_zeek_flipped_the_flow(history: str, flipped: str | None) -> None:
    # "^": connection direction was flipped by Zeek's heuristic (base/protocols/conn/main.zeek, Conn::Info$history);
    # the packet path says the same in Flow.extra["flipped"] (engine/orient.py), with its own reason
    rec = {"ts": 1700000000.0, "id.orig_h": "192.168.10.21", "id.orig_p": 40000, "id.resp_h": "192.168.10.5",
           "id.resp_p": 502, "proto": "tcp", "history": history, "conn_state": "OTH"}
    flow = zeek_connflow.map_conn(rec)
    assert flow.extra.get("flipped") == flipped
    assert flow.extra["history"] == history  # kept as logged
    if history == "^dADa":  # "^" implies no TCP flag: the originator's pure ACK, the responder's ACK
        assert (flow.tcp_flags_ab, flow.tcp_flags_ba) == (0x10, 0x10)
