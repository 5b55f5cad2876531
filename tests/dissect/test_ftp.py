"""FTP dissector: greeting and USER/PASS logins (RFC 959 §4-5), scripted sessions and hostile input.

No FTP capture is in ../shared/data; the sessions below follow RFC 959 §4.2 reply syntax.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.base import Packet
from iotwarden.dissect.ftp import MAX_ATTEMPTS, MAX_LINE, FtpDissector
from iotwarden.errors import ParseError
from tests.conftest import shared
from tests.dissect.hostile import TCPDUMP_CAPTURES, feed_capture_any_port, feed_chunks, mutate

SESSION = [
    (False, b"220-Welcome to the NVR\r\n220-   firmware 2.1\r\n220 ready\r\n"),
    (True, b"USER admin\r\n"), (False, b"331 Password required\r\n"),
    (True, b"PASS wrong\r\n"), (False, b"530 Login incorrect.\r\n"),
    (True, b"USER admin\r\nPA"), (True, b"SS 1234\r\n"), (False, b"331 ok\r\n230 Logged in\r\n"),
    (True, b"USER other\r\n"), (False, b"530 not reached\r\n"),
]


def test_banner_failed_then_successful_login() -> None:
    obs = feed_chunks(FtpDissector(), SESSION)
    banner, failed, ok = obs  # nothing after the successful login
    assert banner.kind == "banner" and banner.subject == "src" and banner.src_ip == "10.0.0.2"
    assert banner.fields == {"code": 220, "banner": "Welcome to the NVR\n   firmware 2.1\nready"}
    assert failed.fields == {"username": "admin", "password": "wrong", "result": "failure", "code": 530}
    assert ok.fields == {"username": "admin", "password": "1234", "result": "success", "code": 230}
    assert ok.kind == "login_attempt" and ok.subject == "dst" and ok.dst_ip == "10.0.0.2" and ok.src_ip == "10.0.0.1"


def test_auth_tls_ends_dissection() -> None:
    obs = feed_chunks(FtpDissector(), [(False, b"220 x\r\n"), (True, b"AUTH TLS\r\n"), (False, b"234 go\r\n"),
                                       (True, b"USER a\r\n"), (False, b"230 ok\r\n")])
    assert [o.kind for o in obs] == ["banner"]


def test_login_attempts_are_bounded() -> None:
    chunks = [(False, b"220 x\r\n")]
    chunks += [(True, b"USER a\r\nPASS b\r\n"), (False, b"530 no\r\n")] * (MAX_ATTEMPTS + 4)
    assert len(feed_chunks(FtpDissector(), chunks)) == 1 + MAX_ATTEMPTS


def test_overlong_line_and_non_reply_are_parse_errors() -> None:
    state: dict[str, Any] = {}
    with pytest.raises(ParseError):
        FtpDissector().feed(Packet(ts=0.0, payload=b"", to_server=True), b"U" * (MAX_LINE + 1), state)
    with pytest.raises(ParseError):
        FtpDissector().feed(Packet(ts=0.0, payload=b"", to_server=False), b"SSH-2.0-x\r\n", {})
    with pytest.raises(ParseError):  # a complete line is held to the same limit
        FtpDissector().feed(Packet(ts=0.0, payload=b"", to_server=True), b"U" * (MAX_LINE + 1) + b"\n", {})


def test_a_long_greeting_in_one_segment_is_read_line_by_line() -> None:
    """A multi-line 220 of 1.3 KB fits one 1460-byte segment: the line limit is per line, not per delivery."""
    lines = b"".join(b"220-notice line %02d of the archive server's terms of use\r\n" % i for i in range(24))
    obs = feed_chunks(FtpDissector(), [(False, lines + b"220 ready\r\n")])
    assert len(lines) > MAX_LINE and [o.kind for o in obs] == ["banner"]
    assert obs[0].fields["banner"].count("\n") == 24


def test_probe() -> None:
    assert FtpDissector().probe(b"220 ProFTPD Server ready.\r\n", False)
    assert not FtpDissector().probe(b"220 ProFTPD Server ready.\r\n", True)


@pytest.mark.parametrize("name", TCPDUMP_CAPTURES)
def test_tcpdump_captures_on_any_port_keep_the_contract(name: str) -> None:
    feed_capture_any_port(FtpDissector(), shared("pcaps", "tcpdump_tests", name))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=200)), max_size=8))
def test_fuzz_random_bytes(chunks: list[tuple[bool, bytes]]) -> None:
    feed_chunks(FtpDissector(), chunks)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8))
def test_fuzz_mutated_session(edits: list[tuple[int, int]]) -> None:
    feed_chunks(FtpDissector(), [(d, mutate(b, edits, len(b))) for d, b in SESSION])
