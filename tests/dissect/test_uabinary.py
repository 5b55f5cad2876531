"""OPC UA binary encoding reader (OPC 10000-6 §5.2): built-in types from the spec's encodings, bounds."""

from __future__ import annotations

import contextlib
import struct
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.uabinary import MAX_TEXT, UaReader, policy_name
from iotwarden.errors import ParseError
from tests.dissect.uabuild import application, ua_string


@pytest.mark.parametrize(("encoded", "text"), [
    (b"\x00\x48", "i=72"),  # two-byte
    (b"\x01\x05\x01\x04", "ns=5;i=1025"),  # four-byte
    (b"\x02\x02\x00" + struct.pack("<I", 70000), "ns=2;i=70000"),
    (b"\x03\x02\x00" + ua_string(b"Tank.Level"), "ns=2;s=Tank.Level"),
    (b"\x04\x01\x00" + uuid.UUID(int=1).bytes_le, f"ns=1;g={uuid.UUID(int=1)}"),
    (b"\x05\x01\x00" + ua_string(b"\x01\x02"), "ns=1;b=AQI="),
])
def test_node_ids_in_their_text_form(encoded: bytes, text: str) -> None:
    r = UaReader(encoded)
    assert r.node_id() == text and r.off == len(encoded)


def test_expanded_node_ids_and_their_flags() -> None:
    assert UaReader(b"\x81\x00\xaf\x01" + ua_string(b"urn:x")).expanded_node_id() == "nsu=urn:x;i=431"
    assert UaReader(b"\x41\x00\xaf\x01" + struct.pack("<I", 3)).expanded_node_id() == "svr=3;i=431"
    assert UaReader(b"\x01\x00\xaf\x01").numeric_node_id() == (0, 431)
    assert UaReader(b"\x03\x01\x00" + ua_string(b"x")).numeric_node_id() is None
    with pytest.raises(ParseError, match="encoding"):
        UaReader(b"\x07").node_id()


def test_strings_null_and_bounded() -> None:
    assert UaReader(ua_string(None)).string() is None
    assert UaReader(ua_string(b"x" * (MAX_TEXT + 50))).string() == "x" * MAX_TEXT
    with pytest.raises(ParseError):
        UaReader(struct.pack("<i", 10) + b"short").string()
    with pytest.raises(ParseError, match="negative"):
        UaReader(struct.pack("<i", -5)).length()


def test_an_application_description() -> None:
    found = UaReader(application(b"urn:a", None, b"App", 3)).application_description()
    assert found == {"application_uri": "urn:a", "application_name": "App", "application_type": "discovery_server",
                     "discovery_urls": ["opc.tcp://plc1:4840"]}


def test_diagnostic_info_nesting_is_limited() -> None:
    with pytest.raises(ParseError, match="deep"):
        UaReader(b"\x40" * 10).diagnostic_info()
    r = UaReader(b"\x03" + bytes(8) + b"\x00")
    r.diagnostic_info()
    assert r.off == 9


def test_policy_names() -> None:
    assert policy_name("http://opcfoundation.org/UA/SecurityPolicy#Aes256_Sha256_RsaPss") == "Aes256_Sha256_RsaPss"
    assert policy_name(None) is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_reads_raise_parse_error_only(data: bytes) -> None:
    for read in ("node_id", "expanded_node_id", "application_description", "endpoint_description",
                 "request_header", "response_header", "localized_text", "strings"):
        with contextlib.suppress(ParseError):
            getattr(UaReader(data), read)()
