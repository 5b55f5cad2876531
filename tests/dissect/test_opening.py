"""The opening-exchange base: client first, then the server's answer, both observed; anything else ends the flow."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from iotwarden.dissect.base import Packet
from iotwarden.dissect.opening import OpeningExchange
from iotwarden.errors import ParseError


class Greeting(OpeningExchange):
    name: ClassVar[str] = "greeting"
    kind: ClassVar[str] = "hello"
    max_buffer: ClassVar[int] = 64

    def opening(self, buf: bytearray, to_server: bool) -> dict[str, Any] | None:
        want = b"HI" if to_server else b"OK"
        if len(buf) < 2:
            return None
        if bytes(buf[:2]) != want:
            raise ParseError("not a greeting")
        return {"side": "client" if to_server else "server"}


def pkt(to_server: bool) -> Packet:
    src, dst = ("10.0.0.2", "10.0.0.1") if to_server else ("10.0.0.1", "10.0.0.2")
    return Packet(ts=1.0, payload=b"", src_ip=src, dst_ip=dst, ip_proto=6, src_port=40000 if to_server else 9,
                  dst_port=9 if to_server else 40000, to_server=to_server)


def test_the_client_opening_in_pieces_then_the_answer_gives_both_sides() -> None:
    d, state = Greeting(), dict[str, Any]()
    assert d.feed(pkt(True), b"H", state) == [] and d.feed(pkt(True), b"I", state) == []
    got = d.feed(pkt(False), b"OK", state)
    assert [(o.kind, o.fields["side"], o.src_ip) for o in got] == [("hello", "client", "10.0.0.2"),
                                                                  ("hello", "server", "10.0.0.1")]
    assert state["done"]


@pytest.mark.parametrize("first", [(False, b"OK"), (True, b"NO")])
def test_a_server_speaking_first_or_a_wrong_opening_ends_the_flow(first: tuple[bool, bytes]) -> None:
    d, state = Greeting(), dict[str, Any]()
    with pytest.raises(ParseError):
        d.feed(pkt(first[0]), first[1], state)
    assert state["done"]
