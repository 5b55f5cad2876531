"""SIP dissector: the RFC 3665 registration flow and RFC 3261 / RFC 4317 messages over UDP and TCP, compact
forms, keep-alives, proxies' Vias, what is never kept, limits, probes, and hostile input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.base import Packet
from iotwarden.dissect.http import HttpDissector
from iotwarden.dissect.rtsp import RtspDissector
from iotwarden.dissect.sip import MAX_BODY, MAX_HEAD, MAX_MESSAGES, MAX_PENDING, SipDissector
from iotwarden.dissect.streambuf import PartialParse
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from tests.conftest import shared
from tests.dissect.hostile import TCPDUMP_CAPTURES, contract_call, feed_capture_any_port, feed_chunks, mutate
from tests.engineutil import engine_run
from tests.pcaputil import iter_packets
from tests.risk.harness import T0, client_hello, host, tcp, udp, write_pcap

# RFC 3665 §2.1 Successful New Registration, F1-F4 (Bob's REGISTER, the server's Digest challenge, the retry
# with credentials, the 200 with the binding's expiry)
F1 = (b"REGISTER sips:ss2.biloxi.example.com SIP/2.0\r\n"
      b"Via: SIP/2.0/TLS client.biloxi.example.com:5061;branch=z9hG4bKnashds7\r\nMax-Forwards: 70\r\n"
      b"From: Bob <sips:bob@biloxi.example.com>;tag=a73kszlfl\r\nTo: Bob <sips:bob@biloxi.example.com>\r\n"
      b"Call-ID: 1j9FpLxk3uxtm8tn@biloxi.example.com\r\nCSeq: 1 REGISTER\r\n"
      b"Contact: <sips:bob@client.biloxi.example.com>\r\nContent-Length: 0\r\n\r\n")
F2 = (b"SIP/2.0 401 Unauthorized\r\n"
      b"Via: SIP/2.0/TLS client.biloxi.example.com:5061;branch=z9hG4bKnashds7;received=192.0.2.201\r\n"
      b"From: Bob <sips:bob@biloxi.example.com>;tag=a73kszlfl\r\n"
      b"To: Bob <sips:bob@biloxi.example.com>;tag=1410948204\r\nCall-ID: 1j9FpLxk3uxtm8tn@biloxi.example.com\r\n"
      b'CSeq: 1 REGISTER\r\nWWW-Authenticate: Digest realm="atlanta.example.com", qop="auth",\r\n'
      b' nonce="ea9c8e88df84f1cec4341ae6cbe5a359", opaque="", stale=FALSE, algorithm=MD5\r\n'
      b"Content-Length: 0\r\n\r\n")
F3 = (b"REGISTER sips:ss2.biloxi.example.com SIP/2.0\r\n"
      b"Via: SIP/2.0/TLS client.biloxi.example.com:5061;branch=z9hG4bKnashd92\r\nMax-Forwards: 70\r\n"
      b"From: Bob <sips:bob@biloxi.example.com>;tag=ja743ks76zlflH\r\nTo: Bob <sips:bob@biloxi.example.com>\r\n"
      b"Call-ID: 1j9FpLxk3uxtm8tn@biloxi.example.com\r\nCSeq: 2 REGISTER\r\n"
      b"Contact: <sips:bob@client.biloxi.example.com>\r\n"
      b'Authorization: Digest username="bob", realm="atlanta.example.com",\r\n'
      b' nonce="ea9c8e88df84f1cec4341ae6cbe5a359", opaque="",\r\n uri="sips:ss2.biloxi.example.com",\r\n'
      b' response="dfe56131d1958046689d83306477ecc"\r\nContent-Length: 0\r\n\r\n')
F4 = (b"SIP/2.0 200 OK\r\n"
      b"Via: SIP/2.0/TLS client.biloxi.example.com:5061;branch=z9hG4bKnashd92;received=192.0.2.201\r\n"
      b"From: Bob <sips:bob@biloxi.example.com>;tag=ja743ks76zlflH\r\n"
      b"To: Bob <sips:bob@biloxi.example.com>;tag=37GkEhwl6\r\nCall-ID: 1j9FpLxk3uxtm8tn@biloxi.example.com\r\n"
      b"CSeq: 2 REGISTER\r\nContact: <sips:bob@client.biloxi.example.com>;expires=3600\r\nContent-Length: 0\r\n\r\n")
REGISTRATION = [(True, F1), (False, F2), (True, F3), (False, F4)]

# RFC 4317 §2.1: an audio and video offer (PCMU, PCMA, iLBC; H261, MPV)
OFFER = (b"v=0\r\no=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com\r\ns= \r\n"
         b"c=IN IP4 host.atlanta.example.com\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 8 97\r\na=rtpmap:0 PCMU/8000\r\n"
         b"a=rtpmap:8 PCMA/8000\r\na=rtpmap:97 iLBC/8000\r\nm=video 51372 RTP/AVP 31 32\r\n"
         b"a=rtpmap:31 H261/90000\r\na=rtpmap:32 MPV/90000\r\n")


def invite(vias: bytes = b"Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds\r\n",
           body: bytes = OFFER) -> bytes:
    """RFC 3261 §24.2 F1 (Alice's INVITE) with an RFC 4317 offer as its body and a User-Agent."""
    return (b"INVITE sip:bob@biloxi.com SIP/2.0\r\n" + vias + b"Max-Forwards: 70\r\n"
            b"To: Bob <sip:bob@biloxi.com>\r\nFrom: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
            b"Call-ID: a84b4c76e66710@pc33.atlanta.com\r\nCSeq: 314159 INVITE\r\n"
            b"Contact: <sip:alice@pc33.atlanta.com>\r\n"
            b"User-Agent: Yealink SIP-T46S 66.86.0.15\r\nAllow: INVITE, ACK, CANCEL, BYE, OPTIONS\r\n"
            b"Supported: replaces, timer\r\nContent-Type: application/sdp\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)) + body


# SIPVicious svmap's OPTIONS (its default User-Agent, "friendly-scanner")
SVMAP = (b"OPTIONS sip:100@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.66:5060;branch=z9hG4bK-1510257012;rport\r\n"
         b'Max-Forwards: 70\r\nTo: "sipvicious"<sip:100@1.1.1.1>\r\nFrom: "sipvicious"<sip:100@1.1.1.1>;tag=6631\r\n'
         b"User-Agent: friendly-scanner\r\nCall-ID: 1001497406\r\nContact: sip:100@192.0.2.66:5060\r\n"
         b"CSeq: 1 OPTIONS\r\nAccept: application/sdp\r\nContent-Length: 0\r\n\r\n")


def _udp(data: bytes, to_server: bool = True) -> Packet:
    client, server = ("10.0.0.1", 5060), ("10.0.0.2", 5060)
    (sip, sport), (dip, dport) = (client, server) if to_server else (server, client)
    return Packet(ts=1.0, payload=data, src_ip=sip, dst_ip=dip, ip_proto=17, src_port=sport, dst_port=dport,
                  to_server=to_server)


def feed_datagrams(chunks: list[tuple[bool, bytes]], state: dict[str, Any] | None = None) -> list[Observation]:
    """Each (to_server, datagram) of one UDP flow through the dissector, as the engine hands them."""
    state = {} if state is None else state
    d, out = SipDissector(), []
    for to_server, data in chunks:
        out.extend(contract_call(d, _udp(data, to_server), state))
    return out


def _fields(obs: list[Observation], kind: str | None = None) -> list[dict[str, Any]]:
    return [o.fields for o in obs if kind is None or o.kind == kind]


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_the_rfc_3665_registration_as_each_message_shows_it(transport: str) -> None:
    feed = feed_datagrams if transport == "udp" else lambda chunks: feed_chunks(SipDissector(), chunks)
    obs = feed(REGISTRATION)
    assert [(o.kind, o.src_ip, o.subject) for o in obs] == [
        ("request", "10.0.0.1", "src"), ("response", "10.0.0.2", "src")] * 2
    first, challenge, retry, ok = _fields(obs)
    assert (first["method"], first["uri"], first["cseq"], first["cseq_method"]) == (
        "REGISTER", "sips:ss2.biloxi.example.com", 1, "REGISTER")
    assert (first["from"], first["to"], first["contact"]) == (
        "bob@biloxi.example.com", "bob@biloxi.example.com", ["bob@client.biloxi.example.com"])
    assert (first["via_hops"], first["via_transport"], first["via_sent_by"]) == (
        1, "TLS", "client.biloxi.example.com:5061")
    assert first["credentials"] is False and first["transport"] == transport
    assert (challenge["status"], challenge["reason"], challenge["credentials_sent"]) == (401, "Unauthorized", False)
    assert (challenge["auth_scheme"], challenge["auth_realm"]) == ("Digest", "atlanta.example.com")  # folded line
    assert (retry["credentials"], retry["auth_scheme"], retry["auth_user"], retry["auth_realm"]) == (
        True, "Digest", "bob", "atlanta.example.com")
    assert (ok["status"], ok["credentials_sent"], ok["expires"]) == (200, True, 3600)
    # one Call-ID, kept as a digest: the four messages are one registration, the value is not kept
    assert len({f["call_id"] for f in (first, challenge, retry, ok)}) == 1
    assert "1j9FpLxk3uxtm8tn" not in repr(obs)
    assert "dfe56131d1958046689d83306477ecc" not in repr(obs) and "ea9c8e88df84" not in repr(obs)
    assert "Bob" not in repr(_fields(obs))  # display names are not kept


def test_a_tcp_stream_split_anywhere_gives_the_same_observations() -> None:
    whole = feed_chunks(SipDissector(), [(True, F1 + F3 + invite()), (False, F2 + b"\r\n\r\n" + F4)])
    assert [o.kind for o in whole] == ["request"] * 3 + ["response"] * 2
    for step in (1, 2, 7, 100):
        client, server = F1 + F3 + invite(), F2 + b"\r\n\r\n" + F4
        chunks = [(True, client[i : i + step]) for i in range(0, len(client), step)]
        chunks += [(False, server[i : i + step]) for i in range(0, len(server), step)]
        assert [(o.kind, o.fields) for o in feed_chunks(SipDissector(), chunks)] == [(o.kind, o.fields) for o in whole]


def test_an_invite_with_an_offer_describes_its_media_and_its_senders_software() -> None:
    (obs,) = feed_datagrams([(True, invite())])
    f = obs.fields
    assert (f["method"], f["uri"], f["from"], f["to"]) == ("INVITE", "sip:bob@biloxi.com", "alice@atlanta.com",
                                                           "bob@biloxi.com")
    assert f["media"] == ["audio", "video"] and f["codecs"] == ["PCMU", "PCMA", "ILBC", "H261", "MPV"]
    assert f["user_agent"] == "Yealink SIP-T46S 66.86.0.15"
    assert f["sender"] == {"user_agent": "Yealink SIP-T46S 66.86.0.15", "server": None}
    assert f["allow"] == ["INVITE", "ACK", "CANCEL", "BYE", "OPTIONS"] and f["supported"] == ["replaces", "timer"]
    assert f["content_type"] == "application/sdp"


def test_a_request_a_proxy_forwarded_carries_its_originators_software_not_its_senders() -> None:
    """RFC 3261 §24.2 F4: atlanta.com's proxy forwards Alice's INVITE with its own Via on top (§16.6 step 8)."""
    vias = (b"Via: SIP/2.0/UDP bigbox3.site3.atlanta.com;branch=z9hG4bK77ef4c2312983.1\r\n"
            b"Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8;received=192.0.2.1\r\n")
    (obs,) = feed_datagrams([(True, invite(vias))])
    assert obs.fields["via_hops"] == 2 and obs.fields["via_sent_by"] == "bigbox3.site3.atlanta.com"
    assert obs.fields["user_agent"] == "Yealink SIP-T46S 66.86.0.15" and obs.fields["sender"] is None
    (one_line,) = feed_datagrams([(True, invite(b"Via: SIP/2.0/UDP a.example;branch=1, SIP/2.0/UDP b.example\r\n"))])
    assert one_line.fields["via_hops"] == 2 and one_line.fields["sender"] is None


def test_a_response_a_proxy_relayed_carries_the_uas_contact_and_software_not_its_senders() -> None:
    """RFC 3261 §16.7: the proxy (10.0.0.2 here) forwards the callee's 180 with the callee's Contact (§12.1.1) and
    Server; a REGISTER's 200 lists the client's bindings (§10.3), which say nothing of who answered."""
    ringing = (b"SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\n"
               b"From: <sip:a@10.0.0.2>;tag=1\r\nTo: <sip:b@10.0.0.2>;tag=2\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n"
               b"Contact: <sip:b@%s:5060>\r\nServer: Yealink SIP-T46S 66.86.0.15\r\nContent-Length: 0\r\n\r\n")
    relayed, own, named = (feed_datagrams([(False, ringing % host)])[0] for host in (
        b"10.0.0.3", b"10.0.0.2", b"callee.example.com"))
    assert relayed.fields["server"] == "Yealink SIP-T46S 66.86.0.15" and relayed.fields["sender"] is None
    assert own.fields["sender"] == {"user_agent": None, "server": "Yealink SIP-T46S 66.86.0.15"}
    assert named.fields["sender"] is not None  # a host name cannot be compared with the sender's address
    (registered,) = feed_datagrams([(False, F4.replace(b"CSeq: 2 REGISTER", b"CSeq: 2 REGISTER\r\nServer: Kam"))])
    assert registered.fields["sender"] == {"user_agent": None, "server": "Kam"}


def test_compact_forms_folding_and_what_is_never_kept() -> None:
    """RFC 3261 §7.3.3 compact names (v f t i m k l c), §7.3.1 folding; a display name and the password of a
    URI's userinfo (§19.1.1) are not kept."""
    message = (b"options sip:100:pw@10.0.0.2;transport=udp SIP/2.0\r\nv: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\n"
               b'f: "Sales Desk" <sip:sales:secret@10.0.0.1>;tag=1\r\nt: <sip:100@10.0.0.2>\r\ni: abc@10.0.0.1\r\n'
               b"CSeq: 7 OPTIONS\r\nm: <sip:sales@10.0.0.1:5060>;expires=60, <sip:sales@[2001:db8::1]:5060>\r\n"
               b"k: replaces,\r\n timer\r\nUser-Agent: Grandstream\r\n\tGXP2170 1.0.11.3\r\nl: 0\r\n\r\n")
    (obs,) = feed_datagrams([(True, message)])
    f = obs.fields
    assert (f["method"], f["uri"], f["from"], f["to"]) == ("OPTIONS", "sip:100@10.0.0.2", "sales@10.0.0.1",
                                                           "100@10.0.0.2")
    assert f["contact"] == ["sales@10.0.0.1", "sales@[2001:db8::1]"] and f["expires"] == 60
    assert f["supported"] == ["replaces", "timer"] and f["user_agent"] == "Grandstream GXP2170 1.0.11.3"
    assert f["call_id"] and "abc@10.0.0.1" not in repr(f) and "secret" not in repr(f) and "pw" not in repr(f)
    assert "Sales Desk" not in repr(f)


def test_a_star_contact_removes_every_binding() -> None:
    message = F1.replace(b"Contact: <sips:bob@client.biloxi.example.com>", b"Contact: *\r\nExpires: 0")
    (obs,) = feed_datagrams([(True, message)])
    assert obs.fields["contact"] == ["*"] and obs.fields["expires"] == 0


def test_a_scanners_user_agent_is_recorded_as_sent() -> None:
    (obs,) = feed_datagrams([(True, SVMAP)])
    assert obs.fields["user_agent"] == "friendly-scanner" and obs.fields["method"] == "OPTIONS"
    assert obs.fields["to"] == "100@1.1.1.1" and obs.fields["via_sent_by"] == "192.0.2.66:5060"


def test_proxy_authentication_and_a_response_whose_request_was_not_seen() -> None:
    challenged = F2.replace(b"401 Unauthorized", b"407 Proxy Authentication Required").replace(
        b"WWW-Authenticate", b"Proxy-Authenticate")
    retry = F3.replace(b"Authorization", b"Proxy-Authorization")
    obs = feed_datagrams([(True, F1), (False, challenged), (True, retry), (False, F4.replace(b"200 OK", b"403 No")),
                          (False, F4.replace(b"CSeq: 2", b"CSeq: 9"))])
    _, challenge, guess, refused, unknown = _fields(obs)
    assert (challenge["status"], challenge["auth_realm"], challenge["credentials_sent"]) == (
        407, "atlanta.example.com", False)
    assert guess["credentials"] and guess["auth_user"] == "bob"
    assert (refused["status"], refused["credentials_sent"]) == (403, True)
    assert unknown["credentials_sent"] is None


def test_a_stale_nonce_challenge_says_so() -> None:
    # RFC 7616 §3.3: the retry's credentials were right, only its nonce had expired (stale=TRUE, any case)
    stale = F2.replace(b"CSeq: 1 REGISTER", b"CSeq: 2 REGISTER").replace(b"stale=FALSE", b"stale=true")
    obs = feed_datagrams([(True, F1), (False, F2), (True, F3), (False, stale)])
    assert [(f["status"], f["credentials_sent"], f["auth_stale"]) for f in _fields(obs, "response")] == [
        (401, False, False), (401, True, True)]
    assert _fields(feed_datagrams([(True, F3), (False, F4)]), "response")[0]["auth_stale"] is None  # no challenge


def test_requests_both_ways_on_one_flow_are_paired_with_their_own_answers() -> None:
    """A PBX asks the phone OPTIONS on the flow the phone registers on: the same CSeq number and Call-ID digest
    on a request each way must not pair one's answer with the other's request."""
    phone_asks = F3.replace(b"CSeq: 2 REGISTER", b"CSeq: 5 OPTIONS").replace(b"REGISTER sips", b"OPTIONS sips")
    pbx_asks = F1.replace(b"CSeq: 1 REGISTER", b"CSeq: 5 OPTIONS").replace(b"REGISTER sips", b"OPTIONS sips")
    answer = F4.replace(b"CSeq: 2 REGISTER", b"CSeq: 5 OPTIONS")
    obs = feed_datagrams([(True, phone_asks), (False, pbx_asks), (True, answer), (False, answer)])
    assert [f.get("credentials_sent") for f in _fields(obs, "response")] == [False, True]


def test_keep_alives_are_passed_over() -> None:
    """RFC 5626 §3.5.1 CRLF keep-alives (TCP), §4.4.1 and §4.4.2 (UDP: CRLFs, STUN binding requests)."""
    stun = bytes.fromhex("0001 0000 2112a442") + bytes(12)
    assert feed_datagrams([(True, b""), (True, b"\r\n\r\n"), (False, b"\r\n"), (True, stun)]) == []
    obs = feed_chunks(SipDissector(), [(True, b"\r\n\r\n"), (True, F1 + b"\r\n\r\n\r\n" + F3), (False, b"\r\n")])
    assert [f["cseq"] for f in _fields(obs)] == [1, 2]


def test_udp_bodies_follow_content_length() -> None:
    """RFC 3261 §18.3: bytes past Content-Length are discarded; a body shorter than it is not described."""
    padded = invite() + b"trailing junk"
    (obs,) = feed_datagrams([(True, padded)])
    assert obs.fields["codecs"] == ["PCMU", "PCMA", "ILBC", "H261", "MPV"]
    cut = invite()[:-20]
    (short,) = feed_datagrams([(True, cut)])
    assert "codecs" not in short.fields and short.fields["method"] == "INVITE"


def test_a_body_that_is_no_sdp_is_skipped_over_tcp() -> None:
    pidf = b"<?xml version='1.0'?><presence/>"
    publish = (b"PUBLISH sip:bob@biloxi.com SIP/2.0\r\nCSeq: 1 PUBLISH\r\nc: application/pidf+xml\r\n"
               b"l: %d\r\n\r\n" % len(pidf)) + pidf
    obs = feed_chunks(SipDissector(), [(True, publish + F1)])
    assert [f["method"] for f in _fields(obs)] == ["PUBLISH", "REGISTER"] and "media" not in obs[0].fields


def test_probe_tells_sip_from_http_rtsp_and_ssdp() -> None:
    sip, http, rtsp = SipDissector(), HttpDissector(), RtspDissector()
    assert sip.probe(F1, True) and sip.probe(F2, False) and sip.probe(invite(), True) and sip.probe(SVMAP, True)
    for other in (b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n", b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n",
                  b"GET / HTTP/1.1\r\n", b"SIP/2.0\r\n", b"HTTP/1.1 200 OK\r\n", b"OPTIONS sip:x SIP/2.0"):
        assert not sip.probe(other, True) and not sip.probe(other, False)
    assert not http.probe(F1, True) and not rtsp.probe(F1, True) and not rtsp.probe(F2, False)


def test_the_ssdp_capture_suricata_says_is_not_sip_is_not() -> None:
    """suricata-verify sip-ssdp-pm: an SSDP NOTIFY (a SIP method name, HTTP's version) is no SIP message."""
    (pkt,) = [p for p in iter_packets(shared("pcaps", "suricata_verify", "sip-ssdp-pm", "ssdp.pcap")) if p.payload]
    assert not SipDissector().probe(pkt.payload, True)
    state: dict[str, Any] = {}
    with pytest.raises(ParseError, match="not a SIP start line"):
        SipDissector().feed(pkt, pkt.payload, state)
    assert state["done"]


@pytest.mark.parametrize("data", [
    b"\x16\x03\x01\x00",  # a TLS record header (SIP over TLS on the wrong port): refused before a line ends
    b"GET /index.html HTTP/1.1\r\nHost: pbx\r\n",  # a complete first line that is HTTP's
    b"A" * 40,  # longer than any method token
    b"SSH-2.0-OpenSSH_8.4\r\n",
])
def test_bytes_that_cannot_begin_sip_end_a_tcp_flow_that_was_never_sip(data: bytes) -> None:
    state: dict[str, Any] = {}
    with pytest.raises(ParseError):
        SipDissector().feed(Packet(ts=0.0, payload=b"", ip_proto=6, to_server=True), data, state)
    assert state["done"]


def test_garbage_after_sip_closes_its_direction_keeping_what_came_before() -> None:
    d, state = SipDissector(), {}
    tcp = Packet(ts=0.0, payload=b"", ip_proto=6, to_server=True)
    with pytest.raises(PartialParse) as caught:
        d.feed(tcp, F1 + b"\x00\x01garbage\r\n\r\n", state)
    assert [o.fields["cseq"] for o in caught.value.made] == [1]
    assert state["closed_c2s"] and not state.get("done")
    (answer,) = d.feed(Packet(ts=0.0, payload=b"", ip_proto=6, to_server=False), F2, state)
    assert answer.fields["credentials_sent"] is False


def test_a_bad_datagram_on_a_sip_flow_is_counted_and_the_flow_goes_on() -> None:
    d, state = SipDissector(), {}
    d.feed(_udp(F1), F1, state)
    with pytest.raises(ParseError):
        d.feed(_udp(b"\x80\x00 rtp"), b"\x80\x00 rtp", state)
    assert not state.get("done") and len(d.feed(_udp(F2, False), F2, state)) == 1
    fresh: dict[str, Any] = {}
    with pytest.raises(ParseError):
        d.feed(_udp(b"\x80\x00 rtp"), b"\x80\x00 rtp", fresh)
    assert fresh["done"]  # a flow whose first datagram is not SIP is another protocol's


def test_limits_messages_transactions_head_and_body() -> None:
    obs = feed_chunks(SipDissector(), [(True, SVMAP)] * (MAX_MESSAGES + 5))
    assert len(obs) == MAX_MESSAGES
    requests = [(True, F3.replace(b"CSeq: 2", b"CSeq: %d" % n)) for n in range(MAX_PENDING + 1)]
    state: dict[str, Any] = {}
    feed_datagrams(requests, state)
    assert len(state["pending"]) == MAX_PENDING  # the oldest (CSeq 0) forgotten
    old, recent = (feed_datagrams([(False, F4.replace(b"CSeq: 2", b"CSeq: %d" % n))], state)[0] for n in (0, 5))
    assert old.fields["credentials_sent"] is None and recent.fields["credentials_sent"] is True
    with pytest.raises(ParseError, match="header section over"):
        SipDissector().feed(_udp(b""), F1[:-4] + b"\r\nX: " + b"y" * MAX_HEAD + b"\r\n\r\n", {})
    huge = F1.replace(b"Content-Length: 0", b"Content-Length: %d" % (MAX_BODY + 1))
    with pytest.raises(ParseError, match="Content-Length"):
        SipDissector().feed(Packet(ts=0.0, payload=b"", ip_proto=6, to_server=True), huge, {})
    long_head = F1[:-2] + b"X: " + b"y" * MAX_HEAD
    state = {}
    with pytest.raises(ParseError, match="header section over"):
        for i in range(0, len(long_head), 1000):
            SipDissector().feed(Packet(ts=0.0, payload=b"", ip_proto=6, to_server=True), long_head[i : i + 1000], state)


@pytest.mark.parametrize("name", TCPDUMP_CAPTURES)
def test_tcpdump_captures_on_any_port_keep_the_contract(name: str) -> None:
    feed_capture_any_port(SipDissector(), shared("pcaps", "tcpdump_tests", name))
    feed_capture_any_port(SipDissector(), shared("pcaps", "tcpdump_tests", name), ip_proto=17)  # SIP over UDP


MESSAGES = [F1, F2, F3, F4, invite(), SVMAP]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8), st.integers(0, 1500),
       st.sampled_from(MESSAGES))
def test_fuzz_mutated_datagrams(edits: list[tuple[int, int]], cut: int, message: bytes) -> None:
    contract_call(SipDissector(), _udp(mutate(message, edits, cut)), {})


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8), st.integers(0, 3000),
       st.integers(1, 64))
def test_fuzz_mutated_tcp_streams(edits: list[tuple[int, int]], cut: int, step: int) -> None:
    stream = mutate(F1 + invite() + F3, edits, cut)
    feed_chunks(SipDissector(), [(True, stream[i : i + step]) for i in range(0, len(stream), step)])


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400), st.sampled_from([b"", b"REGISTER sip:x SIP/2.0\r\n", b"SIP/2.0 200 OK\r\n"]))
def test_fuzz_random_bytes(data: bytes, start: bytes) -> None:
    contract_call(SipDissector(), _udp(start + data), {})
    contract_call(SipDissector(), Packet(ts=0.0, payload=start + data, ip_proto=6, to_server=True), {})
    SipDissector().probe(start + data, True)


def test_through_the_engine_udp_and_tcp_5060_another_port_by_probe_and_tls_on_5060_refused(tmp_path: Path) -> None:
    phone, pbx, other = host(10), host(2), host(11)
    frames = [f for n, (to_pbx, data) in enumerate(REGISTRATION)
              for f in (udp(phone, pbx, 5060, 5060, data, t=T0 + n) if to_pbx else udp(pbx, phone, 5060, 5060, data,
                                                                                       t=T0 + n))]
    frames += tcp(other, pbx, 5060, [(True, F1 + F3), (False, F2 + F4)], t=T0 + 10)
    frames += udp(other, pbx, 40000, 5080, invite(), t=T0 + 20)
    frames += tcp(other, pbx, 5060, [(True, client_hello([0x1301]))], t=T0 + 30, cport=40001)
    obs, flows = engine_run(write_pcap(tmp_path / "sip.pcap", frames))
    sip = [o for o in obs if o.proto == "sip"]
    assert [(o.fields["transport"], o.kind, o.fields["cseq"]) for o in sip] == [
        ("udp", "request", 1), ("udp", "response", 1), ("udp", "request", 2), ("udp", "response", 2),
        ("tcp", "request", 1), ("tcp", "request", 2), ("tcp", "response", 1), ("tcp", "response", 2),
        ("udp", "request", 314159)]
    assert [o.fields["credentials_sent"] for o in sip if o.kind == "response"] == [False, True] * 2
    apps = sorted((f.ip_proto, f.a_port, f.b_port, f.app) for f in flows)
    assert (17, 5060, 5060, "sip") in apps and (17, 40000, 5080, "sip") in apps and (6, 40000, 5060, "sip") in apps
    tls_flow = next(f for f in flows if 40001 in (f.a_port, f.b_port))
    assert tls_flow.app == "tls"  # refused at its first bytes, handed on (engine/dispatch.py fall-back)
