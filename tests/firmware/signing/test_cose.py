"""COSE_Sign1 with a detached payload: both algorithms verify, any changed byte or swapped algorithm
fails, and malformed messages raise ParseError (fuzzed)."""

from __future__ import annotations

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.errors import ParseError
from iotwarden.firmware.signing import cose, keys


@pytest.mark.parametrize(("algorithm", "alg"), [("ed25519", cose.ALG_EDDSA), ("p256", cose.ALG_ES256)])
def test_sign_and_verify_detached(algorithm: str, alg: int) -> None:
    key = keys.generate(algorithm)
    msg = cose.decode_sign1(cose.sign1(key, b"payload", b"kid"))
    assert msg.alg == alg and msg.kid == b"kid" and msg.payload is None
    assert cose.verify1(msg, key.public_key(), b"payload")
    assert not cose.verify1(msg, key.public_key(), b"payloaD")
    assert not cose.verify1(msg, keys.generate(algorithm).public_key(), b"payload")


def test_algorithm_in_the_header_must_be_the_keys() -> None:
    key = keys.generate("ed25519")
    raw = cbor2.loads(cose.sign1(key, b"p", b"k")).value
    swapped = cose.decode_sign1(cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps({1: cose.ALG_ES256}), *raw[1:]])))
    assert not cose.verify1(swapped, key.public_key(), b"p")


@pytest.mark.parametrize(
    "data", [b"", cbor2.dumps([1, 2, 3]), cbor2.dumps(cbor2.CBORTag(98, [b"", {}, None, b""])),
             cbor2.dumps([b"\xff", {}, None, b""]), cbor2.dumps([b"", {}, 5, b""])]
)
def test_malformed_messages(data: bytes) -> None:
    with pytest.raises(ParseError):
        cose.decode_sign1(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_fuzzed_messages_decode_or_raise_parse_error(data: bytes) -> None:
    try:
        msg = cose.decode_sign1(data)
    except ParseError:
        return
    assert isinstance(msg.signature, bytes)
