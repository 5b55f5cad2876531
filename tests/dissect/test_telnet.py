"""Telnet dissector: banner and login dialogue from a real capture and from scripted sessions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.telnet import MAX_ATTEMPTS, MAX_SUBNEGOTIATION, TelnetDissector, strip_iac
from tests.conftest import shared
from tests.dissect.hostile import TCPDUMP_CAPTURES, feed_capture_any_port, feed_chunks, mutate
from tests.pcaputil import iter_packets, run_dissector

CAPTURE = ("pcaps", "suricata_verify", "telnet", "telnet-01", "telnet.pcap")


def test_line_mode_login_in_a_real_capture() -> None:
    obs = run_dissector(TelnetDissector(), shared(*CAPTURE))
    banner, attempt = obs
    assert banner.kind == "banner" and banner.fields["banner"].startswith("OpenBSD/i386 (oof) (ttyp2)")
    assert banner.subject == "src" and banner.src_ip == "192.168.0.1"  # the server
    assert attempt.kind == "login_attempt"
    assert attempt.fields == {"username": "fake", "password": "user", "result": "success"}
    assert attempt.subject == "dst" and attempt.dst_ip == "192.168.0.1" and attempt.dst_port == 23


def char_at_a_time(text: bytes, echo: bool) -> list[tuple[bool, bytes]]:
    """``text`` typed a character a packet (RFC 854 character mode), echoed by the server when ``echo``."""
    out: list[tuple[bool, bytes]] = []
    for i in range(len(text)):
        out.append((True, text[i : i + 1]))
        if echo:
            out.append((False, text[i : i + 1]))
    return out


def test_character_at_a_time_login_with_echo_backspace_and_failure_then_success() -> None:
    chunks = [
        (False, b"\xff\xfb\x01\xff\xfb\x03BusyBox v1.19 built-in shell\r\n\r\ncamera login: "),
        *char_at_a_time(b"roox\x7ft\r\x00", echo=True),
        (False, b"Password: "),
        *char_at_a_time(b"12345\r\n", echo=False),
        (False, b"\r\nLogin incorrect\r\ncamera login: "),
        *char_at_a_time(b"root\r\n", echo=True),
        (False, b"Password: "),
        *char_at_a_time(b"xc3511\r\n", echo=False),
        (False, b"\r\n\r\n# "),
    ]
    obs = feed_chunks(TelnetDissector(), chunks)
    assert [o.kind for o in obs] == ["banner", "login_attempt", "login_attempt"]
    assert obs[0].fields["banner"] == "BusyBox v1.19 built-in shell\r\n\r\ncamera login:"
    assert obs[1].fields == {"username": "root", "password": "12345", "result": "failure"}
    assert obs[2].fields == {"username": "root", "password": "xc3511", "result": "success"}
    # within the engine's bounds for a Telnet flow, whatever its segmentation (engine/dispatch.py)
    assert TelnetDissector.max_stream_packets is not None and TelnetDissector.max_stream_bytes is not None
    assert len(chunks) < TelnetDissector.max_stream_packets
    assert sum(len(c) for _, c in chunks) < TelnetDissector.max_stream_bytes


def test_password_only_prompt_and_unknown_verdict() -> None:
    obs = feed_chunks(TelnetDissector(), [
        (False, b"Password: "), (True, b"admin\r\n"), (False, b"\r\n...\r\n"), (True, b"help\r\n")])
    assert obs[-1].fields == {"username": None, "password": "admin", "result": "unknown"}


def test_login_attempts_are_bounded() -> None:
    chunks = [(False, b"login: ")]
    for _ in range(MAX_ATTEMPTS + 3):
        chunks += [(True, b"u\r\n"), (False, b"Password: "), (True, b"p\r\n"), (False, b"Login incorrect\r\nlogin: ")]
    obs = feed_chunks(TelnetDissector(), chunks)
    assert len([o for o in obs if o.kind == "login_attempt"]) == MAX_ATTEMPTS


def test_iac_stripping_handles_escapes_split_commands_and_runaway_subnegotiation() -> None:
    pending = bytearray()
    assert strip_iac(pending, b"a\xff\xffb\xff\xfd") == b"a\xffb" and pending == b"\xff\xfd"
    assert strip_iac(pending, b"\x18c\xff\xfa\x18\x01\xff\xf0d") == b"cd" and pending == b""
    assert strip_iac(pending, b"\xff\xfa\x18" + b"x" * (MAX_SUBNEGOTIATION + 1)) == b""
    assert pending == b""


@pytest.mark.parametrize("name", TCPDUMP_CAPTURES)
def test_tcpdump_captures_on_any_port_keep_the_contract(name: str) -> None:
    feed_capture_any_port(TelnetDissector(), shared("pcaps", "tcpdump_tests", name))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=200)), max_size=8))
def test_fuzz_random_bytes(chunks: list[tuple[bool, bytes]]) -> None:
    feed_chunks(TelnetDissector(), [(False, b"login: "), *chunks])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8), st.integers(0, 20))
def test_fuzz_mutated_capture(edits: list[tuple[int, int]], skip: int) -> None:
    packets = [(p.to_server, p.payload) for p in iter_packets(shared(*CAPTURE)) if p.payload]
    feed_chunks(TelnetDissector(), [(d, mutate(b, edits, len(b))) for d, b in packets[skip:]])
