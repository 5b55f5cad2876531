"""Connection-oriented DCE/RPC: binds, acknowledgements, calls and answers built by hand from C706 §12.6, both
byte orders, fragments, the roles the first PDU proves, and the real ICS capture mb2.pcap."""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.base import CONFIRMED_STATE_KEY, FLIP_STATE_KEY, Packet
from iotwarden.dissect.dcerpc import MAX_CALLS, DcerpcDissector, header
from iotwarden.engine.core import Engine
from iotwarden.model import Flow, Observation
from iotwarden.sources.capfile import read_capture
from tests.conftest import SHARED_DATA
from tests.dissect.dcerpc_pdus import (
    DRSUAPI,
    EPM,
    SVCCTL,
    WBEM_SERVICES,
    bind,
    bind_ack,
    fault,
    pdu,
    request,
    response,
)
from tests.dissect.hostile import TCPDUMP_CAPTURES, TCPDUMP_DIR, feed_capture_any_port, feed_chunks, mutate

MB2 = SHARED_DATA / "pcaps" / "ics_iti" / "pcaps" / "ModbusTCP" / "mb2.pcap"


def _feed(chunks: list[tuple[bool, bytes]], state: dict[str, Any] | None = None) -> list[Observation]:
    state = {} if state is None else state
    d = DcerpcDissector()
    out: list[Observation] = []
    for to_server, data in chunks:
        src, dst = ("10.0.0.1", 50000), ("10.0.0.2", 135)
        if not to_server:
            src, dst = dst, src
        pkt = Packet(ts=1.0, payload=data, src_ip=src[0], src_port=src[1], dst_ip=dst[0], dst_port=dst[1],
                     ip_proto=6, to_server=to_server)
        out += d.feed(pkt, data, state)
    return out


def _session(order: str = "<") -> list[tuple[bool, bytes]]:
    """A psexec-like session: bind svcctl, accepted on \\PIPE\\svcctl, OpenSCManagerW, CreateServiceW,
    StartServiceW, each answered."""
    return [(True, bind([(0, SVCCTL, 2)], order=order)), (False, bind_ack("\\PIPE\\svcctl", [0], order=order)),
            (True, request(0, 15, call_id=2, order=order)), (False, response(0, call_id=2, order=order)),
            (True, request(0, 12, call_id=3, order=order)), (False, response(0, call_id=3, order=order)),
            (True, request(0, 19, call_id=4, order=order)), (False, fault(0, 0x5, call_id=4, order=order))]


@pytest.mark.parametrize("order", ["<", ">"])
def test_a_bind_its_ack_and_named_calls_in_either_byte_order(order: str) -> None:
    out = _feed(_session(order))
    kinds = [(o.kind, o.src_ip, o.fields.get("operation")) for o in out]
    assert kinds == [("bind", "10.0.0.1", None), ("bind_ack", "10.0.0.2", None),
                     ("request", "10.0.0.1", "OpenSCManagerW"), ("response", "10.0.0.2", "OpenSCManagerW"),
                     ("request", "10.0.0.1", "CreateServiceW"), ("response", "10.0.0.2", "CreateServiceW"),
                     ("request", "10.0.0.1", "StartServiceW"), ("fault", "10.0.0.2", "StartServiceW")]
    b, ack, create, fail = out[0], out[1], out[4], out[7]
    assert b.fields["requested_interfaces"] == ["svcctl"]
    assert b.fields["contexts"] == [{"context_id": 0, "uuid": SVCCTL, "version": "2.0", "interface": "svcctl"}]
    assert b.fields["byte_order"] == ("little" if order == "<" else "big")
    assert ack.fields["accepted_interfaces"] == ["svcctl"]
    assert ack.fields["secondary_address"] == "\\PIPE\\svcctl"
    assert ack.fields["results"] == ["acceptance"]
    assert (create.fields["interface"], create.fields["opnum"], create.fields["fragments"]) == ("svcctl", 12, 1)
    assert fail.fields["status"] == 5  # ERROR_ACCESS_DENIED


def test_a_rejected_context_is_not_accepted_and_its_calls_name_no_interface() -> None:
    out = _feed([(True, bind([(0, SVCCTL, 2), (1, DRSUAPI, 4)])),
                 (False, bind_ack("49667", [2, 0])),  # svcctl: provider rejection; drsuapi accepted
                 (True, request(0, 12, call_id=5)), (True, request(1, 3, call_id=6))])
    assert out[0].fields["requested_interfaces"] == ["svcctl", "drsuapi"]
    assert out[1].fields["accepted_interfaces"] == ["drsuapi"]
    assert out[1].fields["results"] == ["provider_rejection", "acceptance"]
    assert [(o.fields["interface"], o.fields["operation"]) for o in out[2:]] == [(None, None),
                                                                                ("drsuapi", "DRSGetNCChanges")]


def test_over_tcp_a_call_whose_bind_was_not_captured_names_no_interface() -> None:
    """No pipe names the interface on tcp/135 or a dynamic port: nothing is inferred (dcerpcifaces.PIPES serves SMB)."""
    out = _feed(_session()[2:])
    assert [(o.kind, o.fields["opnum"] if o.kind == "request" else o.fields["status"], o.fields["interface"],
             o.fields["operation"]) for o in out] == [
        ("request", 15, None, None), ("request", 12, None, None), ("request", 19, None, None), ("fault", 5, None, None)]
    assert not [o for o in out if "interface_inferred" in o.fields]


def test_alter_context_adds_an_interface_to_the_association() -> None:
    out = _feed([(True, bind([(0, EPM, 3)])), (False, bind_ack("135", [0])),
                 (True, bind([(1, WBEM_SERVICES, 0)], call_id=2, ptype=14)),
                 (False, bind_ack("", [0], call_id=2, ptype=15)), (True, request(1, 24, call_id=3))])
    assert [o.kind for o in out] == ["bind", "bind_ack", "alter_context", "alter_context_resp", "request"]
    assert out[3].fields["accepted_interfaces"] == ["IWbemServices"]
    assert out[3].fields["secondary_address"] is None
    assert out[4].fields["operation"] == "ExecMethod"


def test_an_unknown_interface_is_named_by_its_uuid() -> None:
    out = _feed([(True, bind([(0, "01234567-89ab-cdef-0123-456789abcdef", 1)]))])
    assert out[0].fields["requested_interfaces"] == ["01234567-89ab-cdef-0123-456789abcdef"]


def test_a_bind_nak_reports_its_reason() -> None:
    out = _feed([(True, bind([(0, SVCCTL, 2)])), (False, pdu(13, struct.pack("<HB", 4, 0)))])
    assert (out[1].kind, out[1].fields["reason"]) == ("bind_nak", 4)  # protocol_version_not_supported


def test_a_fragmented_request_is_one_call_with_its_fragments_counted() -> None:
    frags = [request(0, 12, b"A" * 100, call_id=9, flags=0x01), request(0, 12, b"B" * 100, call_id=9, flags=0x00),
             request(0, 12, b"C" * 30, call_id=9, flags=0x02)]
    out = _feed([(True, bind([(0, SVCCTL, 2)])), (False, bind_ack("\\PIPE\\svcctl", [0])),
                 *((True, f) for f in frags)])
    assert [o.kind for o in out] == ["bind", "bind_ack", "request"]
    assert (out[2].fields["fragments"], out[2].fields["stub_bytes"], out[2].fields["operation"]) == (3, 230,
                                                                                                    "CreateServiceW")


def test_pdus_cut_anywhere_across_segments_read_the_same() -> None:
    whole = b"".join(data for to_server, data in _session() if to_server)
    answers = b"".join(data for to_server, data in _session() if not to_server)
    expected = [(o.kind, o.fields.get("operation")) for o in _feed([(True, whole), (False, answers)])]
    for size in (1, 3, 7, 50):
        chunks = [(True, whole[i:i + size]) for i in range(0, len(whole), size)]
        chunks += [(False, answers[i:i + size]) for i in range(0, len(answers), size)]
        got = _feed(chunks)
        assert sorted((o.kind, o.fields.get("operation")) for o in got) == sorted(expected)


def test_a_request_object_uuid_is_skipped_and_the_call_counted() -> None:
    out = _feed([(True, request(1, 3, b"x" * 20, object_uuid="00007408-0770-0000-e5ff-f4aca54e51bc"))])
    assert (out[0].fields["opnum"], out[0].fields["stub_bytes"], out[0].fields["interface"]) == (3, 20, None)


def test_unnamed_calls_are_reported_once_per_opnum_and_calls_are_bounded() -> None:
    state: dict[str, Any] = {}
    out = _feed([(True, request(0, 7, call_id=i)) for i in range(10)], state)
    assert len(out) == 1
    named = _feed([(True, bind([(0, SVCCTL, 2)])), (False, bind_ack("x", [0])),
                   *((True, request(0, 12, call_id=10 + i)) for i in range(MAX_CALLS + 10))])
    assert len([o for o in named if o.kind == "request"]) == MAX_CALLS


def test_the_first_pdu_proves_the_roles() -> None:
    state: dict[str, Any] = {}
    _feed([(False, request(0, 3))], state)  # a request from the end the engine took for the server
    assert state.get(FLIP_STATE_KEY) and state.get(CONFIRMED_STATE_KEY)
    state = {}
    _feed([(False, response(0))], state)  # an answer from the server: the engine had it right
    assert not state.get(FLIP_STATE_KEY)
    state = {}
    _feed([(True, response(0))], state)  # joined mid-call: the answer travels to the end taken for the server
    assert state.get(FLIP_STATE_KEY)


def test_the_probe_takes_strict_headers_only() -> None:
    d = DcerpcDissector()
    good = bind([(0, SVCCTL, 2)])
    assert d.probe(good, True) and d.probe(good[:20], True) and d.probe(good + good[:1], True)
    assert not d.probe(good + b"GET", True)  # another PDU must follow a whole one
    bad_version = bytes([4]) + good[1:]
    bad_type = good[:2] + bytes([1]) + good[3:]  # ping: connectionless only
    bad_drep = good[:6] + b"\x01" + good[7:]
    short = good[:8] + struct.pack("<H", 20) + good[10:]  # frag_length below a bind's fixed fields
    for payload in (bad_version, bad_type, bad_drep, short, b"GET / HTTP/1.1\r\n", b"\x16\x03\x01\x02\x00" * 4, b""):
        assert not d.probe(payload, True)
    assert header(good) is not None and header(short) is None


def test_random_tcp_payloads_are_not_dcerpc() -> None:
    rng = __import__("random").Random(7)
    d = DcerpcDissector()
    hits = sum(d.probe(bytes(rng.getrandbits(8) for _ in range(64)), True) for _ in range(20000))
    assert hits == 0


def test_a_malformed_header_mid_flow_ends_the_flow_with_a_parse_error() -> None:
    from iotwarden.errors import ParseError

    d, state = DcerpcDissector(), dict[str, Any]()
    pkt = Packet(ts=1.0, payload=b"", to_server=True)
    d.feed(pkt, bind([(0, SVCCTL, 2)]), state)
    with pytest.raises(ParseError):
        d.feed(pkt, b"\x05\x00\x00\x03junkjunkjunkjunk", state)
    assert state["done"]


@pytest.mark.skipif(not MB2.is_file(), reason="shared ICS captures not present")
def test_mb2_dcom_flows_are_oriented_client_to_server() -> None:
    """mb2.pcap (ics_iti): DCOM calls between Windows hosts joined mid-session, no bind but on tcp/135. The
    request's sender is the client: 141.81.0.183:1080 -> 141.81.0.10:49188, which ports alone made backwards
    (1080 names SOCKS); tshark -Y dcerpc lists the same requests (opnum 3) and the IObjectExporter
    (IOXIDResolver) bind."""
    engine, obs, flows = Engine(), [], []
    for batch in read_capture(Path(MB2)):
        res = engine.process(batch)
        obs += res.observations
        flows += res.flows
    res = engine.flush()
    obs, flows = obs + res.observations, flows + res.flows
    flow: list[Flow] = [f for f in flows if {f.a_port, f.b_port} == {1080, 49188}]
    assert [(f.a_ip, f.a_port, f.b_ip, f.b_port, f.app) for f in flow] == [
        ("141.81.0.183", 1080, "141.81.0.10", 49188, "dcerpc")]
    rpc = [o for o in obs if o.proto == "dcerpc"]
    binds = [(o.kind, o.src_ip, o.fields.get("requested_interfaces"), o.fields.get("accepted_interfaces"))
             for o in rpc if o.kind in ("bind", "bind_ack")]
    assert binds == [("bind", "141.81.0.187", ["IObjectExporter"], None),
                     ("bind_ack", "141.81.0.10", None, ["IObjectExporter"])]
    assert all(o.fields["opnum"] == 3 for o in rpc if o.kind == "request" and o.dst_port == 49188)
    for f in flows:
        if f.app == "dcerpc":  # every request went from a to b
            clients = {(o.src_ip, o.src_port) for o in rpc if o.kind == "request"
                       and {(o.src_ip, o.src_port), (o.dst_ip, o.dst_port)} == {(f.a_ip, f.a_port), (f.b_ip, f.b_port)}}
            assert clients <= {(f.a_ip, f.a_port)}


@pytest.mark.parametrize("name", TCPDUMP_CAPTURES)
def test_tcpdump_captures_on_any_port_keep_the_contract(name: str) -> None:
    feed_capture_any_port(DcerpcDissector(), TCPDUMP_DIR / name)


@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=200)), max_size=6))
def test_fuzz_random_bytes(chunks: list[tuple[bool, bytes]]) -> None:
    feed_chunks(DcerpcDissector(), chunks)


@settings(max_examples=int(os.environ.get("IOTWARDEN_FUZZ_EXAMPLES", "300")))
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8), st.integers(0, 400),
       st.sampled_from(["<", ">"]))
def test_fuzz_a_session_mutated(edits: list[tuple[int, int]], cut: int, order: str) -> None:
    feed_chunks(DcerpcDissector(), [(d, mutate(data, edits, cut)) for d, data in _session(order)])
