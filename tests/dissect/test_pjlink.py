"""PJLink on tcp/4352 (JBMIA PJLink Specifications Class 1 v1.04, Class 2 v2.00): a projector's greeting, its
answers to the identity queries (maker, product, class, serial, software) and a controller's commands; every byte
split, limits, malformed and hostile input."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect import default_dissectors
from iotwarden.dissect.base import Packet
from iotwarden.dissect.pjlink import MAX_COMMANDS, MAX_LINE, MAX_REPLIES, MAX_TEXT, PjlinkDissector
from iotwarden.dissect.streambuf import PartialParse
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from tests.conftest import shared
from tests.dissect.hostile import TCPDUMP_CAPTURES, feed_capture_any_port, feed_chunks, mutate

# a controller's identity poll of a Class 1 projector without authentication, and the projector's answers
QUERIES = b"%1CLSS ?\r%1INF1 ?\r%1INF2 ?\r%1INFO ?\r%1NAME ?\r%1POWR ?\r%1LAMP ?\r"
ANSWERS = (b"PJLINK 0\r%1CLSS=1\r%1INF1=EPSON\r%1INF2=EB-2250U\r%1INFO=\r%1NAME=Board room 4.12\r%1POWR=1\r"
           b"%1LAMP=3131 1\r")
# a Class 2 device asking for authentication: each command carries the MD5 digest of the random and the password
AUTH_GREETING = b"PJLINK 1 498e4a67\r"
DIGEST = b"5d8409bc1c3fa39749434aa3a5c38682"
CLASS2_ANSWERS = AUTH_GREETING + b"%2SNUM=X4LE8300123\r%2SVER=1.02\r%1INF1=ERR3\r%2INPT=ERR2\r"


def pjlink(chunks: list[tuple[bool, bytes]]) -> list[Observation]:
    return feed_chunks(PjlinkDissector(), chunks)


def of(obs: list[Observation], kind: str) -> list[dict[str, Any]]:
    return [o.fields for o in obs if o.kind == kind]


def test_a_projector_names_its_maker_product_and_class_never_its_site_name() -> None:
    obs = pjlink([(True, QUERIES), (False, ANSWERS)])
    assert of(obs, "greeting") == [{"security": False, "auth_error": False}]
    replies = of(obs, "reply")
    assert [r["command"] for r in replies] == ["CLSS", "INF1", "INF2", "INFO", "NAME", "POWR", "LAMP"]
    assert (replies[0]["device_class"], replies[1]["manufacturer"], replies[2]["product"]) == ("1", "EPSON",
                                                                                               "EB-2250U")
    assert replies[3]["other_info"] is None  # an empty answer states nothing
    assert "Board room" not in repr(obs)  # NAME, a site's own label, is not kept
    assert all(r["pjlink_class"] == 1 and r["error"] is None for r in replies)
    assert all(o.subject == "src" for o in obs)
    commands = of(obs, "command")
    assert [c["command"] for c in commands] == ["CLSS", "INF1", "INF2", "INFO", "NAME", "POWR", "LAMP"]
    assert all(c["query"] for c in commands)


def test_a_class_2_device_with_authentication_its_serial_software_and_errors() -> None:
    obs = pjlink([(True, DIGEST + b"%2SNUM ?\r" + DIGEST + b"%2SVER ?\r%1POWR 1\r"), (False, CLASS2_ANSWERS)])
    assert of(obs, "greeting") == [{"security": True, "auth_error": False}]
    replies = of(obs, "reply")
    assert (replies[0]["serial_number"], replies[1]["software_version"]) == ("X4LE8300123", "1.02")
    assert [(r["command"], r["error"]) for r in replies[2:]] == [("INF1", "ERR3"), ("INPT", "ERR2")]
    assert replies[2]["manufacturer"] is None  # an error is no answer
    commands = of(obs, "command")
    assert [(c["command"], c["pjlink_class"], c["query"]) for c in commands] == [
        ("SNUM", 2, True), ("SVER", 2, True), ("POWR", 1, False)]
    assert DIGEST.decode() not in repr(obs)


def test_an_authentication_error() -> None:
    assert of(pjlink([(False, b"PJLINK ERRA\r")]), "greeting") == [{"security": None, "auth_error": True}]


def test_split_at_every_byte() -> None:
    whole = pjlink([(True, QUERIES), (False, ANSWERS)])
    for cut in range(1, len(ANSWERS)):
        split = pjlink([(True, QUERIES), (False, ANSWERS[:cut]), (False, ANSWERS[cut:])])
        assert [o.fields for o in split] == [o.fields for o in whole], cut


def test_crlf_line_ends_are_read_like_cr() -> None:
    replies = of(pjlink([(False, ANSWERS.replace(b"\r", b"\r\n"))]), "reply")
    assert replies[1]["manufacturer"] == "EPSON" and len(replies) == 7


@pytest.mark.parametrize(("payload", "to_server", "expect"), [
    (b"PJLINK 0\r", False, True),
    (AUTH_GREETING, False, True),
    (b"PJLINK ERRA\r", False, True),
    (b"PJLINK 0", False, False),  # not yet a whole line
    (b"PJLINK 0\r", True, False),  # the device speaks first, never the client
    (b"HTTP/1.1 200 OK\r\n", False, False),
    (b"PJLINK 2\r", False, False),
])
def test_probe(payload: bytes, to_server: bool, expect: bool) -> None:
    assert PjlinkDissector().probe(payload, to_server) is expect


def test_registered_on_its_port() -> None:
    found = [d for d in default_dissectors() if d.name == "pjlink"]
    assert len(found) == 1 and found[0].tcp_ports == (4352,)


def test_replies_and_commands_per_flow_are_bounded() -> None:
    obs = pjlink([(True, b"%1POWR ?\r" * (MAX_COMMANDS + 5)),
                  (False, b"PJLINK 0\r" + b"%1POWR=0\r" * (MAX_REPLIES + 5))])
    assert len(of(obs, "command")) == MAX_COMMANDS and len(of(obs, "reply")) == MAX_REPLIES


def test_an_answer_is_cut_at_its_limit() -> None:
    long = b"A" * (MAX_TEXT + 20)
    assert of(pjlink([(False, b"%1INF2=" + long + b"\r")]), "reply")[0]["product"] == "A" * MAX_TEXT


def _feed(chunks: list[tuple[bool, bytes]]) -> tuple[list[Observation], list[Exception], dict[str, Any]]:
    d, state, out, errors = PjlinkDissector(), {}, [], []
    for to_server, data in chunks:
        pkt = Packet(ts=1.0, payload=data, src_ip="10.0.0.2" if not to_server else "10.0.0.1",
                     dst_ip="10.0.0.1" if not to_server else "10.0.0.2", ip_proto=6,
                     src_port=4352 if not to_server else 40000, dst_port=40000 if not to_server else 4352,
                     to_server=to_server)
        try:
            out += d.feed(pkt, data, state)
        except ParseError as exc:
            errors.append(exc)
            out += exc.made if isinstance(exc, PartialParse) else []
    return out, errors, state


def test_a_line_over_its_limit_closes_that_direction() -> None:
    obs, errors, _ = _feed([(False, b"PJLINK 0\r%1INF1=EPSON\r" + b"%1INF2=" + b"B" * MAX_LINE + b"\r"),
                            (False, b"%1INF2=EB-X41\r")])
    assert len(errors) == 1 and [r.get("manufacturer") for r in of(obs, "reply")] == ["EPSON"]
    obs, errors, _ = _feed([(False, b"%1INF1=" + b"C" * (MAX_LINE + 1))])  # no CR yet, already too long
    assert len(errors) == 1 and obs == []


def test_garbage_keeps_what_came_before_and_the_other_direction_reads_on() -> None:
    obs, errors, _ = _feed([(False, b"PJLINK 0\r%1INF1=EPSON\rGET / HTTP/1.1\r"), (True, b"%1INF2 ?\r"),
                            (False, b"%1INF2=EB-X41\r")])
    assert len(errors) == 1
    assert [o.kind for o in obs] == ["greeting", "reply", "command"]


@pytest.mark.parametrize("name", TCPDUMP_CAPTURES)
def test_tcpdump_captures_on_any_port_keep_the_contract(name: str) -> None:
    feed_capture_any_port(PjlinkDissector(), shared("pcaps", "tcpdump_tests", name))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.booleans())
def test_fuzz_random_bytes_keep_the_contract(data: bytes, to_server: bool) -> None:
    pjlink([(to_server, data)])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 100_000), st.integers(0, 255)), max_size=8), st.integers(0, 400))
def test_fuzz_mutated_exchanges(edits: list[tuple[int, int]], cut: int) -> None:
    pjlink([(True, mutate(DIGEST + QUERIES, edits, cut)), (False, mutate(CLASS2_ANSWERS + ANSWERS, edits, cut))])
