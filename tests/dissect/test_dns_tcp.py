"""DNS over TCP read as a stream (RFC 1035 §4.2.2, RFC 7766 §8): length-prefixed messages whatever the
segmentation, pipelined ones (RFC 7766 §6.2.1.1), the buffer bound, and bad framing or messages.

The engine-level check cuts a built DNS-over-TCP session into 1-7 byte pieces and coalesces it into
super-packets (tests/dissect/resegment.py): the Observations must be the same. The shared captures hold
one DNS-over-TCP exchange only (tcpdump's dns_tcp.pcap, one message per segment), so the session with
pipelined queries, a two-segment answer and two answers in one segment is built here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.dns import MAX_TCP_MESSAGE, DnsDissector
from iotwarden.dissect.streambuf import PartialParse
from iotwarden.engine.core import Engine
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from tests.dissect.discovery import dns_msg, dns_rr, udp
from tests.dissect.hostile import feed_chunks
from tests.dissect.test_streambuf_resegmented import assert_invariant
from tests.sources.capbuild import ACK, FIN, PSH, SYN, batch_of, ethernet, pcap_bytes, tcp

C, S = "192.0.2.10", "192.0.2.53"
NAMES = ("camera.example", "hub.example", "printer.example")
QUERIES = [dns_msg(0x100 + i, 0x0100, questions=[(n, 1)]) for i, n in enumerate(NAMES)]
ANSWERS = [dns_msg(0x100 + i, 0x8180, questions=[(n, 1)],
                   answers=[dns_rr(b"\xc0\x0c", 1, bytes([192, 0, 2, 100 + i]))]) for i, n in enumerate(NAMES)]
# an answer longer than one Ethernet segment: 120 TXT records of 20 octets
BIG = dns_msg(0x200, 0x8180, questions=[("big.example", 16)],
              answers=[dns_rr(b"\xc0\x0c", 16, b"\x13" + b"k=%017d" % i) for i in range(120)])


def framed(message: bytes) -> bytes:
    return len(message).to_bytes(2, "big") + message


def session() -> list[tuple[bool, bytes]]:
    """(to_server, segment) of a pipelined session: three queries in one segment, the answers in two
    segments that cut the second answer, then a query and its 3.8 KiB answer in three segments."""
    answers = b"".join(framed(a) for a in ANSWERS)
    cut = len(framed(ANSWERS[0])) + 5
    big_query = dns_msg(0x200, 0x0100, questions=[("big.example", 16)])
    big = framed(BIG)
    return [(True, b"".join(framed(q) for q in QUERIES)), (False, answers[:cut]), (False, answers[cut:]),
            (True, framed(big_query)), (False, big[:1]), (False, big[1:1400]), (False, big[1400:])]


def summary(obs: list[Observation]) -> list[tuple[str, str | None, int, list[Any]]]:
    return [(o.kind, o.fields.get("qname"), o.fields["id"], [a["data"] for a in o.fields["answers"]]) for o in obs]


WANT = ([("query", n, 0x100 + i, []) for i, n in enumerate(NAMES)]
        + [("response", n, 0x100 + i, [f"192.0.2.{100 + i}"]) for i, n in enumerate(NAMES)]
        + [("query", "big.example", 0x200, [])])


def test_pipelined_and_split_messages_are_read_whole() -> None:
    assert len(BIG) > 3000  # three Ethernet segments
    obs = feed_chunks(DnsDissector(), session())
    assert summary(obs[:-1]) == WANT
    big = obs[-1]
    assert (big.kind, big.fields["id"], len(big.fields["answers"])) == ("response", 0x200, 64)  # dnswire's cap
    assert big.fields["answers"][0]["data"] == ["k=00000000000000000"]


def test_a_message_never_depends_on_where_the_segments_were_cut() -> None:
    stream = session()
    whole = summary(feed_chunks(DnsDissector(), stream))
    bytewise = [(to_server, seg[i : i + 1]) for to_server, seg in stream for i in range(len(seg))]
    assert summary(feed_chunks(DnsDissector(), bytewise)) == whole


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=40))
def test_any_cut_of_a_direction_gives_the_same_observations(sizes: list[int]) -> None:
    data = b"".join(framed(a) for a in ANSWERS)
    pieces, pos, i = [], 0, 0
    while pos < len(data):
        pieces.append((False, data[pos : pos + sizes[i % len(sizes)]]))
        pos += sizes[i % len(sizes)]
        i += 1
    assert summary(feed_chunks(DnsDissector(), pieces)) == WANT[3:6]


def test_a_malformed_message_inside_the_framing_costs_only_itself() -> None:
    bad = b"\x00\x01\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00"  # header claims 5 questions, has none
    state: dict[str, Any] = {}
    pkt = udp(framed(QUERIES[0]) + framed(bad) + framed(QUERIES[1]), 40000, 53, ip_proto=6)
    try:
        DnsDissector().feed(pkt, pkt.payload, state)
        raise AssertionError("the malformed message was not reported")
    except PartialParse as exc:
        assert [o.fields["qname"] for o in exc.made] == ["camera.example", "hub.example"]
    assert not state.get("done")  # the framing held: the flow is read on
    assert DnsDissector().feed(pkt, framed(QUERIES[2]), state)[0].fields["qname"] == "printer.example"


def test_a_prefix_shorter_than_a_header_loses_the_framing_and_ends_the_flow() -> None:
    state: dict[str, Any] = {}
    pkt = udp(b"", 40000, 53, ip_proto=6)
    try:
        DnsDissector().feed(pkt, framed(QUERIES[0]) + b"\x00\x05hello", state)
        raise AssertionError("a 5-octet message was accepted")
    except PartialParse as exc:
        assert [o.kind for o in exc.made] == ["query"]
    assert state["done"] is True and not state["c2s"]


def test_an_incomplete_message_is_held_up_to_the_longest_the_prefix_can_announce() -> None:
    d = DnsDissector()
    assert d.max_buffer == 2 + MAX_TCP_MESSAGE
    state: dict[str, Any] = {}
    pkt = udp(b"", 40000, 53, ip_proto=6)
    head = b"\xff\xff" + QUERIES[0]  # a 65535-octet message announced, its start delivered
    assert d.feed(pkt, head + b"\0" * (d.max_buffer - len(head) - 1), state) == []
    assert len(state["c2s"]) == d.max_buffer - 1 and not state.get("done")


def test_udp_stays_one_message_per_datagram() -> None:
    [obs] = DnsDissector().dissect(udp(QUERIES[0], 40000, 53), {})
    assert (obs.kind, obs.fields["qname"]) == ("query", "camera.example")
    try:
        DnsDissector().dissect(udp(framed(QUERIES[0]), 40000, 53), {})
        raise AssertionError("a length prefix was read on UDP")
    except ParseError:
        pass


def _capture(path: Path) -> Path:
    """The session as a capture: handshake, the segments with their sequence numbers, FIN."""
    seq = {True: 1000, False: 5000}
    frames = [(1.0, ethernet(tcp(C, S, 40000, 53, SYN, seq[True] - 1))),
              (1.001, ethernet(tcp(S, C, 53, 40000, SYN | ACK, seq[False] - 1), src=2, dst=1))]
    for i, (to_server, data) in enumerate(session()):
        src, dst, sport, dport = (C, S, 40000, 53) if to_server else (S, C, 53, 40000)
        frames.append((1.01 + i / 100, ethernet(tcp(src, dst, sport, dport, PSH | ACK, seq[to_server], data),
                                               src=1 if to_server else 2, dst=2 if to_server else 1)))
        seq[to_server] += len(data)
    frames.append((2.0, ethernet(tcp(C, S, 40000, 53, FIN | ACK, seq[True]))))
    path.write_bytes(pcap_bytes(frames))
    return path


def test_the_engine_observes_the_same_session_however_cut(tmp_path: Path) -> None:
    src = _capture(tmp_path / "dns_tcp_session.pcap")
    seen, stats = assert_invariant(src, tmp_path)
    assert sum(seen["dns"].values()) == len(WANT) + 1
    assert all(not s.parse_errors for s in stats)
    frames = [(1.0, ethernet(tcp(C, S, 40000, 53, SYN, 999)))]
    frames += [(1.1, ethernet(tcp(C, S, 40000, 53, PSH | ACK, 1000, b"\x00")))]  # half a prefix: names nothing
    engine = Engine()
    flows = engine.process(batch_of(frames)).flows + engine.flush().flows
    assert [f.app for f in flows] == [None]
