"""QUIC Initial protection pinned to the RFCs' sample packets: RFC 9001 Appendix A (version 1) and RFC 9369
Appendix A (version 2): secrets, keys, header protection, the protected packets, and the frames inside."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect import quicinitial as qi
from iotwarden.errors import ParseError
from tests.dissect.quicbuild import (
    CLIENT_CRYPTO_FRAME,
    RFC_DCID,
    RFC_SERVER_SCID,
    SERVER_PAYLOAD,
    V1,
    V1_CLIENT_INITIAL,
    V1_SERVER_INITIAL,
    V2,
    V2_CLIENT_INITIAL,
    V2_SERVER_INITIAL,
    initial,
    varint,
)

DRAFT_29 = 0xFF00001D
# (version, client secret, client key/iv/hp, server secret, server key/iv/hp): RFC 9001 A.1, RFC 9369 A.1,
# draft-ietf-quic-tls-29 A.1 (the same client DCID, 0x8394c8f03e515708)
KEYS = [
    (V1, "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea",
     ("1f369613dd76d5467730efcbe3b1a22d", "fa044b2f42a3fd3b46fb255c", "9f50449e04a0e810283a1e9933adedd2"),
     "3c199828fd139efd216c155ad844cc81fb82fa8d7446fa7d78be803acdda951b",
     ("cf3a5331653c364c88f0f379b6067e37", "0ac1493ca1905853b0bba03e", "c206b8d9b9f0f37644430b490eeaa314")),
    (V2, "14ec9d6eb9fd7af83bf5a668bc17a7e283766aade7ecd0891f70f9ff7f4bf47b",
     ("8b1a0bc121284290a29e0971b5cd045d", "91f73e2351d8fa91660e909f", "45b95e15235d6f45a6b19cbcb0294ba9"),
     "0263db1782731bf4588e7e4d93b7463907cb8cd8200b5da55a8bd488eafc37c1",
     ("82db637861d55e1d011f19ea71d5d2a7", "dd13c276499c0249d3310652", "edf6d05c83121201b436e16877593c3a")),
    (DRAFT_29, "0088119288f1d866733ceeed15ff9d50902cf82952eee27e9d4d4918ea371d87",  # draft-ietf-quic-tls-29 A.1
     ("175257a31eb09dea9366d8bb79ad80ba", "6b26114b9cba2b63a9e8dd4f", "9ddd12c994c0698b89374a9c077a3077"),
     "006f881359244dd9ad1acf85f595bad67c13f9f5586f5e64e1acae1d9ea8f616",
     ("149d0b1662ab871fbe63c49b5e655a5d", "bab2b12a4c76016ace47856d", "c0c499a65a60024a18a250974ea01dfa")),
]


@pytest.mark.parametrize("case", KEYS, ids=["v1 RFC 9001 A.1", "v2 RFC 9369 A.1", "draft-29 A.1"])
def test_initial_secrets_and_keys_match_the_rfc(case: tuple[int, str, tuple[str, ...], str, tuple[str, ...]]) -> None:
    number, client_secret, client, server_secret, server = case
    version = qi.VERSIONS[number]
    assert qi.initial_secret(version, RFC_DCID, server=False).hex() == client_secret
    assert qi.initial_secret(version, RFC_DCID, server=True).hex() == server_secret
    for keys, want in ((qi.initial_keys(version, RFC_DCID, server=False), client),
                       (qi.initial_keys(version, RFC_DCID, server=True), server)):
        assert (keys.key.hex(), keys.iv.hex(), keys.hp.hex()) == want


def test_v1_initial_secret_is_the_rfc_extract() -> None:
    # RFC 9001 A.1: initial_secret = HKDF-Extract(initial_salt, cid)
    assert qi.hkdf_extract(qi.VERSIONS[V1].salt, RFC_DCID).hex() == (
        "7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44")


@pytest.mark.parametrize(("number", "mask"), [(V1, "437b9aec36"), (V2, "94a0c95e80")])
def test_header_protection_mask_matches_the_rfc(number: int, mask: str) -> None:
    # RFC 9001 A.2 and RFC 9369 A.2: the sample and the mask it gives
    packet = V1_CLIENT_INITIAL if number == V1 else V2_CLIENT_INITIAL
    keys = qi.initial_keys(qi.VERSIONS[number], RFC_DCID, server=False)
    assert keys.mask(packet[22:38]).hex() == mask


@pytest.mark.parametrize("number", [V1, V2])
def test_the_rfc_client_initial_opens_to_its_crypto_frame_and_padding(number: int) -> None:
    packet = V1_CLIENT_INITIAL if number == V1 else V2_CLIENT_INITIAL
    assert len(packet) == 1200
    header = qi.parse_long_header(packet)
    assert (header.kind, header.version, header.dcid, header.scid) == (qi.INITIAL, number, RFC_DCID, b"")
    assert (header.pn_offset, header.end) == (18, 1200)
    pn, payload = qi.open_packet(packet, header, qi.initial_keys(qi.VERSIONS[number], RFC_DCID, server=False))
    assert pn == 2
    assert payload == CLIENT_CRYPTO_FRAME + bytes(1162 - len(CLIENT_CRYPTO_FRAME))
    ((offset, hello),) = qi.crypto_fragments(payload)
    assert offset == 0 and hello[0] == 1 and len(hello) == 241 and b"example.com" in hello


@pytest.mark.parametrize("number", [V1, V2])
def test_the_rfc_server_initial_opens_to_its_ack_and_server_hello(number: int) -> None:
    packet = V1_SERVER_INITIAL if number == V1 else V2_SERVER_INITIAL
    header = qi.parse_long_header(packet)
    assert (header.kind, header.dcid, header.scid) == (qi.INITIAL, b"", RFC_SERVER_SCID)
    pn, payload = qi.open_packet(packet, header, qi.initial_keys(qi.VERSIONS[number], RFC_DCID, server=True))
    assert pn == 1 and payload == SERVER_PAYLOAD
    ((offset, hello),) = qi.crypto_fragments(payload)  # the ACK frame before it is stepped over
    assert offset == 0 and hello[0] == 2 and len(hello) == 90


def test_the_builder_rebuilds_the_rfc_client_initial_byte_for_byte() -> None:
    assert initial(CLIENT_CRYPTO_FRAME, pn=2, pn_len=4) == V1_CLIENT_INITIAL
    assert initial(CLIENT_CRYPTO_FRAME, pn=2, pn_len=4, version=V2) == V2_CLIENT_INITIAL


def test_wrong_keys_or_a_flipped_bit_do_not_authenticate() -> None:
    header = qi.parse_long_header(V1_CLIENT_INITIAL)
    with pytest.raises(ParseError, match="authenticate"):
        qi.open_packet(V1_CLIENT_INITIAL, header, qi.initial_keys(qi.VERSIONS[V2], RFC_DCID, server=False))
    flipped = bytearray(V1_CLIENT_INITIAL)
    flipped[600] ^= 1
    with pytest.raises(ParseError, match="authenticate"):
        qi.open_packet(bytes(flipped), header, qi.initial_keys(qi.VERSIONS[V1], RFC_DCID, server=False))


def test_varints_of_rfc_9000_appendix_a1() -> None:
    for encoded, value in (("c2197c5eff14e88c", 151288809941952652), ("9d7f3e7d", 494878333), ("7bbd", 15293),
                           ("25", 37), ("4025", 37)):
        raw = bytes.fromhex(encoded)
        assert qi.varint(raw, 0) == (value, len(raw))
    with pytest.raises(ParseError):
        qi.varint(bytes.fromhex("9d7f3e"), 0)
    with pytest.raises(ParseError):
        qi.varint(b"", 0)


def test_packet_number_decoding_of_rfc_9000_appendix_a3() -> None:
    assert qi.decode_packet_number(0xA82F30EA, 0x9B32, 16) == 0xA82F9B32
    assert qi.decode_packet_number(-1, 2, 32) == 2
    assert qi.decode_packet_number(0xFF, 0x01, 8) == 0x101  # wraps forward past the window


def test_frames_an_initial_may_carry_are_stepped_over() -> None:
    ack = b"\x02" + varint(7) + varint(0) + varint(1) + varint(0) + varint(1) + varint(2)
    ack_ecn = b"\x03" + varint(9) + varint(0) + varint(0) + varint(3) + varint(1) + varint(2) + varint(3)
    close = b"\x1c" + varint(0x0A) + varint(0x06) + varint(3) + b"bye"
    payload = (b"\x01" + ack + crypto(5, b"world") + b"\x00\x00" + ack_ecn + crypto(0, b"hello") + close
               + crypto(10, b"!"))
    assert qi.crypto_fragments(payload) == [(5, b"world"), (0, b"hello"), (10, b"!")]


def test_an_unknown_frame_ends_the_walk_with_what_came_before() -> None:
    assert qi.crypto_fragments(crypto(0, b"ab") + b"\x08\x00" + crypto(2, b"cd")) == [(0, b"ab")]


def test_truncated_frames_are_parse_errors() -> None:
    for bad in (b"\x06\x00\x05abc", b"\x02\x01", b"\x1c\x00\x00\x05ab", b"\x06"):
        with pytest.raises(ParseError):
            qi.crypto_fragments(bad)


def test_long_headers_of_other_kinds() -> None:
    vn = bytes([0x80]) + bytes(4) + b"\x04abcd\x04efgh" + bytes.fromhex("000000016b3343cf")
    assert qi.parse_long_header(vn).kind == qi.VERSION_NEGOTIATION
    unknown = bytes([0xC0]) + bytes.fromhex("51303530") + b"\x08" + bytes(8) + b"\x00" + bytes(30)  # gQUIC Q050
    header = qi.parse_long_header(unknown)
    assert header.kind == "" and header.end == len(unknown)
    retry = bytes([0xF0]) + (1).to_bytes(4, "big") + b"\x00\x04abcd" + b"token" + bytes(16)
    assert (qi.parse_long_header(retry).kind, qi.parse_long_header(retry).scid) == (qi.RETRY, b"abcd")
    with pytest.raises(ParseError):  # a v1 connection ID over 20 bytes
        qi.parse_long_header(bytes([0xC0]) + (1).to_bytes(4, "big") + b"\x15" + bytes(60))
    with pytest.raises(ParseError):  # Length past the datagram (a capture cut short)
        qi.parse_long_header(V1_CLIENT_INITIAL[:600])


def crypto(offset: int, data: bytes) -> bytes:
    return b"\x06" + varint(offset) + varint(len(data)) + data


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=1300), st.integers(0, 1))
def test_fuzz_headers_and_frames_raise_only_parse_errors(data: bytes, which: int) -> None:
    try:
        if which:
            qi.crypto_fragments(data)
        elif data and data[0] & 0x80:
            header = qi.parse_long_header(data)
            if header.kind == qi.INITIAL:
                qi.open_packet(data, header, qi.initial_keys(qi.VERSIONS[header.version], header.dcid, server=False))
    except ParseError:
        pass
