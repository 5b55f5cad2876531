"""Kerberos dissector: a Windows computer logon (as the lab lays it out, checked against tshark's own
decoder), TCP records split over segments, UDP datagrams, limits, the contract on hostile input."""

from __future__ import annotations

import contextlib
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.base import Packet
from iotwarden.dissect.kerberos import MAX_MESSAGES, MAX_RECORD, KerberosDissector, login_fields, parse_message
from iotwarden.errors import ParseError
from iotwarden.lab import proto_dir
from iotwarden.lab.generator import generate, load_scenario
from tests.conftest import shared
from tests.dissect.hostile import TCPDUMP_CAPTURES, feed_capture_any_port, feed_chunks, mutate
from tests.pcaputil import run_dissector

SCENARIOS = Path(__file__).resolve().parents[2] / "src" / "iotwarden" / "lab" / "scenarios"
D = KerberosDissector()
RNG = random.Random(5)
AS_REQ = proto_dir.as_req(RNG, "CORP.EXAMPLE", "WS-FIN-01$", "WS-FIN-01", preauth=True)
TGS_REQ = proto_dir.tgs_req(RNG, "CORP.EXAMPLE", "WS-FIN-01$", "cifs", "FS01.corp.example")
TGS_REP = proto_dir.kdc_rep(RNG, 13, "CORP.EXAMPLE", "WS-FIN-01$", "cifs", "FS01.corp.example")


@pytest.fixture(scope="module")
def logon(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("krb") / "small.pcap"
    generate(load_scenario(SCENARIOS / "small.yaml"), path, duration=20)
    return path


def test_a_computer_logon_names_the_realm_the_account_and_the_services(logon: Path) -> None:
    everything = run_dissector(D, logon)
    obs = [o for o in everything if o.kind != "login_attempt"]
    assert [o.kind for o in obs[:6]] == ["as_req", "error", "as_req", "as_rep", "tgs_req", "tgs_rep"]
    login = everything[4]  # the pre-authenticated request's TGT: a successful logon, about the KDC
    assert (login.kind, login.src_ip, login.dst_ip, login.subject, login.fields) == (
        "login_attempt", obs[2].src_ip, "10.20.0.10", "dst",
        {"username": "WS-FIN-01$", "realm": "CORP.EXAMPLE", "result": "success"})
    first, error, _, reply, request, ticket = (o.fields for o in obs[:6])
    assert (first["realm"], first["cname"], first["sname"]) == ("CORP.EXAMPLE", "WS-FIN-01$", "krbtgt/CORP.EXAMPLE")
    assert first["etypes"] == [18, 17, 23, 24, -135] and first["padata_types"] == [128]
    assert (error["error_code"], error["error_name"]) == (25, "KDC_ERR_PREAUTH_REQUIRED")
    assert reply["cname"] == "WS-FIN-01$" and reply["sname"] == "krbtgt/CORP.EXAMPLE"
    assert request["sname"] == "cifs/DC01.corp.example" and request["padata_types"] == [1]
    assert ticket["sname"] == "cifs/DC01.corp.example" and ticket["crealm"] == "CORP.EXAMPLE"
    assert obs[1].src_ip == "10.20.0.10" and obs[0].dst_port == 88  # the KDC answers, the client asks


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed (apt-get install tshark)")
def test_tshark_reads_the_same_messages(logon: Path) -> None:
    proc = subprocess.run(["tshark", "-n", "-r", str(logon), "-Y", "kerberos", "-T", "fields", "-e",
                           "kerberos.msg_type", "-e", "kerberos.CNameString"], capture_output=True, text=True,
                          timeout=120, check=True)
    theirs = [line.split("\t") for line in proc.stdout.splitlines()]
    ours = [o for o in run_dissector(D, logon) if o.kind != "login_attempt"]
    assert [int(t[0].split(",")[0]) for t in theirs] == [o.fields["msg_type"] for o in ours]
    assert [t[1] for t in theirs] == [o.fields["cname"] or "" for o in ours]


def test_pre_authentication_and_encryption_types_of_each_kind_are_read() -> None:
    bare = parse_message(proto_dir.as_req(RNG, "CORP.EXAMPLE", "svc_backup", None, preauth=False, etypes=(23,)))
    assert bare == ("as_req", {"msg_type": 10, "realm": "CORP.EXAMPLE", "cname": "svc_backup",
                               "sname": "krbtgt/CORP.EXAMPLE", "etypes": [23], "padata_types": [128],
                               "preauth": False})
    assert parse_message(AS_REQ)[1]["preauth"] is True and parse_message(AS_REQ)[1]["padata_types"] == [2, 128]
    assert "preauth" not in parse_message(TGS_REQ)[1]  # a TGS request proves itself with its TGT (PA-TGS-REQ)
    roast = parse_message(proto_dir.tgs_req(RNG, "CORP.EXAMPLE", "jdoe", "MSSQLSvc", "sql01:1433", etypes=(23,)))
    assert (roast[1]["sname"], roast[1]["etypes"]) == ("MSSQLSvc/sql01:1433", [23])
    kind, rep = parse_message(proto_dir.kdc_rep(RNG, 13, "CORP.EXAMPLE", "jdoe", "MSSQLSvc", "sql01:1433",
                                                ticket_etype=23))
    assert (kind, rep["ticket_etype"], rep["enc_etype"]) == ("tgs_rep", 23, 18)
    kind, rep = parse_message(proto_dir.kdc_rep(RNG, 11, "CORP.EXAMPLE", "svc_backup", "krbtgt", "CORP.EXAMPLE",
                                                enc_etype=23))
    assert (kind, rep["ticket_etype"], rep["enc_etype"], rep["cname"]) == ("as_rep", 18, 23, "svc_backup")
    assert not any(isinstance(v, bytes) for v in rep.values())  # no cipher text is kept


@pytest.mark.parametrize(("code", "name"), [(6, "KDC_ERR_C_PRINCIPAL_UNKNOWN"), (18, "KDC_ERR_CLIENT_REVOKED"),
                                            (24, "KDC_ERR_PREAUTH_FAILED"), (25, "KDC_ERR_PREAUTH_REQUIRED"),
                                            (37, "KRB_AP_ERR_SKEW")])
def test_kdc_errors_name_their_code_and_the_client(code: int, name: str) -> None:
    kind, error = parse_message(proto_dir.krb_error(RNG, "CORP.EXAMPLE", "alice", code, 1.7e9))
    assert (kind, error["error_code"], error["error_name"], error["cname"]) == ("error", code, name, "alice")


def test_an_exchange_over_udp_reads_as_over_tcp() -> None:
    request = proto_dir.as_req(RNG, "CORP.EXAMPLE", "alice", None, preauth=True)
    answer = proto_dir.krb_error(RNG, "CORP.EXAMPLE", "alice", 24, 1.7e9)
    state: dict[str, Any] = {}
    udp = [o for m, up in ((request, True), (answer, False))
           for o in D.dissect(Packet(ts=1.0, payload=m, src_ip="10.0.0.9" if up else "10.0.0.1",
                                     dst_ip="10.0.0.1" if up else "10.0.0.9", ip_proto=17,
                                     src_port=50000 if up else 88, dst_port=88 if up else 50000, to_server=up), state)]
    tcp = feed_chunks(KerberosDissector(), [(True, proto_dir.tcp_record(request)),
                                            (False, proto_dir.tcp_record(answer))])
    assert [(o.kind, o.fields) for o in udp] == [(o.kind, o.fields) for o in tcp]
    assert [(o.kind, o.src_ip, o.fields) for o in udp][2] == (
        "login_attempt", "10.0.0.9", {"username": "alice", "realm": "CORP.EXAMPLE", "result": "failure", "code": 24})


def test_only_a_refused_or_granted_pre_authenticated_request_is_a_login_attempt() -> None:
    def kinds(request: bytes | None, answer: bytes) -> list[str]:
        chunks = ([(True, proto_dir.tcp_record(request))] if request else []) + [(False, proto_dir.tcp_record(answer))]
        return [o.kind for o in feed_chunks(KerberosDissector(), chunks)]

    bare = proto_dir.as_req(RNG, "CORP.EXAMPLE", "svc_backup", None, preauth=False)
    granted = proto_dir.kdc_rep(RNG, 11, "CORP.EXAMPLE", "svc_backup", "krbtgt", "CORP.EXAMPLE")
    assert kinds(bare, granted) == ["as_req", "as_rep"]  # no key proved: AS-REP roasting's, not a logon
    granted_ws = proto_dir.kdc_rep(RNG, 11, "CORP.EXAMPLE", "WS-FIN-01$", "krbtgt", "CORP.EXAMPLE")
    assert kinds(AS_REQ, granted_ws) == ["as_req", "as_rep", "login_attempt"]
    # an answer naming another client answers a request not seen (the capture lost it): no logon is made up
    assert kinds(AS_REQ, granted) == ["as_req", "as_rep"]
    assert kinds(AS_REQ, proto_dir.preauth_required(RNG, "CORP.EXAMPLE", "WS-FIN-01$", 1.7e9)) == ["as_req", "error"]
    assert kinds(None, granted) == ["as_rep"]  # the request not seen
    failed = proto_dir.krb_error(RNG, "CORP.EXAMPLE", "alice", 24, 1.7e9)
    assert kinds(None, failed) == ["error", "login_attempt"]  # 24 answers a pre-authenticated request: its cname
    assert login_fields("error", {"error_code": 24}, None) is None  # no name to count
    revoked = proto_dir.krb_error(RNG, "CORP.EXAMPLE", "alice", 18, 1.7e9)
    revoked_ws = proto_dir.krb_error(RNG, "CORP.EXAMPLE", "ws-fin-01$", 18, 1.7e9)  # the KDC's case
    assert kinds(AS_REQ, revoked_ws) == ["as_req", "error", "login_attempt"]  # a locked-out account's logon
    revoked_bare = proto_dir.krb_error(RNG, "CORP.EXAMPLE", "svc_backup", 18, 1.7e9)
    assert kinds(bare, revoked_bare) == ["as_req", "error"]  # kerbrute userenum's "exists, locked": no logon tried
    # the request not seen: an attempt whose pre-authentication detect.bruteforce must see shown elsewhere
    assert kinds(None, revoked) == ["error", "login_attempt"]
    (attempt,) = [o for o in feed_chunks(KerberosDissector(), [(True, proto_dir.tcp_record(AS_REQ)),
                                                               (False, proto_dir.tcp_record(revoked_ws))])
                  if o.kind == "login_attempt"]
    assert (attempt.fields["result"], attempt.fields["code"], attempt.fields["preauth_proved"]) == ("revoked", 18, True)
    (unseen,) = [o for o in feed_chunks(KerberosDissector(), [(False, proto_dir.tcp_record(revoked))])
                 if o.kind == "login_attempt"]
    assert (unseen.fields["result"], unseen.fields["preauth_proved"], unseen.fields["username"]) == (
        "revoked", False, "alice")


def test_tcp_records_split_over_segments_and_several_in_one() -> None:
    record = proto_dir.tcp_record(AS_REQ)
    cut = len(record) // 3
    obs = feed_chunks(KerberosDissector(), [(True, record[:cut]), (True, record[cut:] + proto_dir.tcp_record(TGS_REQ))])
    assert [o.kind for o in obs] == ["as_req", "tgs_req"]


def test_a_udp_datagram_is_one_message() -> None:
    pkt = Packet(ts=1.0, payload=TGS_REP, src_ip="10.0.0.2", dst_ip="10.0.0.1", ip_proto=17, src_port=88,
                 dst_port=50000, to_server=False)
    (obs,) = D.dissect(pkt, {})
    assert obs.kind == "tgs_rep" and obs.fields["realm"] == "CORP.EXAMPLE"


def test_other_asn1_and_other_versions_are_refused() -> None:
    with pytest.raises(ParseError, match="not a KDC message"):
        parse_message(b"\x30\x03\x02\x01\x05")
    pvno4 = AS_REQ.replace(b"\xa1\x03\x02\x01\x05", b"\xa1\x03\x02\x01\x04", 1)
    with pytest.raises(ParseError, match="pvno 5"):
        parse_message(pvno4)


def test_record_length_over_the_limit_ends_the_flow() -> None:
    state: dict[str, Any] = {}
    with pytest.raises(ParseError, match="length"):
        D.feed(Packet(ts=0.0, payload=b"", ip_proto=6), (MAX_RECORD + 1).to_bytes(4, "big") + b"\x6a", state)
    assert state["done"]


def test_records_filling_a_super_packet_are_all_read() -> None:
    """A 64 KiB GRO/TSO delivery of complete records is over the one-record buffer bound, and fine."""
    record = proto_dir.tcp_record(AS_REQ)
    delivery = record * (MAX_RECORD // len(record) + 2)
    assert len(delivery) > KerberosDissector.max_buffer
    obs = feed_chunks(KerberosDissector(), [(True, delivery)])
    assert len(obs) == MAX_MESSAGES and {o.kind for o in obs} == {"as_req"}


def test_observations_per_flow_are_bounded() -> None:
    obs = feed_chunks(KerberosDissector(), [(True, proto_dir.tcp_record(AS_REQ) * (MAX_MESSAGES + 5))])
    assert len(obs) == MAX_MESSAGES


def test_probe() -> None:
    assert D.probe(proto_dir.tcp_record(AS_REQ), True)
    assert not D.probe(proto_dir.tcp_record(AS_REQ), False)
    assert not D.probe(b"\x00\x00\x00\x10GET / HTTP/1.1\r\n", True)


@pytest.mark.parametrize("name", TCPDUMP_CAPTURES)
def test_tcpdump_captures_on_any_port_keep_the_contract(name: str) -> None:
    feed_capture_any_port(KerberosDissector(), shared("pcaps", "tcpdump_tests", name))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=200)), max_size=6))
def test_fuzz_random_bytes(chunks: list[tuple[bool, bytes]]) -> None:
    feed_chunks(KerberosDissector(), chunks)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8), st.integers(0, 2000),
       st.sampled_from([AS_REQ, TGS_REQ, TGS_REP, proto_dir.krb_error(RNG, "CORP.EXAMPLE", "alice", 24, 1.7e9)]))
def test_fuzz_mutated_messages(edits: list[tuple[int, int]], cut: int, message: bytes) -> None:
    bad = mutate(message, edits, cut)
    feed_chunks(KerberosDissector(), [(True, proto_dir.tcp_record(bad))])
    with contextlib.suppress(ParseError):
        parse_message(bad)
