"""HTTP bodies (dissect/httpbody.py): framing lengths, the body walked to the next head, a document cut by a hole."""

from __future__ import annotations

from typing import Any

import pytest

from iotwarden.dissect.base import Packet
from iotwarden.dissect.httpbody import DESCRIPTION, SENDER, body_length, cut_document, skip_body
from iotwarden.dissect.upnpdesc import DescriptionReader
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from tests.dissect.upnpdocs import SONOS_ONE


@pytest.mark.parametrize(("headers", "key", "length"), [
    ({"transfer-encoding": "gzip, chunked", "content-length": "5"}, "s2c", -1),  # RFC 9112 §6.3 (3): chunked wins
    ({"content-length": "12"}, "s2c", 12),
    ({"content-length": "12, 12"}, "c2s", 12),  # RFC 9110 §8.6: a list of one repeated value
    ({}, "c2s", 0),  # §6.3 (6): a request without either has no body
    ({}, "s2c", -2),  # §6.3 (8): a response's runs until the connection closes
])
def test_a_body_is_framed_by_its_coding_its_length_or_the_close(headers: dict[str, str], key: str,
                                                               length: int) -> None:
    assert body_length(headers, {}, key, "HTTP/1.1") == length


def test_an_unusable_content_length_closes_its_direction_and_drops_what_it_holds() -> None:
    state: dict[str, Any] = {"s2c": bytearray(b"the body")}
    with pytest.raises(ParseError, match="Content-Length"):
        body_length({"content-length": "8 bytes"}, state, "s2c", "HTTP/1.1")
    assert state["closed_s2c"] and not state["s2c"]


def _walk(buf: bytearray, state: dict[str, Any]) -> list[str]:
    steps: list[str] = []
    while buf and (not steps or steps[-1] == "skipped"):
        steps.append(skip_body("http", Packet(ts=0.0, payload=b"", to_server=False), buf, state, [], key="s2c"))
    return steps


def test_a_chunked_body_and_its_trailer_are_skipped_to_the_next_head() -> None:
    nxt = b"HTTP/1.1 204 No Content\r\n\r\n"
    buf = bytearray(b"5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\nExpires: never\r\n\r\n" + nxt)
    state: dict[str, Any] = {"chunk_s2c": 0}
    assert _walk(buf, state)[-1] == "head" and bytes(buf) == nxt
    assert state["chunk_s2c"] is None and not state["trailer_s2c"]


def test_a_body_split_across_deliveries_waits_for_the_rest() -> None:
    state: dict[str, Any] = {"body_s2c": 10}
    assert _walk(bytearray(b"12345"), state) == ["skipped"] and state["body_s2c"] == 5
    assert _walk(bytearray(b"12345HTTP/1.1"), state) == ["skipped", "head"]


def test_a_bad_chunk_size_line_closes_the_direction() -> None:
    state: dict[str, Any] = {"chunk_s2c": 0}
    with pytest.raises(ParseError, match="chunk-size"):
        _walk(bytearray(b"zz\r\nmore"), state)
    assert state["closed_s2c"]


def test_a_document_a_hole_cuts_is_reported_as_read_up_to_it_about_its_sender() -> None:
    reader = DescriptionReader()
    reader.feed(SONOS_ONE[: len(SONOS_ONE) // 2])
    server = Packet(ts=5.0, payload=b"", src_ip="192.168.1.30", dst_ip="192.168.1.2", to_server=False)
    state: dict[str, Any] = {DESCRIPTION: reader, SENDER + "s2c": server}
    (obs,) = cut_document("http", state, "s2c")
    assert isinstance(obs, Observation) and obs.kind == "upnp_description" and obs.src_ip == "192.168.1.30"
    assert obs.fields["upnp_truncated"] is True and obs.fields["upnp_manufacturer"] == "Sonos, Inc."
    assert state[DESCRIPTION] is None and cut_document("http", state, "s2c") == []


def test_chunk_data_not_ended_by_crlf_closes_the_direction() -> None:
    state: dict[str, Any] = {"chunk_s2c": 0}
    with pytest.raises(ParseError, match="CRLF"):
        _walk(bytearray(b"3\r\nabcXY\r\n0\r\n\r\n"), state)
    assert state["closed_s2c"]
    state = {"chunk_s2c": 0}
    assert _walk(bytearray(b"3\r\nabc\r\n0\r\n\r\nnext"), state)[-1] == "head"
