"""PJLink Class 2 on udp/4352 (JBMIA PJLink Specifications Class 2 v2.00, search procedure and status notification):
a controller's broadcast search, a device's answer stating its MAC address, its unprompted notifications; limits,
malformed and hostile datagrams, and the engine reading them from a capture."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect import default_dissectors
from iotwarden.dissect.base import Packet
from iotwarden.dissect.pjlink import MAX_LINE, MAX_NOTICES, PjlinkDissector
from iotwarden.dissect.streambuf import PartialParse
from iotwarden.engine.core import Engine
from iotwarden.errors import ParseError
from iotwarden.lab.wire import Host
from iotwarden.model import Observation
from iotwarden.sources.capfile import read_capture
from tests.dissect.hostile import contract_call, mutate
from tests.risk.harness import T0, host, udp, write_pcap

SEARCH = b"%2SRCH\r"
ACK = b"%2ACKN=00:11:22:AA:BB:CC\r"
LINK_UP = b"%2LKUP=00-11-22-aa-bb-cc\r"
STATUS = b"%2ERST=000010\r%2POWR=1\r%2INPT=3A\r"


def datagrams(*payloads: bytes) -> tuple[list[Observation], list[ParseError], dict[str, Any]]:
    """Each payload one datagram of one udp/4352 flow: observations, the ParseErrors raised, the flow's state."""
    d, state = PjlinkDissector(), dict[str, Any]()
    out: list[Observation] = []
    errors: list[ParseError] = []
    for payload in payloads:
        pkt = Packet(ts=1.0, payload=payload, src_ip="10.0.0.2", dst_ip="10.0.0.1", ip_proto=17, src_port=4352,
                     dst_port=4352, to_server=True)
        try:
            out += d.dissect(pkt, state)
        except ParseError as exc:
            errors.append(exc)
            out += exc.made if isinstance(exc, PartialParse) else []
    return out, errors, state


def test_a_controller_s_search_states_nothing_about_it() -> None:
    obs, errors, _ = datagrams(SEARCH)
    assert errors == [] and [(o.kind, o.fields, o.subject) for o in obs] == [("search", {}, "src")]


def test_a_device_answers_the_search_with_its_mac_address() -> None:
    obs, errors, _ = datagrams(ACK)
    assert errors == []
    assert [(o.kind, o.fields) for o in obs] == [("search_ack", {"command": "ACKN", "mac": "00:11:22:aa:bb:cc",
                                                                  "status": None})]


def test_status_notifications_link_up_with_the_mac_and_the_rest_with_their_value() -> None:
    obs, errors, _ = datagrams(LINK_UP, STATUS)  # several lines in one datagram are each read
    assert errors == []
    assert [(o.kind, o.fields["command"], o.fields["mac"], o.fields["status"]) for o in obs] == [
        ("notification", "LKUP", "00:11:22:aa:bb:cc", None), ("notification", "ERST", None, "000010"),
        ("notification", "POWR", None, "1"), ("notification", "INPT", None, "3A")]


@pytest.mark.parametrize("payload", [
    b"%1POWR=1\r",  # Class 1 answers are tcp/4352's, never a notification
    b"%2ACKN=00:11:22:aa:bb\r",  # five octets
    b"%2ACKN=00:11:22-aa:bb:cc\r",  # separators mixed
    b"%2LKUP=\r",  # no value
    b"%2LKUP=zz:11:22:aa:bb:cc\r",
    b"%2SRCH ?\r",
    b"%2NAME=Board room\r",  # no notification
    b"PJLINK 0\r",
    b"M-SEARCH * HTTP/1.1\r\n",
])
def test_what_is_no_search_or_notification_is_refused(payload: bytes) -> None:
    obs, errors, _ = datagrams(payload)
    assert obs == [] and len(errors) == 1


def test_a_bad_line_keeps_the_lines_before_it_and_the_next_datagram_is_read() -> None:
    obs, errors, _ = datagrams(ACK + b"GET / HTTP/1.1\r" + LINK_UP, LINK_UP)
    assert len(errors) == 1 and isinstance(errors[0], PartialParse)
    assert [o.fields["command"] for o in obs] == ["ACKN", "LKUP"]


def test_a_line_over_its_limit_is_refused() -> None:
    obs, errors, _ = datagrams(b"%2ERST=" + b"0" * MAX_LINE + b"\r")
    assert obs == [] and len(errors) == 1


def test_observations_per_flow_are_bounded() -> None:
    obs, errors, state = datagrams(*[LINK_UP] * (MAX_NOTICES + 5))
    assert errors == [] and len(obs) == MAX_NOTICES and state["notices"] == MAX_NOTICES


def test_registered_on_udp_4352_too() -> None:
    found = [d for d in default_dissectors() if d.name == "pjlink"]
    assert len(found) == 1 and found[0].udp_ports == (4352,) and found[0].tcp_ports == (4352,)


def test_the_engine_reads_a_search_and_its_answers_from_a_capture(tmp_path: Path) -> None:
    controller, projector = host(50), host(51)
    broadcast = Host("ff:ff:ff:ff:ff:ff", "10.9.0.255")
    frames = [*udp(controller, broadcast, 4352, 4352, SEARCH),
              *udp(projector, controller, 4352, 4352, b"%2ACKN=" + projector.mac.encode() + b"\r", t=T0 + 0.1),
              *udp(projector, controller, 4352, 4352, b"%2POWR=1\r", t=T0 + 5)]
    engine, obs = Engine(), []
    for batch in read_capture(write_pcap(tmp_path / "pjlink_udp.pcap", frames)):
        obs += engine.process(batch).observations
    obs += engine.flush().observations
    seen = [(o.kind, o.src_ip, o.fields.get("mac")) for o in obs if o.proto == "pjlink"]
    assert seen == [("search", controller.ip, None), ("search_ack", projector.ip, projector.mac),
                    ("notification", projector.ip, None)]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_fuzz_random_datagrams_keep_the_contract(data: bytes) -> None:
    pkt = Packet(ts=1.0, payload=data, src_ip="10.0.0.2", dst_ip="10.0.0.1", ip_proto=17, src_port=4352,
                 dst_port=4352, to_server=True)
    contract_call(PjlinkDissector(), pkt, {})


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 100_000), st.integers(0, 255)), max_size=8), st.integers(0, 200))
def test_fuzz_mutated_datagrams(edits: list[tuple[int, int]], cut: int) -> None:
    for payload in (SEARCH, ACK + LINK_UP + STATUS):
        pkt = Packet(ts=1.0, payload=mutate(payload, edits, cut), src_ip="10.0.0.2", dst_ip="10.0.0.1",
                     ip_proto=17, src_port=4352, dst_port=4352, to_server=True)
        contract_call(PjlinkDissector(), pkt, {})
