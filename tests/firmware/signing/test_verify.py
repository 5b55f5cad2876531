"""Verification of an image of real binaries against its SUIT envelope: the genuine image passes; a
tampered image, a tampered manifest, a wrong key, another model and a downgrade each fail with a clear
reason, for Ed25519 and ECDSA P-256."""

from __future__ import annotations

from pathlib import Path

import cbor2
import pytest

from iotwarden.firmware.signing import keys, suit
from iotwarden.firmware.signing.signer import sign_image
from iotwarden.firmware.signing.verify import Expectation, VerificationError, verify

VENDOR, MODEL = "acme.example", "cam-2000"


@pytest.fixture(params=["ed25519", "p256"])
def signed(request: pytest.FixtureRequest, squashfs_image: Path) -> tuple[Path, bytes, keys.PrivateKey]:
    key = keys.generate(request.param)
    env = sign_image(squashfs_image, key, vendor_domain=VENDOR, model=MODEL, version="2.1.0", sequence=5)
    return squashfs_image, env, key


def _reason(image: Path | bytes, env: bytes, trusted: keys.TrustedKeys, expect: Expectation | None = None) -> str:
    with pytest.raises(VerificationError) as err:
        verify(image, env, trusted, expect)
    return err.value.reason


def test_genuine_image_verifies(signed: tuple[Path, bytes, keys.PrivateKey]) -> None:
    image, env, key = signed
    ok = verify(image, env, keys.TrustedKeys([key.public_key()]), Expectation(VENDOR, MODEL, 4))
    assert ok.manifest.sequence == 5 and ok.manifest.version == "2.1.0"
    assert ok.key_id == keys.key_id(key.public_key())


def test_tampered_image_fails_on_its_digest(signed: tuple[Path, bytes, keys.PrivateKey], tmp_path: Path) -> None:
    image, env, key = signed
    data = bytearray(image.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit inside the squashfs
    bad = tmp_path / "tampered.sqfs"
    bad.write_bytes(bytes(data))
    with pytest.raises(VerificationError, match=r"image_digest.*image modified"):
        verify(bad, env, keys.TrustedKeys([key.public_key()]))


def test_truncated_image_fails_on_its_size(signed: tuple[Path, bytes, keys.PrivateKey]) -> None:
    image, env, key = signed
    assert _reason(image.read_bytes()[:-1], env, keys.TrustedKeys([key.public_key()])) == "image_size"


def test_tampered_manifest_fails_on_the_signed_digest(signed: tuple[Path, bytes, keys.PrivateKey]) -> None:
    image, env, key = signed
    top = cbor2.loads(env)
    man = dict(cbor2.loads(top.value[3]))
    man[2] = 999  # raise the sequence number without re-signing
    forged = cbor2.dumps(cbor2.CBORTag(107, {2: top.value[2], 3: cbor2.dumps(man)}))
    with pytest.raises(VerificationError, match="manifest modified"):
        verify(image, forged, keys.TrustedKeys([key.public_key()]))


def test_forged_signature_fails(signed: tuple[Path, bytes, keys.PrivateKey]) -> None:
    image, env, key = signed
    top = cbor2.loads(env)
    auth = list(cbor2.loads(top.value[2]))
    sign1 = list(cbor2.loads(auth[1]).value)
    sign1[3] = bytes(len(sign1[3]))
    auth[1] = cbor2.dumps(cbor2.CBORTag(18, sign1))
    forged = cbor2.dumps(cbor2.CBORTag(107, {2: cbor2.dumps(auth), 3: top.value[3]}))
    assert _reason(image, forged, keys.TrustedKeys([key.public_key()])) == "bad_signature"


def test_wrong_key_is_not_trusted(signed: tuple[Path, bytes, keys.PrivateKey]) -> None:
    image, env, _ = signed
    other = keys.TrustedKeys([keys.generate("ed25519").public_key(), keys.generate("p256").public_key()])
    with pytest.raises(VerificationError, match=r"untrusted_key.*not trusted"):
        verify(image, env, other)


def test_no_trusted_key_refuses() -> None:
    env = sign_image(b"x", keys.generate(), vendor_domain=VENDOR, model=MODEL, version="1", sequence=1)
    assert _reason(b"x", env, keys.TrustedKeys()) == "untrusted_key"


def test_downgrade_is_refused_with_the_sequence_numbers(signed: tuple[Path, bytes, keys.PrivateKey]) -> None:
    image, env, key = signed
    with pytest.raises(VerificationError, match=r"downgrade.*sequence number 5 is not newer than the installed 6"):
        verify(image, env, keys.TrustedKeys([key.public_key()]), Expectation(VENDOR, MODEL, 6))
    assert _reason(image, env, keys.TrustedKeys([key.public_key()]), Expectation(VENDOR, MODEL, 5)) == "downgrade"


def test_image_for_another_vendor_or_model_is_refused(signed: tuple[Path, bytes, keys.PrivateKey]) -> None:
    image, env, key = signed
    trusted = keys.TrustedKeys([key.public_key()])
    assert _reason(image, env, trusted, Expectation("other.example", MODEL)) == "vendor_id"
    assert _reason(image, env, trusted, Expectation(VENDOR, "cam-3000")) == "class_id"


def test_unsigned_envelope_is_refused() -> None:
    man = suit.build_manifest(
        vendor_domain=VENDOR, model=MODEL, version="1", sequence=1, image_sha256=bytes(32), image_size=0
    )
    env = cbor2.dumps(cbor2.CBORTag(107, {2: cbor2.dumps([cbor2.dumps([-16, suit.manifest_digest(man)])]), 3: man}))
    assert _reason(b"", env, keys.TrustedKeys([keys.generate().public_key()])) == "unsigned"
