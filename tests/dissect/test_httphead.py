"""HTTP/1.x message heads: field lines and their limits, Basic credentials (RFC 7617), the Authorization fields
kept, and which heads a direction out of sync takes past a gap."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iotwarden.dissect.httphead import (
    CHUNKED,
    MAX_HEADERS,
    MAX_VALUE,
    REQUEST_LINE,
    RESYNC_HEAD,
    STATUS_LINE,
    UNTIL_CLOSE,
    authorization_fields,
    basic_credentials,
    framed_length,
    head_end,
    head_lines,
    header_fields,
    message_length,
    valid_head,
)


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
    fields = header_fields(lines).headers
    assert fields["host"] == "cam" and fields["x-a"] == "1, 2"  # RFC 9110 §5.3: a repeated field is one list
    assert len(fields) == MAX_HEADERS  # host, x-a and f0 .. f61: the first MAX_HEADERS names kept
    assert f"f{MAX_HEADERS - 3}" in fields and f"f{MAX_HEADERS - 2}" not in fields
    assert header_fields([b"Long: " + b"v" * (MAX_VALUE + 10)]).headers["long"] == "v" * MAX_VALUE


@pytest.mark.parametrize("line", [b"NoColon", b": empty name", b"Host : space before the colon", b" Host: folded",
                                  b"X-Y Z: a name not a token", b"User-Agent: a\x00b", b"User-Agent: a\rb",
                                  b"User-Agent: a\nb"])
def test_a_malformed_field_line_is_dropped_and_named(line: bytes) -> None:
    # RFC 9112 §5.1, RFC 9110 §5.5 (CR, LF, NUL in a value); a fold with no field before it (RFC 9112 §5.2)
    fields = header_fields([line, b"Host: cam"])
    assert fields.malformed == line and fields.headers == {"host": "cam"} and not fields.framing_unsure


@pytest.mark.parametrize("lines", [
    [b"Content-Length : 5"],  # a proxy removes the space (RFC 9112 §5.1) and frames by it
    [b"Transfer-Encoding\x00: chunked"], [b"Content-Length: 5\x00"],
    [b"X: a\nContent-Length: 5"],  # a bare LF ends the line to some readers (RFC 9112 §2.2)
    [b"X: a\rTransfer-Encoding: chunked"],
    [b"X: a", b" Content-Length: 5"], [b"Content-Length:", b" 5"],  # a reader that does not unfold (§5.2)
    [b"transfer-encoding chunked"],
])
def test_a_malformed_or_folded_line_naming_a_framing_field_leaves_the_framing_unsure(lines: list[bytes]) -> None:
    assert header_fields([b"Host: cam", *lines]).framing_unsure


def test_an_obs_fold_continues_the_field_before_it_as_one_space() -> None:
    fields = header_fields([b"Server: Boa/0.94", b" \t (embedded)", b"\tcam", b"Content-Length: 3"])
    assert fields.headers["server"] == "Boa/0.94 (embedded) cam" and fields.malformed is None
    assert fields.framing == {"content-length": "3"} and not fields.framing_unsure


def test_framing_fields_are_kept_whole_past_the_header_and_value_limits() -> None:
    many = [b"X-%d: v" % i for i in range(MAX_HEADERS + 5)]
    coding = ", ".join(["gzip"] * 300 + ["chunked"]).encode()
    fields = header_fields([*many, b"Transfer-Encoding: " + coding, b"Content-Length: 7", b"content-length: 7"])
    assert "transfer-encoding" not in fields.headers  # past MAX_HEADERS names
    assert fields.framing == {"transfer-encoding": coding.decode(), "content-length": "7, 7"}


@pytest.mark.parametrize(("framing", "version", "of_request", "of_response"), [
    ({"transfer-encoding": "chunked"}, "HTTP/1.1", CHUNKED, CHUNKED),
    ({"transfer-encoding": "gzip, Chunked"}, "HTTP/1.1", CHUNKED, CHUNKED),  # chunked the final coding
    ({"transfer-encoding": "gzip, chunked, "}, "HTTP/1.1", CHUNKED, CHUNKED),  # an empty element is none
    ({"transfer-encoding": "chunked, gzip"}, "HTTP/1.1", None, UNTIL_CLOSE),  # RFC 9112 §6.3 (4)
    ({"transfer-encoding": "identity"}, "HTTP/1.1", None, UNTIL_CLOSE),  # no coding of RFC 9112
    ({"transfer-encoding": "identity", "content-length": "5"}, "HTTP/1.1", None, UNTIL_CLOSE),
    ({"transfer-encoding": ""}, "HTTP/1.1", None, UNTIL_CLOSE),
    ({"transfer-encoding": "chunked"}, "HTTP/1.0", None, UNTIL_CLOSE),  # §6.1: faulty framing in HTTP/1.0
    ({"transfer-encoding": "chunked", "content-length": "5"}, "HTTP/1.1", CHUNKED, CHUNKED),  # §6.3 (3)
    ({"content-length": "5"}, "HTTP/1.0", 5, 5),
    ({"content-length": "5, 6"}, "HTTP/1.1", None, None),
    ({}, "HTTP/1.1", 0, UNTIL_CLOSE),
])
def test_the_length_a_messages_framing_fields_give(framing: dict[str, str], version: str, of_request: int | None,
                                                   of_response: int | None) -> None:
    assert message_length(framing, request=True, version=version) == of_request
    assert message_length(framing, request=False, version=version) == of_response


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
    (b"FETCH / HTTP/1.1\r\nHost: cam", True, True),  # any method (RFC 9110 §9.1: a token)
    (b"FETCH / HTTP/1.1\nHost: cam", True, True),  # bare LF line ends (RFC 9112 §2.2)
    (b"GET\x01 / HTTP/1.1\r\nHost: cam", True, False),  # a method is a token
    (b"GET x HTTP/1.1\r\nHost: cam", True, False),  # a target of none of the forms (RFC 9112 §3.2)
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
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip", b"0\r\n\r\n", False, None),  # until close
    (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip", b"0\r\n\r\n", True, None),  # invalid
    (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked", b"0\r\n\r\n", True, None),  # HTTP/1.0: faulty
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7", b"", False, None),  # two values
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked", b"3\r\nabcXY0\r\n\r\n", False, None),  # no CRLF after data
])
def test_the_body_a_head_found_out_of_sync_frames(head: bytes, body: bytes, to_server: bool,
                                                  length: int | None) -> None:
    assert framed_length(head, body, 0, to_server) == length
    assert framed_length(head, bytearray(b"before" + body), 6, to_server) == length  # read in place, from an offset


@pytest.mark.parametrize(("buf", "ends"), [
    (b"GET / HTTP/1.1\r\nHost: a\r\n\r\nbody", (23, 27)), (b"GET / HTTP/1.1\nHost: a\n\nbody", (22, 24)),
    (b"GET / HTTP/1.1\r\nHost: a\n\r\nbody", (23, 26)), (b"GET / HTTP/1.1\r\nHost: a\r\n\nbody", (23, 26)),
    (b"GET / HTTP/1.1\r\nHost: a\r\n", (-1, -1)), (b"GET / HTTP/1.1\r\nHost: a\r\n\r", (-1, -1))])
def test_a_head_ends_at_its_empty_line_whichever_line_ends_it_has(buf: bytes, ends: tuple[int, int]) -> None:
    # RFC 9112 §2.2: a bare LF is a line end to a recipient that takes it so (most servers)
    assert head_end(buf) == ends


def test_head_lines_split_at_crlf_and_bare_lf_unless_a_bare_lf_would_decide_the_framing() -> None:
    assert head_lines(b"GET / HTTP/1.1\r\nHost: a\r\nX: b") == [b"GET / HTTP/1.1", b"Host: a", b"X: b"]
    assert head_lines(b"GET / HTTP/1.1\nHost: a\nContent-Length: 2") == [b"GET / HTTP/1.1", b"Host: a",
                                                                        b"Content-Length: 2"]
    assert head_lines(b"GET / HTTP/1.1\r\nHost: a\nX: b\r\nContent-Length: 2") == [
        b"GET / HTTP/1.1", b"Host: a", b"X: b", b"Content-Length: 2"]
    # mixed, a framing field a bare LF begins: left in its CRLF line, which header_fields finds unsure
    mixed = head_lines(b"GET / HTTP/1.1\r\nHost: a\r\nX: b\nContent-Length: 2")
    assert mixed == [b"GET / HTTP/1.1", b"Host: a", b"X: b\nContent-Length: 2"]
    assert header_fields(mixed[1:]).framing_unsure


_NAME = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12).filter(
    lambda n: n not in ("content-length", "transfer-encoding"))
_VALUE = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789 /.;=", max_size=20).map(str.strip)


@given(fields=st.lists(st.tuples(_NAME, _VALUE), min_size=1, max_size=8),
       ends=st.lists(st.sampled_from([b"\r\n", b"\n"]), min_size=10, max_size=10))
def test_any_mix_of_line_ends_reads_the_fields_crlf_would(fields: list[tuple[str, str]], ends: list[bytes]) -> None:
    lines = [b"GET /x HTTP/1.1", *[f"{n}: {v}".encode() for n, v in fields]]
    crlf = b"\r\n".join(lines) + b"\r\n\r\n"
    mixed = b"".join(line + ends[i] for i, line in enumerate(lines)) + ends[-1] + b"next"
    end, body = head_end(mixed)
    assert mixed[body:] == b"next"
    assert head_lines(mixed[:end]) == lines == head_lines(crlf[: head_end(crlf)[0]])
    assert header_fields(head_lines(mixed[:end])[1:]) == header_fields(lines[1:])
