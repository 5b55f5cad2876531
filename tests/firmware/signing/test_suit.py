"""The SUIT envelope we write, decoded with plain cbor2 and checked key by key against the CDDL of
draft-ietf-suit-manifest; ids derived as the draft's examples derive them; COSE checked by pycose."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.errors import ParseError
from iotwarden.firmware.signing import keys, suit
from iotwarden.firmware.signing.signer import sign_image


def _envelope(image: bytes, algorithm: str = "ed25519") -> tuple[bytes, keys.PrivateKey]:
    key = keys.generate(algorithm)
    env = sign_image(
        image, key, vendor_domain="acme.example", model="cam-2000", version="2.1.0", sequence=7, uri="http://fw/x.bin"
    )
    return env, key


def test_vendor_id_is_uuid5_of_the_vendor_domain_as_in_the_draft_examples() -> None:
    # draft-ietf-suit-manifest Appendix B examples:
    # vendor-id fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe = UUID5(DNS, "arm.com")
    assert suit.vendor_id("arm.com") == uuid.UUID("fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe")
    assert suit.class_id("arm.com", "m1") == uuid.uuid5(suit.vendor_id("arm.com"), "m1")


def test_envelope_structure_follows_the_cddl(squashfs_image: Path) -> None:
    image = squashfs_image.read_bytes()
    env, _ = _envelope(image)
    top = cbor2.loads(env)
    assert top.tag == 107  # SUIT_Envelope_Tagged
    assert set(top.value) == {2, 3}  # suit-authentication-wrapper, suit-manifest
    auth = cbor2.loads(top.value[2])
    digest = cbor2.loads(auth[0])
    assert digest[0] == -16 and digest[1] == hashlib.sha256(cbor2.dumps(top.value[3])).digest()
    sign1 = cbor2.loads(auth[1])
    assert sign1.tag == 18 and sign1.value[2] is None  # COSE_Sign1_Tagged, detached payload
    assert cbor2.loads(sign1.value[0]) == {1: -8}  # alg EdDSA in the protected header
    man = cbor2.loads(top.value[3])
    assert set(man) == {1, 2, 3, 7, 20, 23}  # version, sequence, common, validate, install, text
    assert man[1] == 1 and man[2] == 7
    common = cbor2.loads(man[3])
    assert common[2] == [[b"\x00"]]  # suit-components
    shared = cbor2.loads(common[4])
    assert shared[0] == 20  # suit-directive-override-parameters
    params = shared[1]
    assert params[1] == suit.vendor_id("acme.example").bytes
    assert params[2] == suit.class_id("acme.example", "cam-2000").bytes
    assert cbor2.loads(params[3]) == [-16, hashlib.sha256(image).digest()]
    assert params[14] == len(image)
    assert shared[2:] == [1, 15, 2, 15]  # vendor and class identifier conditions
    assert cbor2.loads(man[7]) == [3, 15]  # suit-validate: condition-image-match
    install = cbor2.loads(man[20])
    assert install[0] == 20 and install[1] == {21: "http://fw/x.bin"} and install[2:] == [21, 15, 3, 15]


@pytest.mark.parametrize("algorithm", ["ed25519", "p256"])
def test_cose_sign1_verifies_with_pycose(algorithm: str) -> None:
    """Interop: an independent COSE implementation accepts our detached COSE_Sign1."""
    pycose_messages = pytest.importorskip("pycose.messages")
    from pycose.keys import CoseKey
    from pycose.keys.keyparam import KpKty

    env, key = _envelope(b"firmware bytes", algorithm)
    decoded = suit.decode_envelope(env)
    sig = decoded.signatures[0]
    # pycose's decode() cannot read cbor2 6 tagged arrays (tuples); hand it the four fields
    msg = pycose_messages.Sign1Message.from_cose_obj([sig.protected, {}, None, sig.signature], True)
    pub = key.public_key()
    from cryptography.hazmat.primitives import serialization

    pem = pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    msg.key = CoseKey.from_pem_public_key(pem.decode())
    assert msg.key[KpKty] is not None
    assert msg.verify_signature(detached_payload=decoded.digest_bstr)


def test_decoded_manifest_round_trips() -> None:
    env, _ = _envelope(b"abc")
    man = suit.decode_envelope(env).manifest
    assert (man.sequence, man.model, man.version, man.vendor, man.size) == (7, "cam-2000", "2.1.0", "acme.example", 3)
    assert man.uri == "http://fw/x.bin" and man.digest == hashlib.sha256(b"abc").digest()


@pytest.mark.parametrize(
    "data",
    [b"", b"\xff", cbor2.dumps([1, 2]), cbor2.dumps(cbor2.CBORTag(108, {})), cbor2.dumps({2: b"", 3: b""}),
     cbor2.dumps({2: cbor2.dumps([]), 3: cbor2.dumps({1: 1})}), b"\x00" * (suit.MAX_ENVELOPE_BYTES + 1)],
)
def test_malformed_envelopes_raise_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError):
        suit.decode_envelope(data)


_VALID, _ = _envelope(b"fuzz base")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400) | st.integers(0, len(_VALID) - 1).flatmap(
    lambda i: st.binary(min_size=1, max_size=4).map(lambda b: _VALID[:i] + b + _VALID[i + len(b):])))
def test_fuzzed_envelopes_decode_or_raise_parse_error(data: bytes) -> None:
    try:
        env = suit.decode_envelope(data)
    except ParseError:
        return
    assert isinstance(env.manifest, suit.Manifest)


def test_the_sequence_number_is_a_cbor_uint_never_a_bignum() -> None:
    """RFC 9124 §8.4.2: suit-manifest-sequence-number is a uint (RFC 8949 major type 0, at most 2**64 - 1);
    cbor2 would write a larger int as a tag-2 bignum, which other SUIT processors refuse."""
    args = {"vendor_domain": "acme.example", "model": "cam-2000", "version": "1", "image_sha256": bytes(32),
            "image_size": 1}
    top = suit.decode_manifest(suit.build_manifest(sequence=suit.MAX_SEQUENCE, **args))  # type: ignore[arg-type]
    assert top.sequence == 2**64 - 1
    with pytest.raises(ValueError, match="CBOR uint"):
        suit.build_manifest(sequence=2**64, **args)  # type: ignore[arg-type]
    bignum = cbor2.loads(suit.build_manifest(sequence=1, **args))  # type: ignore[arg-type]
    bignum[2] = 2**64  # encoded as tag 2
    with pytest.raises(ParseError, match="sequence-number"):
        suit.decode_manifest(cbor2.dumps(bignum))
