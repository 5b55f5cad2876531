"""QUIC dissector: the hellos of QUIC Initial packets, pinned to suricata-verify captures (Suricata's and
FoxIO's expected JA4, tshark's SNI), and built connections for what the captures do not show: split and
shuffled CRYPTO frames, coalesced packets, Retry, the limits, and where dissection of a flow ends."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect import quicinitial as qi
from iotwarden.dissect.base import Packet
from iotwarden.dissect.quic import (
    MAX_CRYPTO_BYTES,
    MAX_FRAGMENTS,
    MAX_INITIAL_PACKETS,
    MAX_SERVER_DATAGRAMS,
    QuicDissector,
)
from iotwarden.engine.core import Engine
from iotwarden.errors import ParseError
from iotwarden.model import CaptureStats, Flow, Observation
from iotwarden.sources.capfile import read_capture
from tests.conftest import shared
from tests.dissect.hostile import TCPDUMP_CAPTURES, contract_call, feed_capture_any_port, mutate
from tests.dissect.quicbuild import (
    RFC_DCID,
    SERVER_PAYLOAD,
    V1_CLIENT_INITIAL,
    V1_SERVER_INITIAL,
    V2,
    V2_CLIENT_INITIAL,
    V2_SERVER_INITIAL,
    client_hello,
    crypto_frame,
    initial,
    long_packet,
)
from tests.engineutil import engine_run as run_engine
from tests.services.builders import udp, write_pcap

SV = ("pcaps", "suricata_verify")
CHROME_JA4 = "q13d0310h3_55b375c5d22e_cd85d2d88918"  # ja4-quic, ja4-tls-quic, ja4-rules test.yaml quic.ja4
# ja4-quic/README.md: the FoxIO reference tool's tls_server_name per stream, in capture order
JA4_QUIC_SNI = ["www.blogger.com", "socpuppet.blogspot.com", "apis.google.com", "www.blogger.com", "apis.google.com",
                "www.google.com", "www.gstatic.com", "fonts.gstatic.com", "4.bp.blogspot.com", "1.bp.blogspot.com",
                "2.bp.blogspot.com"]
CLIENT_SCID = bytes.fromhex("c1c2c3c4c5c6c7c8")
SERVER_CID = bytes.fromhex("5e5e5e5e5e5e5e5e")


def engine_run(path: Path) -> tuple[list[Observation], list[Flow], CaptureStats]:
    """Observations, flows and stats of the engine with the default dissectors over ``path``."""
    engine = Engine()
    observations, flows = run_engine(path, engine)
    return observations, flows, engine.stats


def quic(obs: list[Observation], kind: str) -> list[dict[str, Any]]:
    return [o.fields for o in obs if o.proto == "quic" and o.kind == kind]


def packet(data: bytes, to_server: bool = True) -> Packet:
    client, server = ("10.0.0.1", 50000), ("142.250.1.1", 443)
    (sip, sport), (dip, dport) = (client, server) if to_server else (server, client)
    return Packet(ts=1.0, payload=data, src_ip=sip, dst_ip=dip, ip_proto=17, src_port=sport, dst_port=dport,
                  to_server=to_server)


def run(datagrams: list[tuple[bool, bytes]], d: QuicDissector | None = None,
        state: dict[str, Any] | None = None) -> tuple[list[Observation], dict[str, Any]]:
    """Feed one connection's datagrams (to_server, bytes) until the dissector is done; ParseErrors skipped."""
    d = d or QuicDissector()
    state = {} if state is None else state
    out: list[Observation] = []
    for to_server, data in datagrams:
        if state.get("done"):
            break
        out += contract_call(d, packet(data, to_server), state)
    return out, state


def server_initial(key_dcid: bytes = RFC_DCID, version: int = 1) -> bytes:
    """The server's first Initial (RFC 9001 A.3's ACK and ServerHello) answering a client whose first
    DCID was ``key_dcid``."""
    return initial(SERVER_PAYLOAD, dcid=CLIENT_SCID, scid=SERVER_CID, server=True, key_dcid=key_dcid,
                   version=version, pn=1)


# -- real captures ---------------------------------------------------------------------------------

def test_chrome_quic_hellos_match_suricata_and_foxio() -> None:
    obs, flows, _ = engine_run(shared(*SV, "ja4-quic", "input.pcap"))
    hellos = quic(obs, "client_hello")
    assert len(hellos) == 11  # ja4-quic test.yaml: count 11
    assert {h["ja4"] for h in hellos} == {CHROME_JA4}
    assert [h["sni"] for h in hellos] == JA4_QUIC_SNI
    assert all(h["alpn"] == ["h3"] and h["versions"] == ["TLS 1.3"] and h["quic_version"] == "1" for h in hellos)
    assert all(h["record_version"] is None for h in hellos)  # no record layer in QUIC (RFC 9001 §4)
    assert sorted(f.app or "" for f in flows if 443 in (f.a_port, f.b_port)) == ["quic"] * 11


@pytest.mark.parametrize("name", ["ja4-tls-quic", "ja4-rules"])
def test_tls_and_quic_of_one_client_keep_their_own_transport_letter(name: str) -> None:
    obs, _, _ = engine_run(shared(*SV, name, "input.pcap"))
    (hello,) = quic(obs, "client_hello")
    assert hello["ja4"] == CHROME_JA4 and hello["sni"] == "cloudflare-quic.com"  # test.yaml quic.ja4
    (tls,) = [o.fields for o in obs if o.proto == "tls" and o.kind == "client_hello"]
    assert tls["ja4"] == "t13d1516h2_8daaf6152771_e5627efa2ab1"  # test.yaml tls.ja4
    (server,) = quic(obs, "server_hello")
    assert (server["version"], server["cipher_suite"], server["ja4s"][:1]) == ("TLS 1.3", 0x1301, "q")


def test_msquic_draft_alpn_and_server_hello_ja3s() -> None:
    obs, _, _ = engine_run(shared(*SV, "quic-ietf-ja3", "input.pcap"))
    (hello,) = quic(obs, "client_hello")
    assert hello["sni"] == "msquic.net" and hello["alpn"] == ["h3-29"]
    assert hello["ja3"] != "deadbeefdeadbeefdeadbeefdeadbeef"  # test.rules sid 5 must not match
    (server,) = quic(obs, "server_hello")
    assert server["ja3s_string"] == "771,4866,43-51-41"  # test.rules sid 3: ja3s.string content


def test_quic_version_2_hello_matches_suricata() -> None:
    path = shared(*SV, "quic-v2-ja3", "input.pcap")  # a loopback (NULL link type) capture
    obs, flows, _ = engine_run(path)
    (hello,) = quic(obs, "client_hello")
    assert hello["quic_version"] == "2"  # test.rules sid 4: quic.version 6b3343cf
    # test.yaml: quic.extensions[0] status_request, [6] alpn with "h3"; test.rules sid 3 ja3.string
    assert hello["extensions"][0] == 5 and hello["extensions"][6] == 16 and hello["alpn"] == ["h3"]
    assert hello["ja3_string"] == "771,4865-4866-4867,5-10-11-13-65281-23-16-18-43-51-57,29-23-24-25,0"
    assert hello["sni"] is None and hello["ja4"].startswith("q13i")
    first = next(iter(read_capture(path)))
    hello_obs = next(o for o in obs if o.proto == "quic" and o.kind == "client_hello")
    assert hello_obs.ts == pytest.approx(float(first.ts[0]))  # ja3-lua-rules-quic: JA3 known at pcap_cnt 1
    assert [f.app for f in flows] == ["quic"]


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
@pytest.mark.parametrize("name", ["ja4-quic", "ja4-tls-quic", "quic-ietf-ja3", "quic-v2-ja3"])
def test_sni_agrees_with_tshark(name: str) -> None:
    path = shared(*SV, name, "input.pcap")
    proc = subprocess.run(["tshark", "-r", str(path), "-Y", "quic && tls.handshake.type == 1", "-T", "fields",
                           "-e", "tls.handshake.extensions_server_name"], capture_output=True, text=True,
                          check=True, timeout=120)
    theirs = [line.strip() or None for line in proc.stdout.splitlines()]
    obs, _, _ = engine_run(path)
    assert [h["sni"] for h in quic(obs, "client_hello")] == theirs


def test_dissection_ends_after_the_hellos_so_the_connection_costs_nothing() -> None:
    path = shared(*SV, "ja4-tls-quic", "input.pcap")
    _, flows, stats = engine_run(path)
    (flow,) = [f for f in flows if f.app == "quic"]
    assert flow.packets == 34
    # the client's Initial, the server's ACK-only Initial, its ServerHello Initial: FINISHED after them
    assert stats.protocols["quic"] == 3


# -- built connections ----------------------------------------------------------------------------

def test_rfc_client_initial_gives_the_example_com_hello() -> None:
    for packet_bytes, version in ((V1_CLIENT_INITIAL, "1"), (V2_CLIENT_INITIAL, "2")):
        (obs,), state = run([(True, packet_bytes)])
        assert obs.kind == "client_hello" and obs.proto == "quic" and obs.subject == "src"
        assert obs.fields["sni"] == "example.com" and obs.fields["alpn"] == ["alpn"]
        assert obs.fields["quic_version"] == version and obs.fields["ja4"].startswith("q13d")
        assert not state.get("done")  # waits for the server's hello


@pytest.mark.parametrize(("client", "server"), [(V1_CLIENT_INITIAL, V1_SERVER_INITIAL),
                                               (V2_CLIENT_INITIAL, V2_SERVER_INITIAL)], ids=["v1", "v2"])
def test_the_rfc_server_initial_answers_with_its_server_hello(client: bytes, server: bytes) -> None:
    obs, state = run([(True, client), (False, server)])  # RFC 9001 A.2 + A.3, RFC 9369 A.2 + A.3
    assert [o.kind for o in obs] == ["client_hello", "server_hello"] and state["done"]
    assert (obs[1].fields["version"], obs[1].fields["cipher_suite"]) == ("TLS 1.3", 0x1301)
    assert obs[1].fields["ja4s"].startswith("q1302")


def test_a_draft_29_client_is_read_too() -> None:
    (obs,), _ = run([(True, initial(crypto_frame(0, client_hello("d.example", ("h3-29",))), version=0xFF00001D))])
    assert (obs.fields["quic_version"], obs.fields["alpn"], obs.fields["ja4"][8:10]) == ("draft-29", ["h3-29"], "h9")


def test_client_and_server_hellos_of_v2_and_then_done() -> None:
    hello = initial(crypto_frame(0, client_hello("example.org")), scid=CLIENT_SCID, version=V2)
    obs, state = run([(True, hello), (False, server_initial(version=V2))])
    assert [o.kind for o in obs] == ["client_hello", "server_hello"]
    assert obs[1].fields["cipher_suite"] == 0x1301 and obs[1].fields["quic_version"] == "2"
    assert obs[1].src_ip == "142.250.1.1"  # the server describes itself
    assert state["done"]


def shuffled_hello(sni: str, seed: int, packets: int = 3, dcid: bytes = RFC_DCID) -> list[bytes]:
    """A large ClientHello cut in CRYPTO frames of random sizes, shuffled over ``packets`` Initials with
    PING and PADDING between them (as Chrome does), the packets themselves in shuffled order."""
    rng = random.Random(seed)
    hello = client_hello(sni, padding=1400)
    cuts = sorted(rng.sample(range(1, len(hello)), 9))
    pieces = [(a, hello[a:b]) for a, b in zip([0, *cuts], [*cuts, len(hello)], strict=True)]
    rng.shuffle(pieces)
    frames: list[bytes] = [b""] * packets
    for i, (offset, data) in enumerate(pieces):
        frames[i % packets] += b"\x01" + crypto_frame(offset, data) + b"\x00" * rng.randrange(3)
    out = [initial(f, dcid=dcid, scid=CLIENT_SCID, pn=pn) for pn, f in enumerate(frames)]
    rng.shuffle(out)
    return out


@pytest.mark.parametrize("seed", range(5))
def test_a_hello_split_and_shuffled_over_three_initials_is_reassembled(seed: int) -> None:
    datagrams = shuffled_hello("weather.nest.com", seed)
    obs, state = run([(True, d) for d in datagrams])
    (hello,) = obs
    assert hello.fields["sni"] == "weather.nest.com" and 21 in hello.fields["extensions"]
    assert state["c"]["opened"] == 3 and state["c"]["frags"] == {}  # the buffers are freed once read


def test_coalesced_packets_in_one_datagram() -> None:
    hello = client_hello("home.nest.com")
    first, second = hello[:150], hello[150:]
    # RFC 9000 §12.2: an Initial, a 0-RTT packet, then an Initial with the rest, then zero padding
    datagram = (initial(crypto_frame(150, second), scid=CLIENT_SCID, pad_to=0, pn=1)
                + long_packet(qi.ZERO_RTT, bytes(40)) + initial(crypto_frame(0, first), scid=CLIENT_SCID,
                                                                  pad_to=0, pn=2) + bytes(300))
    (obs,), _ = run([(True, datagram)])
    assert obs.fields["sni"] == "home.nest.com"
    server = server_initial() + long_packet(qi.HANDSHAKE, bytes(200)) + b"\x40" + bytes(30)  # ... and a 1-RTT
    obs2, state = run([(True, initial(crypto_frame(0, hello), scid=CLIENT_SCID)), (False, server)])
    assert [o.kind for o in obs2] == ["client_hello", "server_hello"] and state["done"]


def test_after_a_retry_both_sides_derive_keys_from_the_new_connection_id() -> None:
    hello = crypto_frame(0, client_hello("retry.example"))
    new_dcid = bytes.fromhex("0102030405060708")
    obs, state = run([
        (True, initial(hello, scid=CLIENT_SCID)),
        (False, long_packet(qi.RETRY, b"token" + bytes(16), dcid=CLIENT_SCID, scid=new_dcid)),
        (True, initial(hello, dcid=new_dcid, scid=CLIENT_SCID, pn=1, token=b"token")),
        (False, server_initial(key_dcid=new_dcid)),
    ])
    assert [o.kind for o in obs] == ["client_hello", "server_hello"] and state["odcid"] == new_dcid


def test_a_retry_the_capture_missed_is_met_by_the_client_initials_own_dcid() -> None:
    hello = client_hello("retry.example")
    new_dcid = bytes.fromhex("0102030405060708")
    obs, state = run([
        (True, initial(crypto_frame(0, hello[:100]), scid=CLIENT_SCID)),  # its rest never arrives
        (True, initial(crypto_frame(0, hello), dcid=new_dcid, scid=CLIENT_SCID, pn=1)),
    ])
    assert [o.fields["sni"] for o in obs] == ["retry.example"] and state["odcid"] == new_dcid


def test_a_client_without_its_server_ends_after_its_first_short_header() -> None:
    obs, state = run([(True, initial(crypto_frame(0, client_hello("a.example")), scid=CLIENT_SCID)),
                      (True, b"\x41" + SERVER_CID + bytes(40))])
    assert len(obs) == 1 and state["done"]


def test_a_server_that_never_sends_its_hello_is_waited_for_a_few_datagrams() -> None:
    datagrams = [(True, initial(crypto_frame(0, client_hello("a.example")), scid=CLIENT_SCID))]
    datagrams += [(False, long_packet(qi.HANDSHAKE, bytes(100), dcid=CLIENT_SCID))] * (MAX_SERVER_DATAGRAMS + 3)
    d = QuicDissector()
    state: dict[str, Any] = {}
    for i, (to_server, data) in enumerate(datagrams):
        contract_call(d, packet(data, to_server), state)
        assert state.get("done", False) == (i >= MAX_SERVER_DATAGRAMS)


def test_a_capture_that_begins_after_the_handshake_is_given_up_quietly() -> None:
    state: dict[str, Any] = {}
    assert QuicDissector().dissect(packet(b"\x5a" + bytes(60)), state) == [] and state["done"]


@pytest.mark.parametrize("first", [b"\x38", b"\x16\xfe\xfd", b"\x01\x00\x00\x00", b"\x00"])
def test_other_protocols_on_udp_443_are_rejected_at_their_first_datagram(first: bytes) -> None:
    # OpenVPN's hard reset, DTLS 1.2, WireGuard's initiation, zeros: no QUIC header (RFC 9000 §17)
    state: dict[str, Any] = {}
    with pytest.raises(ParseError):
        QuicDissector().dissect(packet(first + bytes(100)), state)
    assert state["done"]


def test_versions_not_opened_here_end_the_flow_without_error() -> None:
    for version in (b"Q050", b"\xfa\xce\xb0\x02", bytes.fromhex("1a2a3a4a")):  # gQUIC, mvfst, a reserved one
        state: dict[str, Any] = {}
        datagram = bytes([0xC3]) + version + b"\x08" + bytes(8) + b"\x00" + bytes(1200)
        assert QuicDissector().dissect(packet(datagram), state) == [] and state["done"]
    # Google QUIC up to Q043: the public header (flags VERSION 0x01 and 8-byte CID 0x08, packet number length
    # bits, no fixed bit), then the version tag after the connection ID (Chromium's QUIC Wire Layout)
    for flags, version in ((0x09, b"Q043"), (0x0D, b"Q043"), (0x19, b"Q039"), (0x0D, b"Q035")):
        state = {}
        datagram = bytes([flags]) + bytes.fromhex("1122334455667788") + version + b"\x01" + bytes(1300)
        assert QuicDissector().dissect(packet(datagram), state) == [] and state["done"]
    for not_gquic in (bytes([0x09]) + bytes(8) + b"QUIC", bytes([0x01]) + b"Q043" + bytes(8)):
        with pytest.raises(ParseError):  # no version tag; no connection ID before the version tag
            QuicDissector().dissect(packet(not_gquic + bytes(100)), {})


def test_a_google_quic_flow_is_no_failure(tmp_path: Path) -> None:
    ends = ("02:00:00:00:00:01", "02:00:00:00:00:02", "192.168.1.20", "203.0.113.5", 50000, 443)
    back = (ends[1], ends[0], ends[3], ends[2], 443, 50000)
    chlo = bytes([0x0D]) + bytes.fromhex("1122334455667788") + b"Q043" + b"\x01" + bytes(1300)
    reply = bytes([0x08]) + bytes.fromhex("1122334455667788") + b"\x01" + bytes(200)
    path = write_pcap(tmp_path / "g.pcap", [(1.0, udp(ends, chlo)), (1.1, udp(back, reply)), (1.2, udp(ends, reply))])
    obs, flows, stats = engine_run(path)
    assert obs == [] and flows[0].app is None and "failed_services" not in flows[0].extra
    assert not stats.parse_errors


def test_version_negotiation_after_the_client_initial_is_not_the_end() -> None:
    vn = bytes([0x80]) + bytes(4) + b"\x08" + CLIENT_SCID + b"\x08" + RFC_DCID + (1).to_bytes(4, "big")
    half = initial(crypto_frame(0, client_hello("a.example")[:80]), scid=CLIENT_SCID)
    _, state = run([(True, half), (False, vn)])
    assert not state.get("done")


def test_probe_recognises_a_client_initial_only() -> None:
    d = QuicDissector()
    assert d.probe(V1_CLIENT_INITIAL, True) and d.probe(V2_CLIENT_INITIAL, True)
    assert not d.probe(V1_CLIENT_INITIAL, False)  # a server does not open a connection
    assert not d.probe(V1_CLIENT_INITIAL[:1199], True)  # RFC 9000 §14.1: at least 1200 bytes
    short_dcid = bytearray(V1_CLIENT_INITIAL)
    short_dcid[5] = 4  # RFC 9000 §7.2: a client's first DCID has at least 8 bytes
    assert not d.probe(bytes(short_dcid), True)
    assert not d.probe(bytes(1300), True) and not d.probe(b"\x16\x03\x01" + bytes(1300), True)


def test_a_quic_connection_on_another_port_is_found_by_its_initial(tmp_path: Path) -> None:
    ends = ("02:00:00:00:00:01", "02:00:00:00:00:02", "192.168.1.20", "203.0.113.5")
    hello = initial(crypto_frame(0, client_hello("b.example")), scid=CLIENT_SCID)
    path = write_pcap(tmp_path / "q.pcap", [(1.0, udp((*ends, 50000, 4433), hello))])
    obs, flows, _ = engine_run(path)
    assert [h["sni"] for h in quic(obs, "client_hello")] == ["b.example"] and flows[0].app == "quic"


def test_only_an_initial_that_authenticates_names_the_flow(tmp_path: Path) -> None:
    ends = ("02:00:00:00:00:01", "02:00:00:00:00:02", "192.168.1.20", "203.0.113.5", 50000, 443)
    back = (ends[1], ends[0], ends[3], ends[2], 443, 50000)
    half = initial(crypto_frame(0, client_hello("a.example")[:80]), scid=CLIENT_SCID)  # authentic, no hello yet
    path = write_pcap(tmp_path / "h.pcap", [(1.0, udp(ends, half)), (1.1, udp(back, b"\x41" + bytes(60)))])
    obs, flows, _ = engine_run(path)
    assert obs == [] and flows[0].app == "quic"
    # a capture that begins after the handshake: short headers only, no verdict and no name
    late = write_pcap(tmp_path / "l.pcap", [(1.0 + i, udp(ends, b"\x41" + bytes(60))) for i in range(5)])
    _, flows, stats = engine_run(late)
    assert flows[0].app is None and "failed_services" not in flows[0].extra and stats.protocols["quic"] == 1


def test_a_flow_on_udp_443_that_is_not_quic_is_named_as_failed(tmp_path: Path) -> None:
    ends = ("02:00:00:00:00:01", "02:00:00:00:00:02", "192.168.1.20", "203.0.113.5", 50000, 443)
    path = write_pcap(tmp_path / "o.pcap", [(1.0 + i, udp(ends, b"\x38" + bytes(60))) for i in range(20)])
    obs, flows, stats = engine_run(path)
    assert obs == [] and flows[0].app is None and flows[0].extra["failed_services"] == ["quic"]
    assert stats.protocols["quic"] == 1 and stats.rejected_before_confirmation["quic"] == 1  # the first datagram
    assert not stats.parse_errors  # another protocol on udp/443, not malformed QUIC


# -- limits ---------------------------------------------------------------------------------------

def test_a_hello_never_completed_stops_at_the_initial_packet_limit() -> None:
    d, state = QuicDissector(), {}
    tail = crypto_frame(100, b"x" * 50)  # offset 0 never comes
    for pn in range(MAX_INITIAL_PACKETS):
        assert d.dissect(packet(initial(tail, scid=CLIENT_SCID, pn=pn)), state) == []
    with pytest.raises(ParseError, match="not complete"):
        d.dissect(packet(initial(tail, scid=CLIENT_SCID, pn=MAX_INITIAL_PACKETS)), state)
    assert state["done"]


def test_a_hello_longer_than_the_crypto_limit_is_refused() -> None:
    header = b"\x01" + (MAX_CRYPTO_BYTES).to_bytes(3, "big")
    with pytest.raises(ParseError, match="over"):
        QuicDissector().dissect(packet(initial(crypto_frame(0, header + bytes(500)), scid=CLIENT_SCID)), {})


def test_crypto_bytes_past_the_limit_are_not_kept() -> None:
    state: dict[str, Any] = {}
    far = crypto_frame(MAX_CRYPTO_BYTES - 10, bytes(100)) + crypto_frame(MAX_CRYPTO_BYTES + 5, bytes(100))
    QuicDissector().dissect(packet(initial(far, scid=CLIENT_SCID)), state)
    assert state["c"]["frags"] == {MAX_CRYPTO_BYTES - 10: bytes(10)} and state["c"]["size"] == 10


def test_too_many_crypto_frames_are_refused() -> None:
    frames = b"".join(crypto_frame(10 + i, b"x") for i in range(MAX_FRAGMENTS + 1))
    with pytest.raises(ParseError, match="CRYPTO frames"):
        QuicDissector().dissect(packet(initial(frames, scid=CLIENT_SCID)), {})


def test_a_crypto_stream_that_is_not_a_client_hello_is_refused() -> None:
    state: dict[str, Any] = {}
    with pytest.raises(ParseError, match="handshake type 2"):
        QuicDissector().dissect(packet(initial(crypto_frame(0, b"\x02\x00\x00\x10"), scid=CLIENT_SCID)), state)


def test_memo_gives_equal_fields_for_hellos_that_differ_only_in_random_and_key_share() -> None:
    d = QuicDissector()
    one, _ = run([(True, initial(crypto_frame(0, client_hello("m.example", seed=1)), scid=CLIENT_SCID))], d)
    two, _ = run([(True, initial(crypto_frame(0, client_hello("m.example", seed=2)), scid=CLIENT_SCID))], d)
    assert one[0].fields == two[0].fields and one[0].fields is not two[0].fields and d.memo.hits == 1


# -- hostile input ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", TCPDUMP_CAPTURES)
def test_tcpdump_captures_on_any_port_keep_the_contract(name: str) -> None:
    feed_capture_any_port(QuicDissector(), shared("pcaps", "tcpdump_tests", name))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=1300)), max_size=6))
def test_fuzz_random_datagrams(datagrams: list[tuple[bool, bytes]]) -> None:
    run(datagrams)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1300), st.integers(0, 255)), max_size=8), st.integers(0, 1300))
def test_fuzz_mutated_rfc_initial(edits: list[tuple[int, int]], cut: int) -> None:
    run([(True, mutate(V1_CLIENT_INITIAL, edits, cut))])


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32), st.lists(st.integers(0, 2000), max_size=6), st.integers(0, 255))
def test_fuzz_plaintext_frames_under_valid_protection(seed: int, cuts: list[int], value: int) -> None:
    # authentic packets whose decrypted frames are hostile: a valid hello mangled before protection
    hello = bytearray(crypto_frame(0, client_hello("f.example", seed=seed % 7)))
    for c in cuts:
        if hello:
            hello[c % len(hello)] = value
    run([(True, initial(bytes(hello), scid=CLIENT_SCID)), (False, server_initial())])
