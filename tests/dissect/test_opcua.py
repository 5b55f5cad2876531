"""OPC UA binary dissector: UACP messages built from OPC 10000-6, the services and descriptions of a channel
without security, writes marked (model/otops.py), the ics_iti capture as tshark's opcua dissector decodes it
(on tcp/12001, found by the Hello probe), chunk limits and hostile input."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.base import Packet
from iotwarden.dissect.opcua import CHUNK_HEAD, MAX_CHUNK_KEPT, MAX_OPEN_MESSAGES, OpcuaDissector
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from iotwarden.model.otops import operation_of
from tests.conftest import shared
from tests.dissect.hostile import TCPDUMP_CAPTURES, feed_capture_any_port, feed_chunks
from tests.dissect.ot_captures import contract, run, sweep_captures, sweep_id
from tests.dissect.uabuild import (
    NONE_POLICY,
    application,
    chunk,
    endpoint,
    hello,
    msg,
    node,
    open_request,
    opn,
    request_header,
    response_header,
    ua_string,
)
from tests.pcaputil import iter_packets

CAPTURE = ("pcaps", "ics_iti", "pcaps", "OPC", "opc-ua-ap-method-wireshark-freeze.pcap")
S7_1500 = application(b"urn:SIMATIC.S7-1500.OPC-UA.Application:PLC_1", b"https://www.siemens.com/s7-1500",
                      b"SIMATIC.S7-1500.OPC-UA.Application:PLC_1")
BASIC256 = b"http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256"


def session(*messages: tuple[bool, bytes]) -> list[Observation]:
    """A channel opened with policy None, then ``messages`` (to_server, bytes)."""
    return feed_chunks(OpcuaDissector(), [(True, hello()), (True, open_request()), *messages])[2:]


def test_hello_acknowledge_and_error() -> None:
    ack = chunk(b"ACK", struct.pack("<IIIII", 0, 8192, 8192, 0, 0))
    err = chunk(b"ERR", struct.pack("<I", 0x80070000) + ua_string(b"bad body"))
    h, a, e = feed_chunks(OpcuaDissector(), [(True, hello()), (False, ack), (False, err)])
    assert (h.kind, h.fields["endpoint_url"], h.fields["receive_buffer_size"]) == (
        "hello", "opc.tcp://plc1:4840", 65535)
    assert (a.kind, a.fields["receive_buffer_size"], a.src_ip) == ("acknowledge", 8192, "10.0.0.2")
    assert (e.kind, e.fields["error"], e.fields["reason"]) == ("error", "BadDecodingError", "bad body")


def test_open_secure_channel_without_security_is_read() -> None:
    [obs] = feed_chunks(OpcuaDissector(), [(True, open_request())])
    f = obs.fields
    assert (obs.kind, f["security_policy"], f["secured"], f["service"], f["security_mode"], f["request_type"]) == (
        "open_secure_channel", "None", False, "OpenSecureChannelRequest", "none", "issue")


def test_get_endpoints_response_names_the_server_product() -> None:
    body = response_header() + struct.pack("<i", 2) + endpoint(S7_1500, 1, NONE_POLICY) \
        + endpoint(S7_1500, 3, BASIC256, token=1)
    [obs] = session((False, msg(431, body)))
    f = obs.fields
    assert (f["service"], f["is_request"], f["service_result"], f["security"]) == (
        "GetEndpointsResponse", False, 0, "none")
    assert f["application_uri"] == "urn:SIMATIC.S7-1500.OPC-UA.Application:PLC_1"
    assert (f["product_uri"], f["application_name"], f["application_type"]) == (
        "https://www.siemens.com/s7-1500", "SIMATIC.S7-1500.OPC-UA.Application:PLC_1", "server")
    assert f["security_policies"] == ["None", "Basic256Sha256"] and f["security_modes"] == ["none", "sign_and_encrypt"]
    assert f["user_token_types"] == ["anonymous", "username"] and f["endpoint_urls"] == ["opc.tcp://plc1:4840"]


def test_a_client_describes_itself_under_client_names() -> None:
    body = (request_header() + application(b"urn:host:UnifiedAutomation:UaExpert", b"urn:UnifiedAutomation:UaExpert",
                                           b"UaExpert", 1)
            + ua_string(b"urn:plc") + ua_string(b"opc.tcp://plc1:4840") + ua_string(b"s1") + ua_string(None) * 2
            + struct.pack("<dI", 60000.0, 0))
    [obs] = session((True, msg(461, body)))
    f = obs.fields
    assert (f["client_product_uri"], f["client_application_name"], f["client_application_type"]) == (
        "urn:UnifiedAutomation:UaExpert", "UaExpert", "client")
    assert "product_uri" not in f and f["session_name"] == "s1" and f["endpoint_url"] == "opc.tcp://plc1:4840"


def test_a_write_is_marked_and_a_call_is_not() -> None:
    write = request_header() + struct.pack("<i", 2) + b"\x03" + struct.pack("<H", 2) + ua_string(b"Tank.Setpoint") \
        + struct.pack("<I", 13)
    call = request_header() + struct.pack("<i", 1) + node(85) + node(11492)
    w, c = session((True, msg(673, write)), (True, msg(712, call, request_id=3)))
    assert operation_of(w.fields) == ("write", "write")
    assert (w.fields["write_count"], w.fields["node"], w.fields["attribute_id"]) == (2, "ns=2;s=Tank.Setpoint", 13)
    assert operation_of(c.fields) is None
    assert (c.fields["service"], c.fields["method_count"], c.fields["object_id"], c.fields["method_id"]) == (
        "CallRequest", 1, "i=85", "i=11492")
    assert OpcuaDissector.ot_operations


def test_activate_session_says_the_token_type_never_the_user() -> None:
    token = struct.pack("<BBH", 0x01, 0, 324) + b"\x01" + ua_string(ua_string(b"p") + ua_string(b"operator"))
    body = request_header() + ua_string(None) + ua_string(None) + struct.pack("<ii", 0, 0) + token
    [obs] = session((True, msg(467, body)))
    assert obs.fields["user_token_type"] == "username" and "operator" not in repr(obs.fields)


def test_a_secured_channel_hides_its_services() -> None:
    opened = opn(b"\x8f" * 64, policy=BASIC256)
    o, m = feed_chunks(OpcuaDissector(), [(True, opened), (True, msg(673, b"\x8f" * 40))])
    assert (o.fields["security_policy"], o.fields["secured"], "service" in o.fields) == ("Basic256Sha256", True, False)
    assert m.fields["security"] == "secured" and "service" not in m.fields and "ot_operation" not in m.fields
    [unknown] = feed_chunks(OpcuaDissector(), [(True, msg(673, request_header()))])  # its opening not seen
    assert unknown.fields["security"] == "unknown" and "service" not in unknown.fields


def test_intermediate_chunks_continue_one_message() -> None:
    first = msg(631, request_header() + bytes(20), request_id=9, chunk_type=b"C")
    rest = chunk(b"MSG", struct.pack("<IIII", 5, 1, 3, 9) + bytes(30))
    out = session((True, first), (True, rest), (True, msg(631, request_header(), request_id=10)))
    assert [(o.fields["request_id"], o.fields.get("service")) for o in out] == [(9, "ReadRequest"), (10, "ReadRequest")]


def test_open_messages_are_bounded() -> None:
    d, state = OpcuaDissector(), cast(dict[str, Any], {"policy": "x"})
    pkt = Packet(ts=0.0, payload=b"", ip_proto=6, to_server=True)
    for request_id in range(MAX_OPEN_MESSAGES + 5):
        d.feed(pkt, msg(631, b"", request_id=request_id, chunk_type=b"C"), state)
    assert len(state["open_buf_c2s"]) == MAX_OPEN_MESSAGES


def test_a_chunk_over_the_buffer_limit_is_read_by_its_head_and_skipped() -> None:
    body = response_header() + struct.pack("<i", 1) + endpoint(S7_1500, 1, NONE_POLICY)
    big = msg(431, body + bytes(MAX_CHUNK_KEPT))
    out = session((False, big[:CHUNK_HEAD + 100]), (False, big[CHUNK_HEAD + 100:]),
                  (False, msg(829, response_header())))
    assert [o.fields["service"] for o in out] == ["GetEndpointsResponse", "PublishResponse"]
    assert out[0].fields["application_uri"] == "urn:SIMATIC.S7-1500.OPC-UA.Application:PLC_1"


def test_framing_errors_resync_on_the_next_segment() -> None:
    d, state = OpcuaDissector(), cast(dict[str, Any], {})
    pkt = Packet(ts=0.0, payload=b"", ip_proto=6, to_server=True)
    with pytest.raises(ParseError, match="chunk header"):
        d.feed(pkt, b"GET / HTTP/1.1\r\n\r\n", state)
    assert d.feed(pkt, hello(), state)[0].kind == "hello"
    d.gap(state, True)
    assert state.get("buf_c2s") is None


def test_probe_wants_a_whole_hello_header_with_an_opc_tcp_url() -> None:
    d = OpcuaDissector()
    assert d.probe(hello(), True) and d.probe(hello()[:42], True)
    assert not d.probe(hello(b"http://plc1:4840"), True)
    assert not d.probe(hello(receive=1024), True)  # Part 6 §7.1.2.3: buffers of at least 8192 bytes
    assert not d.probe(hello()[:4] + struct.pack("<I", 60) + hello()[8:], True)  # size and URL length disagree
    assert not d.probe(b"HELO smtp.example.org\r\n" + bytes(40), True)


def test_the_ics_iti_stack_test_server() -> None:
    """tshark -d tcp.port==12001,opcua: two sessions of an Achilles test client against the OPC Foundation
    ANSI C stack test server; each HEL names opc.tcp://vm-xp-steven:12001/UA/StackTestServer, policy None,
    GetEndpoints answered with 5 endpoints, a malformed CallRequest answered with ERR."""
    d = OpcuaDissector()
    states: dict[int, dict[str, Any]] = {}
    seen: set[tuple[object, ...]] = set()
    obs: list[Observation] = []
    for pkt in iter_packets(shared(*CAPTURE)):
        segment = (pkt.src_port, pkt.tcp_seq, len(pkt.payload))
        if pkt.ip_proto != 6 or not pkt.payload or segment in seen:
            continue
        seen.add(segment)
        pkt.to_server = pkt.dst_port == 12001
        state = states.setdefault((pkt.src_port if pkt.to_server else pkt.dst_port) or 0, {})
        if not state:
            assert d.probe(pkt.payload, True)
        obs += d.feed(pkt, pkt.payload, state)
    hellos = [o for o in obs if o.kind == "hello"]
    assert [o.fields["endpoint_url"] for o in hellos] == ["opc.tcp://vm-xp-steven:12001/UA/StackTestServer"] * 2
    assert {o.fields["security_policy"] for o in obs if o.kind == "open_secure_channel"} == {"None"}
    services = [o.fields["service"] for o in obs if o.kind == "message"]
    assert services == ["GetEndpointsRequest", "GetEndpointsResponse", "CreateSessionRequest", "CreateSessionResponse",
                        "ActivateSessionRequest", "ActivateSessionResponse", "CallRequest"] * 2
    answer = next(o for o in obs if o.fields.get("service") == "GetEndpointsResponse")
    assert answer.src_ip == "192.168.41.212" and answer.src_mac == "00:0c:29:a0:86:e6"
    assert answer.fields["application_uri"] == "http://vm-xp-steven/UA StackTest Server (AnsiC/2048)"
    assert answer.fields["application_name"] == "UA StackTest Server (AnsiC/2048)"
    assert "product_uri" not in answer.fields
    assert answer.fields["security_policies"] == ["None", "Basic128Rsa15", "Basic256"]
    client = next(o for o in obs if o.fields.get("service") == "CreateSessionRequest")
    assert client.fields["client_product_uri"] == "urn:opcfoundation.org/UA/ServerTest"
    assert [o.fields["error"] for o in obs if o.kind == "error"] == ["BadInternalError", "BadDecodingError"]
    calls = [o for o in obs if o.fields.get("service") == "CallRequest"]
    # tshark: both malformed, the first's MethodId (namespace 32767) runs past the chunk, the second's NodeId
    # encoding 0x07 is unknown
    assert [c.fields.get("truncated", False) for c in calls] == [True, True]
    assert calls[1].fields["object_id"] == "i=342" and not any(operation_of(o.fields) for o in obs)


def test_the_capture_through_the_dispatcher_names_opcua() -> None:
    obs, errors = run(OpcuaDissector(), shared(*CAPTURE))
    assert obs == [] and not errors  # run() dispatches by port: 12001 is found by the engine's probe only


@pytest.mark.parametrize("path", sweep_captures(), ids=sweep_id)
def test_every_capture_yields_observations_or_counted_errors(path: Path) -> None:
    obs, _ = run(OpcuaDissector(), path)
    assert all(o.proto == "opcua" for o in obs)


@pytest.mark.parametrize("name", TCPDUMP_CAPTURES)
def test_tcpdump_captures_on_any_port_keep_the_contract(name: str) -> None:
    feed_capture_any_port(OpcuaDissector(), shared("pcaps", "tcpdump_tests", name))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_fuzz_contract(payload: bytes, to_server: bool) -> None:
    contract(OpcuaDissector(), payload, to_server=to_server, port=4840)
    contract(OpcuaDissector(), b"MSGF" + payload, to_server=to_server, port=4840)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([397, 425, 428, 431, 449, 461, 464, 467, 673, 712, 631]))
def test_fuzz_service_bodies_on_a_none_channel(body: bytes, service: int) -> None:
    state: dict[str, Any] = {"policy": "http://opcfoundation.org/UA/SecurityPolicy#None"}
    contract(OpcuaDissector(), msg(service, body), port=4840, state=state)
    contract(OpcuaDissector(), opn(node(service) + body), port=4840)
    contract(OpcuaDissector(), msg(service, request_header() + body), port=4840, state=state)
