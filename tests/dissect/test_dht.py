"""BitTorrent DHT (BEP 5) KRPC messages: the specification's own examples, the probe, limits and hostile input."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.dht import MAX_DEPTH, DhtDissector, decode, looks_like, parse
from iotwarden.errors import ParseError
from tests.dissect.hostile import TCPDUMP_CAPTURES, TCPDUMP_DIR, contract_call, feed_capture_any_port, mutate
from tests.engineutil import engine_run
from tests.risk.harness import T0, host, udp, write_pcap

# BEP 5 "KRPC Protocol" examples, byte for byte
PING = b"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe"
PING_ANSWER = b"d1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re"
FIND_NODE = b"d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e1:q9:find_node1:t2:aa1:y1:qe"
GET_PEERS = b"d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e1:q9:get_peers1:t2:aa1:y1:qe"
ERROR = b"d1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee"


def test_the_bep5_examples() -> None:
    assert parse(PING) == ("query", {"method": "ping", "node_id": b"abcdefghij0123456789".hex(), "client": None})
    assert parse(PING_ANSWER) == ("response", {"method": None, "node_id": b"mnopqrstuvwxyz123456".hex(),
                                               "client": None})
    assert parse(FIND_NODE)[1]["method"] == "find_node" and parse(GET_PEERS)[1]["method"] == "get_peers"
    assert parse(ERROR) == ("error", {"method": None, "node_id": None, "client": None})


def test_bep20_client_version() -> None:
    message = PING[:-1] + b"1:v4:LT\x01\x02e"  # keys out of order are still one dictionary
    assert parse(message)[1]["client"] == "LT0102"


def test_bencoding_per_bep3() -> None:
    assert decode(b"i42e") == 42 and decode(b"i-3e") == -3 and decode(b"i0e") == 0
    assert decode(b"4:spam") == b"spam" and decode(b"l4:spami42ee") == [b"spam", 42]
    assert decode(b"d3:cow3:moo4:spam4:eggse") == {b"cow": b"moo", b"spam": b"eggs"}
    for bad in (b"i-0e", b"i03e", b"ie", b"5:spam", b"l4:spam", b"di1e3:fooe", b"4:spamX", b"x", b""):
        with pytest.raises(ParseError):
            decode(bad)


def test_limits() -> None:
    with pytest.raises(ParseError, match="limits"):
        decode(b"l" * (MAX_DEPTH + 2) + b"e" * (MAX_DEPTH + 2))
    with pytest.raises(ParseError, match="limits"):
        decode(b"l" + b"i1e" * 600 + b"e")


@pytest.mark.parametrize("payload", [PING_ANSWER, FIND_NODE, ERROR])
def test_the_probe_takes_whole_krpc_messages(payload: bytes) -> None:
    assert looks_like(payload)


@pytest.mark.parametrize("payload", [b"d1:ae", b"GET / HTTP/1.1\r\n\r\n", b"\xf1\x00\x00\x00", PING[:-1], b""])
def test_the_probe_leaves_the_rest(payload: bytes) -> None:
    assert not looks_like(payload)


@pytest.mark.parametrize("payload", [b"d1:t2:aa1:y1:qe", b"d1:ad2:id3:abce1:q4:ping1:t2:aa1:y1:qe",
                                     b"d1:y1:x1:t2:aae", b"le"])
def test_what_is_no_krpc_message_is_a_parse_error(payload: bytes) -> None:
    with pytest.raises(ParseError):
        parse(payload)


def test_through_the_engine_on_any_udp_port(tmp_path: Path) -> None:
    bot, node = host(5), host(9, "203.0.113")
    frames = udp(bot, node, 51413, 38223, FIND_NODE) + udp(node, bot, 38223, 51413, PING_ANSWER, t=T0 + 0.2)
    obs, flows = engine_run(write_pcap(tmp_path / "dht.pcap", frames))
    assert [(o.proto, o.kind, o.src_ip) for o in obs] == [("dht", "query", bot.ip), ("dht", "response", node.ip)]
    assert [f.app for f in flows] == ["dht"]


@pytest.mark.parametrize("name", TCPDUMP_CAPTURES)
def test_tcpdump_captures_on_any_port_keep_the_contract(name: str) -> None:
    feed_capture_any_port(DhtDissector(), TCPDUMP_DIR / name)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6), st.integers(0, 200))
def test_fuzz_mutated_messages(edits: list[tuple[int, int]], cut: int) -> None:
    from iotwarden.dissect.base import Packet

    data = mutate(FIND_NODE, edits, cut)
    pkt = Packet(ts=1.0, payload=data, src_ip="10.0.0.1", dst_ip="203.0.113.9", ip_proto=17, src_port=51413,
                 dst_port=6881, to_server=True)
    contract_call(DhtDissector(), pkt, {})
