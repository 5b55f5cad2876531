"""Telnet login attempts against a BusyBox-like login server on loopback (RFC 854 negotiation refused)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.identity.credcheck import telnet
from tests.identity.credcheck.servers import telnet_server


def test_right_password_gives_a_shell_wrong_one_does_not() -> None:
    with telnet_server("root", "xc3511") as port:
        assert telnet.try_login("127.0.0.1", port, "root", "xc3511", timeout=3)
        assert not telnet.try_login("127.0.0.1", port, "root", "admin", timeout=3)


def test_negotiation_is_stripped_and_refused() -> None:
    data = bytes([255, 253, 24, 255, 251, 1]) + b"login: " + bytes([255, 250, 24, 1, 255, 240]) + b"x\xff\xffy"
    assert telnet.strip_negotiation(data) == b"login: x\xffy"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_strip_negotiation_never_raises(data: bytes) -> None:
    assert len(telnet.strip_negotiation(data)) <= len(data)
