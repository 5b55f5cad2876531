"""Handshake message parsers: built hellos read back, truncations raise ParseError."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect import tlshello
from iotwarden.errors import ParseError


def _ext(ext_type: int, body: bytes) -> bytes:
    return struct.pack("!HH", ext_type, len(body)) + body


def _vec(n: int, body: bytes) -> bytes:
    return len(body).to_bytes(n, "big") + body


def client_hello(exts: bytes) -> bytes:
    ciphers = struct.pack("!3H", 0x1A1A, 0x1301, 0xC02F)
    return b"\x03\x03" + b"\x00" * 32 + _vec(1, b"") + _vec(2, ciphers) + _vec(1, b"\x00") + _vec(2, exts)


EXTS = (
    _ext(0, _vec(2, b"\x00" + _vec(2, b"plug.example")))
    + _ext(16, _vec(2, _vec(1, b"h2") + _vec(1, b"http/1.1")))
    + _ext(43, _vec(1, struct.pack("!3H", 0x2A2A, 0x0304, 0x0303)))
    + _ext(13, _vec(2, struct.pack("!2H", 0x0403, 0x0804)))
    + _ext(10, _vec(2, struct.pack("!2H", 29, 23)))
)


def test_client_hello_fields() -> None:
    f = tlshello.client_hello(client_hello(EXTS), 0x0301)
    assert f["sni"] == "plug.example" and f["alpn"] == ["h2", "http/1.1"]
    assert f["versions"] == ["TLS 1.3", "TLS 1.2"] and f["record_version"] == "TLS 1.0"
    assert f["cipher_suites"] == [0x1A1A, 0x1301, 0xC02F]  # as sent; fingerprints drop GREASE
    assert f["extensions"] == [0, 16, 43, 13, 10]
    assert f["ja4"].startswith("t13d0205h2_")
    assert f["ja3_string"] == "771,4865-49199,0-16-43-13-10,29-23,"


def test_client_hello_without_extensions_is_legal() -> None:
    body = client_hello(b"")[:-2]
    assert tlshello.client_hello(body, 0x0300)["extensions"] == []


def test_server_hello_fields() -> None:
    body = (b"\x03\x03" + b"\x01" * 32 + _vec(1, b"") + b"\x13\x01\x00"
            + _vec(2, _ext(43, b"\x03\x04") + _ext(51, b"\x00\x1d\x00\x00")))
    f = tlshello.server_hello(body)
    assert f["version"] == "TLS 1.3" and f["cipher_suite"] == 0x1301 and f["extensions"] == [43, 51]
    assert f["ja3s_string"] == "771,4865,43-51"


def test_certificate_with_undecodable_entries_counts_errors() -> None:
    chain = _vec(3, _vec(3, b"not a cert") + _vec(3, b"\x30\x00"))
    f = tlshello.certificate(chain)
    assert f["cert_count"] == 2 and f["cert_errors"] == 2


def test_certificate_chain_is_bounded() -> None:
    chain = _vec(3, _vec(3, b"x") * (tlshello.MAX_CERTS + 5))
    f = tlshello.certificate(chain)
    assert f["cert_count"] == tlshello.MAX_CERTS + 5 and len(f["certs"]) == tlshello.MAX_CERTS


@pytest.mark.parametrize("cut", [0, 10, 34, 40, 47, 60])
def test_truncated_client_hello_raises_parse_error(cut: int) -> None:
    with pytest.raises(ParseError):
        tlshello.client_hello(client_hello(EXTS)[:cut], 0x0301)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_parsers_raise_only_parse_error(data: bytes) -> None:
    for parse in (lambda b: tlshello.client_hello(b, 0x0303), tlshello.server_hello, tlshello.certificate):
        with contextlib.suppress(ParseError):
            assert isinstance(parse(data), dict)


# -- memo keys: what the hello fields depend on, and nothing each connection draws afresh ---------

def _hello_with(random: bytes, session: bytes, key_share: bytes, sni: bytes = b"plug.example") -> bytes:
    exts = (_ext(0, _vec(2, b"\x00" + _vec(2, sni))) + _ext(51, _vec(2, b"\x00\x1d" + _vec(2, key_share)))
            + _ext(21, b"\x00" * len(key_share)) + EXTS[len(_ext(0, _vec(2, b"\x00" + _vec(2, b"plug.example")))):])
    ciphers = struct.pack("!3H", 0x1A1A, 0x1301, 0xC02F)
    return b"\x03\x03" + random + _vec(1, session) + _vec(2, ciphers) + _vec(1, b"\x00") + _vec(2, exts)


def test_client_hello_key_ignores_random_session_id_and_unreported_extension_bodies() -> None:
    a = _hello_with(b"\x01" * 32, b"", b"\xaa" * 32)
    b = _hello_with(b"\x02" * 32, b"\x07" * 32, b"\xbb" * 16)
    assert tlshello.client_hello_key(a) == tlshello.client_hello_key(b) is not None
    assert tlshello.client_hello(a, 0x0301) == tlshello.client_hello(b, 0x0301)


def test_client_hello_key_changes_with_what_the_fields_report() -> None:
    base = tlshello.client_hello_key(_hello_with(b"\x01" * 32, b"", b"\xaa" * 32))
    assert tlshello.client_hello_key(_hello_with(b"\x01" * 32, b"", b"\xaa" * 32, sni=b"cam.example")) != base
    assert tlshello.client_hello_key(client_hello(EXTS)) != tlshello.client_hello_key(client_hello(EXTS[:-10]))
    no_ext = client_hello(b"")[:-2]
    assert tlshello.client_hello_key(no_ext) != tlshello.client_hello_key(client_hello(b""))  # absent vs empty


def test_server_hello_key_ignores_random_and_key_share() -> None:
    def server(random: bytes, share: bytes) -> bytes:
        return (b"\x03\x03" + random + _vec(1, b"\x05" * 8) + b"\x13\x01\x00"
                + _vec(2, _ext(43, b"\x03\x04") + _ext(51, b"\x00\x1d" + _vec(2, share))))
    a, b = server(b"\x01" * 32, b"\xaa" * 32), server(b"\x09" * 32, b"\xcc" * 32)
    assert tlshello.server_hello_key(a) == tlshello.server_hello_key(b) is not None
    assert tlshello.server_hello(a) == tlshello.server_hello(b)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 400), st.binary(max_size=8))
def test_hello_keys_are_none_wherever_the_parser_rejects_the_framing(cut: int, junk: bytes) -> None:
    body = _hello_with(b"\x01" * 32, b"\x02" * 4, b"\xaa" * 32)
    for data in (body[:cut], body[:cut] + junk):
        if tlshello.client_hello_key(data) is None:
            with pytest.raises(ParseError):
                tlshello.client_hello(data, 0x0303)
        if tlshello.server_hello_key(data) is None:
            with pytest.raises(ParseError):
                tlshello.server_hello(data)
