"""InventoryBuilder: observations and flows become devices with stable keys, bounded identity facts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.addons import AddonManager
from iotwarden.hooks import Context
from iotwarden.inventory import builder as b
from iotwarden.inventory import resolution
from iotwarden.inventory.builder import InventoryBuilder
from iotwarden.inventory.identity import MAX_VALUE_LEN, RULES
from iotwarden.inventory.priors import PriorOwners
from iotwarden.model import Flow, Observation
from tests.conftest import shared

HOST = "00:11:22:33:44:55"
GW = "00:00:5e:00:01:01"
SERVER = "a0:36:9f:4c:4c:28"


def obs(proto: str, kind: str, fields: dict[str, Any], *, src_mac: str | None = HOST,
        src_ip: str | None = "10.0.0.5", dst_mac: str | None = GW, dst_ip: str | None = "10.0.0.1",
        subject: str = "src", ts: float = 100.0) -> Observation:
    return Observation(ts=ts, proto=proto, kind=kind, src_mac=src_mac, dst_mac=dst_mac, src_ip=src_ip, dst_ip=dst_ip,
                       subject=subject, fields=fields)  # type: ignore[arg-type]


def flow(a_ip: str, b_ip: str, *, a_mac: str | None = HOST, b_mac: str | None = GW, pkts: int = 2,
         app: str | None = None, ts: float = 100.0) -> Flow:
    return Flow(vlan=0, ip_proto=6, a_ip=a_ip, a_port=40000, b_ip=b_ip, b_port=443, first_seen=ts, last_seen=ts + 1,
                a_mac=a_mac, b_mac=b_mac, pkts_ab=pkts, pkts_ba=pkts, bytes_ab=100, bytes_ba=50, payload_ab=20,
                payload_ba=10 if pkts else 0, app=app)


def run(*items: Observation | Flow, priors: PriorOwners | None = None) -> tuple[Context, InventoryBuilder]:
    """The inventory after ``items`` in order (``priors``: the store's address history, as a run gets it)."""
    ctx, inv = Context(), InventoryBuilder()
    if priors is not None:
        inv.use_prior_owners(priors)
    for item in items:
        if isinstance(item, Flow):
            inv.on_flow(ctx, item)
        else:
            inv.on_observation(ctx, item)
    return ctx, inv


def test_dhcp_on_a_real_capture_names_the_client_not_the_server() -> None:
    from tests.pcaputil import run_dissector

    dhcp = pytest.importorskip("iotwarden.dissect.dhcp")
    capture = shared("pcaps", "suricata_verify", "dhcp-eve-extended", "input.pcap")
    ctx, inv = run(*run_dissector(dhcp.DhcpDissector(), Path(capture)))
    client = ctx.devices["mac:00:11:32:17:49:f0"]  # test.yaml: dhcp.client_mac, hostname "nas1\0", client_ip
    assert client.ips == {"10.16.1.4"}
    assert client.hostnames == {"nas1"}
    assert client.attributes["dhcp.hostname"] == {"nas1"}
    assert client.attributes["dhcp.param_req_list"] == {"1,28,2,3,15,6,12"}  # option 55 order is the fingerprint
    server = ctx.devices[f"mac:{SERVER}"]
    assert server.ips == {"10.16.1.1"}
    assert "dhcp" in server.protocols
    assert not server.hostnames
    assert not server.attributes
    assert ("dhcp", "request", "hostname", "nas1") in inv.evidence()["mac:00:11:32:17:49:f0"]


def test_dhcp_ack_binds_the_assigned_address_to_the_client_mac() -> None:
    ack = obs("dhcp", "ack", {"client_mac": HOST, "yiaddr": "10.0.0.77", "options": [53, 54, 51]},
              src_mac=SERVER, src_ip="10.0.0.1", dst_mac="ff:ff:ff:ff:ff:ff", dst_ip="255.255.255.255")
    ctx, inv = run(ack)
    assert ctx.devices[f"mac:{HOST}"].ips == {"10.0.0.77"}
    assert inv.owner["10.0.0.77"] == HOST
    assert ctx.devices[f"mac:{HOST}"].attributes == {}  # a server's option order is not the client's identity


def test_arp_sender_is_the_device_and_broadcast_target_is_not() -> None:
    ctx, _ = run(obs("arp", "request", {"sender_mac": HOST, "sender_ip": "10.0.0.5", "target_ip": "10.0.0.1"},
                     src_ip=None, dst_ip=None, dst_mac="ff:ff:ff:ff:ff:ff"))
    assert list(ctx.devices) == [f"mac:{HOST}"]
    assert ctx.devices[f"mac:{HOST}"].ips == {"10.0.0.5"}
    assert ctx.devices[f"mac:{HOST}"].protocols == {"arp"}


def test_a_responder_that_answers_is_recorded_as_serving_the_protocol() -> None:
    ctx, _ = run(flow("10.0.0.5", "10.0.0.50", b_mac=SERVER, app="modbus"))
    assert ctx.devices[f"mac:{SERVER}"].attributes[b.SERVER_ATTRIBUTE] == {"modbus"}
    assert b.SERVER_ATTRIBUTE not in ctx.devices[f"mac:{HOST}"].attributes


def test_the_initiator_of_an_industrial_protocol_is_recorded_as_its_client() -> None:
    """Who polls the controllers (SCADA, HMI, engineering station) belongs to the control system;
    the client side of common protocols says nothing and is not kept."""
    ctx, _ = run(flow("10.0.0.5", "10.0.0.50", b_mac=SERVER, app="modbus"),
                 flow("10.0.0.5", "10.0.0.60", b_mac="02:00:00:00:00:60", app="bacnet"),
                 flow("10.0.0.5", "10.0.0.1", app="tls"))
    host = ctx.devices[f"mac:{HOST}"].attributes
    assert host[b.CLIENT_ATTRIBUTE] == {"modbus", "bacnet"}
    assert b.CLIENT_ATTRIBUTE not in ctx.devices[f"mac:{SERVER}"].attributes
    silent = Flow(vlan=0, ip_proto=6, a_ip="10.0.0.6", a_port=3758, b_ip="10.0.0.50", b_port=502, first_seen=1.0,
                  last_seen=1.1, a_mac="02:00:00:00:00:06", b_mac=SERVER, pkts_ab=1, pkts_ba=1, bytes_ab=62,
                  bytes_ba=60, app="modbus")  # a handshake without a request: no client of anything yet
    ctx, _ = run(silent)
    assert b.CLIENT_ATTRIBUTE not in ctx.devices["mac:02:00:00:00:00:06"].attributes


def test_a_port_that_answers_without_data_serves_nothing() -> None:
    # an ISO-TSAP (tcp/102) handshake or reset: the engine names the flow by its port, nothing was served
    handshake = Flow(vlan=0, ip_proto=6, a_ip="10.0.0.5", a_port=3758, b_ip="10.0.0.50", b_port=102, first_seen=1.0,
                     last_seen=1.1, a_mac=HOST, b_mac=SERVER, pkts_ab=1, pkts_ba=1, bytes_ab=62, bytes_ba=60,
                     app="s7comm")
    ctx, _ = run(handshake)
    assert b.SERVER_ATTRIBUTE not in ctx.devices[f"mac:{SERVER}"].attributes


def test_flows_count_packets_and_bytes_for_both_ends() -> None:
    ctx, _ = run(flow("10.0.0.5", "10.0.0.9", b_mac="00:11:22:33:44:99", pkts=3, app="http"))
    for key in (f"mac:{HOST}", "mac:00:11:22:33:44:99"):
        dev = ctx.devices[key]
        assert (dev.packets, dev.bytes) == (6, 150)
        assert dev.protocols == {"http"}
        assert (dev.first_seen, dev.last_seen) == (100.0, 101.0)


def test_multicast_and_broadcast_are_never_devices() -> None:
    ctx, _ = run(flow("10.0.0.5", "224.0.0.251", b_mac="01:00:5e:00:00:fb"),
                 flow("10.0.0.5", "255.255.255.255", b_mac="ff:ff:ff:ff:ff:ff"))
    assert list(ctx.devices) == [f"mac:{HOST}"]


def test_identity_comes_only_from_listed_fields_and_kinds() -> None:
    ctx, _ = run(
        obs("dns", "response", {"qname": "answered.example.com"}),  # a response describes the server
        obs("telnet", "login_attempt", {"username": "root", "password": "xc3511"}, subject="dst"),
        obs("mdns", "response", {"services": ["_ipp._tcp.local"], "hostnames": ["printer.local"],
                                 "txt": {"ty": "HP LaserJet"}}),
    )
    host = ctx.devices[f"mac:{HOST}"]
    assert host.attributes == {"mdns.services": {"_ipp._tcp.local"}, "mdns.hostnames": {"printer.local"},
                               "mdns.txt": {"ty=HP LaserJet"}}
    assert host.hostnames == {"printer.local"}
    assert host.protocols == {"dns", "mdns"}
    assert ctx.devices[f"mac:{GW}"].protocols == {"telnet"}  # the login is a fact about the server (dst)
    assert not ctx.devices[f"mac:{GW}"].attributes


def test_what_a_client_asks_a_controller_for_describes_the_client() -> None:
    plc = "00:1f:f8:4d:21:02"
    ctx, _ = run(
        # an S7 connection request describes the PLC (dst), but its connection type is the client's role
        obs("s7comm", "cotp_connect", {"dst_tsap": "0201", "connection_type": "op", "rack": 0, "slot": 1},
            dst_mac=plc, dst_ip="10.0.0.50", subject="dst"),
        obs("s7comm", "job", {"function": "read_var"}, dst_mac=plc, dst_ip="10.0.0.50"),
        obs("s7comm", "ack_data", {"function": "read_var"}, src_mac=plc, src_ip="10.0.0.50", dst_mac=HOST,
            dst_ip="10.0.0.5"),  # the answer names the same function: not a fact about the PLC
        obs("modbus", "request", {"function": "umas", "umas_function": "take_plc_reservation"}, dst_mac=plc,
            dst_ip="10.0.0.50"),
        obs("modbus", "response", {"function": "umas", "umas_function": "response_ok"}, src_mac=plc,
            src_ip="10.0.0.50", dst_mac=HOST, dst_ip="10.0.0.5"),
    )
    assert ctx.devices[f"mac:{HOST}"].attributes == {"s7comm.connection_type": {"op"}, "s7comm.function": {"read_var"},
                                                     "modbus.umas_function": {"take_plc_reservation"}}
    assert ctx.devices[f"mac:{plc}"].attributes == {}


def test_attribute_values_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resolution, "MAX_VALUES_PER_ATTRIBUTE", 3)
    ctx, _ = run(*(obs("http", "request", {"user_agent": f"agent/{i}"}, ts=100.0 + i) for i in range(10)))
    assert len(ctx.devices[f"mac:{HOST}"].attributes["http.user_agent"]) == 3


def test_hostnames_and_evidence_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(b, "MAX_HOSTNAMES", 2)
    monkeypatch.setattr(b, "MAX_EVIDENCE_PER_ENDPOINT", 4)
    ctx, inv = run(*(obs("netbios", "registration", {"name": f"HOST{i}"}) for i in range(10)))
    assert len(ctx.devices[f"mac:{HOST}"].hostnames) == 2
    assert len(inv.evidence()[f"mac:{HOST}"]) == 4


def test_long_values_are_cut() -> None:
    ctx, _ = run(obs("http", "request", {"user_agent": "x" * 5000}))
    assert {len(v) for v in ctx.devices[f"mac:{HOST}"].attributes["http.user_agent"]} == {MAX_VALUE_LEN}


def test_runs_as_the_default_analyzer_through_the_addon_manager() -> None:
    ctx = Context()
    manager = AddonManager(ctx, [InventoryBuilder()])
    manager.load()
    manager.observations([obs("ssdp", "notify", {"server": "Linux UPnP/1.0 Sonos/70.3"})])
    manager.flows([flow("10.0.0.5", "10.0.0.1")])
    manager.done()
    assert ctx.devices[f"mac:{HOST}"].attributes["ssdp.server"] == {"Linux UPnP/1.0 Sonos/70.3"}
    assert not ctx.stats.analyzer_errors


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
field_names = st.sampled_from(sorted({p.split(".")[0] for r in RULES.values()
                                      for p in (*r.attributes, *r.hostnames, *r.ip_fields, r.mac_field or "x")}))


@settings(max_examples=200, deadline=None)
@given(proto=st.sampled_from(sorted(RULES)), kind=st.text(max_size=12) | st.sampled_from(["response", "request",
       "ack", "banner", "identity", "client_hello", "certificate", "connect"]),
       fields=st.dictionaries(field_names, json_values, max_size=6),
       src_mac=st.none() | st.text(max_size=17) | st.just(HOST),
       src_ip=st.none() | st.text(max_size=8) | st.just("10.0.0.5"))
def test_any_field_values_never_crash_the_builder(proto: str, kind: str, fields: dict[str, Any], src_mac: str | None,
                                                   src_ip: str | None) -> None:
    ctx, _ = run(obs(proto, kind, fields, src_mac=src_mac, src_ip=src_ip))
    for dev in ctx.devices.values():
        assert dev.key.startswith(("mac:", "ip:"))
        assert all(len(v) <= MAX_VALUE_LEN for values in dev.attributes.values() for v in values)


def test_ssdp_types_describe_the_advertiser_never_the_searcher() -> None:
    notify = obs("ssdp", "notify", {"nt": "urn:Belkin:device:controllee:1", "usn": "uuid:Socket-1_0"},
                 dst_mac="01:00:5e:7f:ff:fa", dst_ip="239.255.255.250")
    search = obs("ssdp", "msearch", {"st": "urn:dial-multiscreen-org:service:dial:1"}, src_mac=SERVER,
                 src_ip="10.0.0.7", dst_mac="01:00:5e:7f:ff:fa", dst_ip="239.255.255.250")
    answer = obs("ssdp", "response", {"st": "roku:ecp", "usn": "uuid:roku:ecp:1"}, src_mac=GW, src_ip="10.0.0.1",
                 dst_mac=SERVER, dst_ip="10.0.0.7")
    ctx, _ = run(notify, search, answer)
    assert ctx.devices[f"mac:{HOST}"].attributes["ssdp.nt"] == {"urn:Belkin:device:controllee:1"}
    assert "ssdp.st" not in ctx.devices[f"mac:{SERVER}"].attributes  # what it looked for
    assert ctx.devices[f"mac:{GW}"].attributes["ssdp.st"] == {"roku:ecp"}  # what it answered as


def test_a_subnet_broadcast_address_is_not_a_device() -> None:
    ctx, _ = run(flow("10.0.40.20", "10.0.40.255", b_mac="ff:ff:ff:ff:ff:ff"))
    assert list(ctx.devices) == [f"mac:{HOST}"]


def test_bacnet_read_property_answers_name_the_device_not_the_requester() -> None:
    request = obs("bacnet", "read_property", {"apdu_type": "confirmed_request", "property": "model-name"},
                  src_mac=GW, src_ip="10.0.0.1", dst_ip="10.0.0.5")
    answer = obs("bacnet", "read_property", {"apdu_type": "complex_ack", "property": "object-name", "value": "AHU-1"})
    rpm = obs("bacnet", "read_property_multiple", {"apdu_type": "complex_ack",
                                                   "properties": {"model-name": "PXC36", "present-value": 21.5}})
    write = obs("bacnet", "write_property", {"apdu_type": "confirmed_request", "property": "description", "value": "x"},
                src_mac=GW, src_ip="10.0.0.1")
    ctx, _ = run(request, answer, rpm, write)
    assert ctx.devices[f"mac:{HOST}"].attributes == {"bacnet.object_name": {"AHU-1"}, "bacnet.model_name": {"PXC36"}}
    assert not ctx.devices[f"mac:{GW}"].attributes


def test_a_bacnet_message_relayed_for_another_device_describes_that_device_not_the_relay() -> None:
    """A router relaying a message from another BACnet network (an MS/TP trunk's controller) adds the source
    specifier SNET/SADR naming the original source (ASHRAE 135 §6.2.2), and a BBMD re-broadcasting another
    subnet's broadcast sends it as a Forwarded-NPDU naming the original B/IP address (Annex J.2.9): either way the
    IP sender is the relay. An elevator's or fire panel's I-Am or ReadProperty answer so relayed gives the relay
    none of its vendor id or names (the vendor id alone types elevator controllers and fire panels,
    kb/rules/ot.yaml), while the relay's own I-Am does."""
    relayed_i_am = obs("bacnet", "i_am", {"apdu_type": "unconfirmed_request", "snet": 5, "sadr": "0c",
                                          "device_instance": 5012, "vendor_id": 902})
    relayed_answer = obs("bacnet", "read_property", {"apdu_type": "complex_ack", "snet": 5, "sadr": "0c",
                                                     "property": "model-name", "value": "LCB-II"})
    forwarded_i_am = obs("bacnet", "i_am", {"bvlc_function": "forwarded_npdu", "forwarded_from": "10.9.0.7:47808",
                                            "apdu_type": "unconfirmed_request", "device_instance": 7,
                                            "vendor_id": 34})
    own_i_am = obs("bacnet", "i_am", {"apdu_type": "unconfirmed_request", "device_instance": 1, "vendor_id": 24})
    own_forwarded = obs("bacnet", "i_am", {"bvlc_function": "forwarded_npdu", "forwarded_from": "10.0.0.5:47808",
                                           "apdu_type": "unconfirmed_request", "device_instance": 1, "vendor_id": 24})
    ctx, _ = run(relayed_i_am, relayed_answer, forwarded_i_am)
    assert not ctx.devices[f"mac:{HOST}"].attributes
    for own in (own_i_am, own_forwarded):  # a BBMD forwarding its own broadcast names itself (Annex J.4.5)
        ctx, _ = run(relayed_i_am, relayed_answer, forwarded_i_am, own)
        assert ctx.devices[f"mac:{HOST}"].attributes == {"bacnet.vendor_id": {"24"}, "bacnet.device_instance": {"1"}}


def test_s7_module_identification_names_the_plc() -> None:
    szl = obs("s7comm", "userdata", {"order_number": "6ES7 315-2EH14-0AB0", "plc_name": "PLC-Line1",
                                     "firmware_version": "V3.2.6"})
    ctx, _ = run(szl)
    plc = ctx.devices[f"mac:{HOST}"]
    assert plc.attributes["s7comm.module_order_number"] == {"6ES7 315-2EH14-0AB0"}
    assert plc.hostnames == {"PLC-Line1"}


def test_a_responder_that_never_answered_is_no_device() -> None:
    ctx = Context()
    inv = InventoryBuilder()
    scan = [Flow(vlan=None, ip_proto=6, a_ip="10.0.0.5", a_port=40000 + i, b_ip=f"10.0.{i}.9", b_port=23,
                 first_seen=float(i), last_seen=float(i), a_mac="02:00:00:00:00:05", b_mac=None, pkts_ab=1, pkts_ba=0,
                 bytes_ab=60, bytes_ba=0) for i in range(1, 50)]
    answered = Flow(vlan=None, ip_proto=6, a_ip="10.0.0.5", a_port=40100, b_ip="10.0.7.7", b_port=23,
                    first_seen=60.0, last_seen=61.0, a_mac="02:00:00:00:00:05", b_mac=None, pkts_ab=2, pkts_ba=1,
                    bytes_ab=120, bytes_ba=60)
    for f in [*scan, answered]:
        inv.on_flow(ctx, f)
    assert set(ctx.devices) == {"mac:02:00:00:00:00:05", "ip:10.0.7.7"}  # the RST-answering host exists
    assert ctx.devices["mac:02:00:00:00:00:05"].packets == 49 + 3  # its own count keeps every flow
