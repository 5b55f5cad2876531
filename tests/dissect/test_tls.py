"""TLS dissector: hellos, fingerprints and certificate chains pinned to suricata-verify captures."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.base import Packet
from iotwarden.dissect.tls import MAX_HANDSHAKE_MESSAGE, MAX_RECORD, TlsDissector
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from tests.conftest import shared
from tests.dissect.hostile import TCPDUMP_CAPTURES, feed_capture_any_port, feed_chunks, mutate
from tests.pcaputil import iter_packets, run_dissector

SV = ("pcaps", "suricata_verify")


class TlsOn4433(TlsDissector):
    """The ja4-*-handshake captures use openssl s_server's port 4433."""

    tcp_ports: ClassVar[tuple[int, ...]] = (4433,)


def _kinds(obs: list[Observation], kind: str) -> list[dict[str, Any]]:
    return [o.fields for o in obs if o.kind == kind]


def test_ja4_tls_client_hello_matches_the_reference_fingerprint() -> None:
    obs = run_dissector(TlsDissector(), shared(*SV, "ja4-tls", "input.pcap"))
    (hello,) = _kinds(obs, "client_hello")
    assert hello["ja4"] == "t12i1810s1_27d4652c4487_06a4338d0495"  # ja4-tls/test.yaml
    assert hello["sni"] is None and hello["alpn"][0] == "spdy/3.1"
    assert hello["versions"] == ["TLS 1.2"] and hello["record_version"] == "TLS 1.0"


def test_client_handshake_lists_match_suricata() -> None:
    path = shared(*SV, "ja4-cl-handshake", "input.pcap")
    first = next(p for p in iter_packets(path) if p.payload)
    assert TlsDissector().probe(first.payload, first.to_server)  # recognised on port 4433
    obs = run_dissector(TlsOn4433(), path)
    (hello,) = _kinds(obs, "client_hello")
    # ja4-cl-handshake/test.yaml tls.client_handshake.*
    assert hello["versions"] == ["TLS 1.2"]
    assert hello["cipher_suites"] == [49196, 49200, 159, 52393, 52392, 52394, 49195, 49199, 158, 49188, 49192,
                                      107, 49187, 49191, 103, 49162, 49172, 57, 49161, 49171, 51, 157, 156, 61,
                                      60, 53, 47, 255]
    assert hello["extensions"] == [0, 11, 10, 35, 22, 23, 13]
    assert hello["signature_algorithms"] == [1027, 1283, 1539, 2055, 2056, 2057, 2058, 2059, 2052, 2053, 2054,
                                             1025, 1281, 1537, 771, 515, 769, 513, 770, 514, 1026, 1282, 1538]


def test_server_handshake_matches_suricata() -> None:
    obs = run_dissector(TlsOn4433(), shared(*SV, "ja4-sv-handshake", "input.pcap"))
    (server,) = _kinds(obs, "server_hello")
    # ja4-sv-handshake/test.yaml tls.server_handshake.*
    assert server["version"] == "TLS 1.2"
    assert server["cipher_suite"] == 49200
    assert server["extensions"] == [65281, 11, 35, 23]


def test_tls13_client_hello_ja4_and_stop_after_server_hello() -> None:
    obs = run_dissector(TlsDissector(), shared(*SV, "ja4-rules", "input.pcap"))
    (hello,) = _kinds(obs, "client_hello")
    assert hello["ja4"] == "t13d1516h2_8daaf6152771_e5627efa2ab1"  # ja4-rules/test.yaml (TLS; QUIC not ours)
    assert hello["sni"] == "cloudflare-quic.com" and hello["versions"] == ["TLS 1.3", "TLS 1.2"]
    (server,) = _kinds(obs, "server_hello")
    assert server["version"] == "TLS 1.3"
    assert _kinds(obs, "certificate") == []  # encrypted in TLS 1.3


def test_client_hello_only_tlsv1_with_ja4() -> None:
    obs = run_dissector(TlsDissector(), shared(*SV, "bug-5713-01", "TLSv1-Extracted-MaliciousC2.pcap"))
    assert [o.kind for o in obs] == ["client_hello"]
    # bug-5713-01 tls.version "TLSv1"; bug-5713-02-ja4 tls.ja4 (no signature algorithms: trailing "_")
    assert obs[0].fields["versions"] == ["TLS 1.0"]
    assert obs[0].fields["ja4"] == "t10i070600_c50f5591e341_ce66f3b797c1"


def test_ja3_ja3s_and_certificate_chain() -> None:
    obs = run_dissector(TlsDissector(), shared(*SV, "tls", "tls-certs-alert", "input.pcap"))
    (hello,) = _kinds(obs, "client_hello")
    (server,) = _kinds(obs, "server_hello")
    assert hello["ja3_string"].startswith("771,49196-49200")  # detect-bidir-ja3/test.rules
    assert server["ja3s"] == "5d79edf64e03689ff559a54e9d9487bc"  # tls-ja3s/test.yaml
    assert server["ja3s_string"] == "771,49199,65281-0-11-16-23"
    (chain,) = _kinds(obs, "certificate")
    # tls-certs-alert/test.rules: CommonNames of 15, 30 and 23 characters, leaf first
    subjects = [c["subject"] for c in chain["certs"]]
    assert [s.split(",")[0] for s in subjects] == [
        "CN=www.example.org", "CN=DigiCert SHA2 Secure Server CA", "CN=DigiCert Global Root CA"]
    leaf, _, root = chain["certs"]
    assert "example.com" in leaf["san_dns"] and leaf["key_type"] == "rsa" and leaf["key_bits"] == 2048
    assert leaf["self_signed"] is False and root["self_signed"] is True
    assert leaf["not_before"] == "2018-11-28T00:00:00Z" and chain["cert_errors"] == 0
    server_obs = next(o for o in obs if o.kind == "certificate")
    assert server_obs.subject == "src" and server_obs.src_port == 443


def test_probe_recognises_only_handshake_records() -> None:
    d = TlsDissector()
    assert d.probe(b"\x16\x03\x01\x00\xc8\x01", True)
    assert not d.probe(b"GET / HTTP/1.1\r\n", True)
    assert not d.probe(b"\x17\x03\x03\x00\x10\x00", True)


def test_record_over_the_protocol_limit_is_a_parse_error_and_ends_the_flow() -> None:
    state: dict[str, Any] = {}
    pkt = Packet(ts=0.0, payload=b"", to_server=True)
    with pytest.raises(ParseError):
        TlsDissector().feed(pkt, b"\x16\x03\x01" + (MAX_RECORD + 1).to_bytes(2, "big"), state)
    assert state["done"] is True


def test_handshake_message_over_the_limit_is_a_parse_error() -> None:
    body = b"\x0b" + (MAX_HANDSHAKE_MESSAGE + 1).to_bytes(3, "big")
    record = b"\x16\x03\x03" + len(body).to_bytes(2, "big") + body
    with pytest.raises(ParseError):
        TlsDissector().feed(Packet(ts=0.0, payload=b"", to_server=False), record, {})


def _client_hello_payload() -> bytes:
    path = shared(*SV, "ja4-tls", "input.pcap")
    return next(p.payload for p in iter_packets(path) if p.payload and p.to_server)


def test_client_hello_split_byte_by_byte_gives_the_same_fingerprint() -> None:
    payload = _client_hello_payload()
    obs = feed_chunks(TlsDissector(), [(True, payload[i : i + 1]) for i in range(len(payload))])
    assert [o.fields["ja4"] for o in obs] == ["t12i1810s1_27d4652c4487_06a4338d0495"]


@pytest.mark.parametrize("name", TCPDUMP_CAPTURES)
def test_tcpdump_captures_on_any_port_keep_the_contract(name: str) -> None:
    feed_capture_any_port(TlsDissector(), shared("pcaps", "tcpdump_tests", name))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=300)), max_size=6))
def test_fuzz_random_bytes(chunks: list[tuple[bool, bytes]]) -> None:
    feed_chunks(TlsDissector(), [(True, b"\x16\x03\x01" + chunks[0][1]), *chunks] if chunks else [])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8), st.integers(0, 600))
def test_fuzz_mutated_client_hello(edits: list[tuple[int, int]], cut: int) -> None:
    feed_chunks(TlsDissector(), [(True, mutate(_client_hello_payload(), edits, cut))])


def test_memo_replays_hellos_and_certificates_as_fresh_equal_copies() -> None:
    path = shared(*SV, "tls", "tls-certs-alert", "input.pcap")
    tls = TlsDissector()
    first = run_dissector(tls, path)
    misses = tls.memo.misses
    assert misses == 6  # client hello, server hello, the Certificate message and its three certificates
    second = run_dissector(tls, path)
    assert tls.memo.misses == misses and tls.memo.hits == 3  # the two hellos and the chain, each replayed whole
    assert [o.fields for o in second] == [o.fields for o in first] == [
        o.fields for o in run_dissector(TlsDissector(memo_entries=0), path)]
    chain = next(o for o in second if o.kind == "certificate").fields
    chain["certs"][0]["san_dns"].clear()
    third = run_dissector(tls, path)
    assert next(o for o in third if o.kind == "certificate").fields["certs"][0]["san_dns"]
