"""HTTP/1.x message heads: field lines and their limits, Basic credentials (RFC 7617), the Authorization fields
kept, and which heads a direction out of sync takes past a gap."""

from __future__ import annotations

import base64

import pytest

from iotwarden.dissect.httphead import (
    MAX_HEADERS,
    MAX_VALUE,
    REQUEST_LINE,
    RESYNC_HEAD,
    STATUS_LINE,
    authorization_fields,
    basic_credentials,
    framed_length,
    header_fields,
    valid_head,
)
from iotwarden.errors import ParseError


def _basic(userpass: bytes) -> str:
    return "Basic " + base64.b64encode(userpass).decode()


@pytest.mark.parametrize(("value", "expected"), [
    (_basic(b"admin:hunter2"), ("admin", "hunter2")),
    ("bAsIc " + base64.b64encode(b"root:a:b").decode(), ("root", "a:b")),  # the scheme is case-insensitive
    (_basic(b"admin:"), ("admin", "")),  # RFC 7617 §2: an empty password is still one
    (_basic(b"token-only"), ("token-only", None)),  # no ':': no password
    (_basic(b"u:" + b"p" * 40), ("u", "p" * 16)),  # cut to the limit
    ("Basic not*base64", None),
    ('Digest username="admin", realm="cam"', None),
    ("Bearer abc", None),
])
def test_basic_credentials_decode_rfc_7617(value: str, expected: tuple[str, str | None] | None) -> None:
    assert basic_credentials(value, 16) == expected


def test_field_lines_lower_cased_repeated_ones_joined_and_bounded() -> None:
    lines = [b"Host: cam", b"X-A: 1", b"x-a:  2 ", *(b"F%d: v" % i for i in range(MAX_HEADERS + 5))]
    fields = header_fields(lines)
    assert fields["host"] == "cam" and fields["x-a"] == "1, 2"  # RFC 9110 §5.3: a repeated field is one list
    assert len(fields) == MAX_HEADERS  # host, x-a and f0 .. f61: the first MAX_HEADERS names kept
    assert f"f{MAX_HEADERS - 3}" in fields and f"f{MAX_HEADERS - 2}" not in fields
    assert header_fields([b"Long: " + b"v" * (MAX_VALUE + 10)])["long"] == "v" * MAX_VALUE


@pytest.mark.parametrize("line", [b"NoColon", b": empty name", b"Host : space before the colon", b" Host: folded"])
def test_a_malformed_field_line_is_a_parse_error(line: bytes) -> None:
    with pytest.raises(ParseError):
        header_fields([line])


def test_authorization_keeps_the_scheme_and_a_basic_user_never_the_password() -> None:
    basic = authorization_fields("Basic " + base64.b64encode(b"admin:hunter2").decode())
    assert basic == {"authorization_scheme": "Basic", "basic_auth": True, "basic_user": "admin",
                     "password_present": True}
    assert authorization_fields("Basic " + base64.b64encode(b"admin:").decode())["password_present"] is False
    assert authorization_fields('Digest username="admin"') == {"authorization_scheme": "Digest", "basic_auth": False}


def test_start_lines() -> None:
    request = REQUEST_LINE.match(b"GET /a?b HTTP/1.1")
    assert request is not None and request.groups() == (b"GET", b"/a?b", b"HTTP/1.1")
    status = STATUS_LINE.match(b"HTTP/1.0 404 Not Found")
    assert status is not None and status.groups() == (b"HTTP/1.0", b"404", b"Not Found")
    assert REQUEST_LINE.match(b"GET /a") is None and STATUS_LINE.match(b"HTTP/1.1 20 OK") is None


@pytest.mark.parametrize(("head", "to_server", "taken"), [
    (b"GET / HTTP/1.1\r\nHost: cam", True, True),
    (b"GET / HTTP/1.1\r\nAccept: */*", True, False),  # RFC 9112 §3.2: an HTTP/1.1 request carries Host
    (b"GET / HTTP/1.0\r\nAccept: */*", True, True),
    (b"M-SEARCH * HTTP/1.1\r\nHost: 239.255.255.250:1900", True, True),
    (b"HTTP/1.1 200 OK\r\nServer: x", True, False),  # a status line is no request
    (b"HTTP/1.1 200 OK\r\nServer: x", False, True),
    (b"HTTP/1.1 200 OK\r\nnot a field line", False, False),
    (b"HTTP/1.1 600 Odd", False, False),  # RFC 9110 §15: 1xx-5xx
    (b"FETCH / HTTP/1.1\r\nHost: cam", True, False),  # not a method of the listed RFCs
])
def test_a_head_past_a_gap_is_taken_only_when_well_formed(head: bytes, to_server: bool, taken: bool) -> None:
    assert valid_head(head, to_server) is taken


def test_where_a_head_past_a_gap_may_begin() -> None:
    assert RESYNC_HEAD.match(b"POST http://cam/x HTTP/1.1") is not None
    assert RESYNC_HEAD.match(b"HTTP/1.0 301 ") is not None
    assert RESYNC_HEAD.match(b"body bytes GET / HTTP/1.1") is None


@pytest.mark.parametrize(("head", "body", "to_server", "length"), [
    (b"GET / HTTP/1.1\r\nHost: a", b"GET /2", True, 0),  # a request without Content-Length has no body
    (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12", b"", True, 12),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5, 5", b"", False, 5),
    (b"HTTP/1.1 200 OK\r\nContent-Length: x", b"", False, None),
    (b"HTTP/1.1 200 OK\r\nServer: s", b"", False, None),  # until close
    (b"HTTP/1.1 204 No Content\r\nContent-Length: 9", b"", False, 0),
    (b"HTTP/1.1 101 Switching\r\nUpgrade: x", b"", False, 0),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked", b"3;x=1\r\nabc\r\n0\r\n\r\nHTTP/1.1", False, 17),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked", b"1\r\na\r\n0\r\nT: v\r\n\r\nX", False, 17),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked", b"3\r\nabc\r\n0\r\n", False, None),  # not whole yet
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked", b"zz\r\n", False, None),
])
def test_the_body_a_head_found_out_of_sync_frames(head: bytes, body: bytes, to_server: bool,
                                                  length: int | None) -> None:
    assert framed_length(head, body, 0, to_server) == length
    assert framed_length(head, bytearray(b"before" + body), 6, to_server) == length  # read in place, from an offset
