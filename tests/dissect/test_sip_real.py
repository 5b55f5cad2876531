"""SIP dissector on real traffic: Kamailio 5.6.3 as registrar and proxy, two baresip 1.0.0 phones (one over UDP,
one over TCP) and SIPVicious 0.3 (svmap, svcrack), on loopback.

The capture (tests/dissect/data/sip_kamailio_baresip.pcap, made by make_sip_capture.py): both phones register
(401 Digest challenge, credentials, 200), the UDP phone calls the TCP one (407 from the proxy, the INVITE relayed
over TCP with the proxy's Via on top, 180 relayed back, CANCEL, 487), svmap's OPTIONS and svcrack's refused
REGISTERs, then both phones unregister.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from iotwarden.dissect.sip import SipDissector
from iotwarden.model import Observation
from tests.dissect.data.captures import by_dissector, by_engine, comparable
from tests.dissect.test_streambuf_resegmented import assert_invariant

CAPTURE = "sip_kamailio_baresip.pcap"
PROXY, CALLER, CALLEE = "127.0.0.1", "127.0.0.2", "127.0.0.3"
KAMAILIO, BARESIP = "kamailio (5.6.3 (x86_64/linux))", "baresip v1.0.0 (x86_64/linux)"


def _observed() -> list[Observation]:
    return by_dissector(SipDissector(), CAPTURE)


def test_the_engine_and_the_dissector_agree_on_every_message() -> None:
    observed = _observed()
    assert len(observed) == 50
    assert comparable(by_engine("sip", CAPTURE)) == comparable(observed)
    assert Counter(o.fields["transport"] for o in observed) == {"udp": 36, "tcp": 14}


def test_registrations_challenge_then_credentials_both_transports() -> None:
    observed = _observed()
    exchange = [(None, False, None), (401, None, False), (None, True, None), (200, None, True)]
    udp = [(o.fields.get("status"), o.fields.get("credentials"), o.fields.get("credentials_sent")) for o in observed
           if o.fields["cseq_method"] == "REGISTER" and CALLER in (o.src_ip, o.dst_ip)]
    assert udp == exchange * 2  # registered, then unregistered (Expires 0) the same way
    tcp = [(o.fields.get("status"), o.fields.get("credentials"), o.fields.get("credentials_sent")) for o in observed
           if o.fields["cseq_method"] == "REGISTER" and o.fields["transport"] == "tcp"]
    assert tcp == exchange * 2
    challenges = {o.fields["auth_realm"] for o in _observed() if o.fields.get("status") in (401, 407)}
    assert challenges == {"127.0.0.1"}  # Kamailio challenges with the To/From domain ($td, $fd)
    assert {o.fields["server"] for o in _observed() if o.kind == "response" and o.src_ip == PROXY
            and o.fields["cseq_method"] == "REGISTER"} == {KAMAILIO}


def test_a_relayed_invite_and_a_relayed_ringing_are_not_the_proxys_own() -> None:
    invites = [o for o in _observed() if o.fields.get("method") == "INVITE"]
    sent, relayed = [o for o in invites if o.src_ip == CALLER], [o for o in invites if o.src_ip == PROXY]
    assert [o.fields["credentials"] for o in sent] == [False, True]
    assert all(o.fields["sender"] == {"user_agent": BARESIP, "server": None} for o in sent)
    assert all(o.fields["codecs"] == ["PCMU", "PCMA", "G722", "TELEPHONE-EVENT"] for o in sent)
    (forwarded,) = relayed
    assert forwarded.fields["via_hops"] == 2 and forwarded.fields["sender"] is None
    ringing = [o for o in _observed() if o.fields.get("status") == 180]
    by_sender = {o.src_ip: o.fields["sender"] for o in ringing}
    assert by_sender == {CALLEE: {"user_agent": None, "server": BARESIP}, PROXY: None}  # the callee's, relayed
    refused = [o for o in _observed() if o.fields.get("status") == 407]
    assert [o.fields["credentials_sent"] for o in refused] == [False]


def test_sipvicious_is_recorded_as_it_names_itself() -> None:
    scanner = [o for o in _observed() if o.fields["user_agent"] == "friendly-scanner"]
    assert Counter(o.fields["method"] for o in scanner) == {"OPTIONS": 1, "REGISTER": 8}
    ports = {o.src_port for o in scanner if o.fields["method"] == "REGISTER"}
    guesses = [o for o in _observed() if o.kind == "response" and o.fields["cseq_method"] == "REGISTER"
               and o.dst_port in ports]
    assert {o.fields["status"] for o in guesses} == {401}
    assert Counter(o.fields["credentials_sent"] for o in guesses) == {True: 7, False: 1}


def test_the_real_capture_observes_the_same_however_its_tcp_is_cut(tmp_path: Path) -> None:
    """The TCP legs coalesced GRO-style and cut into 1-7 byte pieces (tests/dissect/resegment.py) give the same
    SIP Observations: Content-Length framing holds whatever the segmentation."""
    seen, stats = assert_invariant(Path(__file__).parent / "data" / CAPTURE, tmp_path)
    assert sum(seen["sip"].values()) == 50 and all(s.parse_errors["sip"] == 0 for s in stats)
