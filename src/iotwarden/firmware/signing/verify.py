"""Verifying a firmware image against its SUIT envelope, in the order the manifest processor of
draft-ietf-suit-manifest §6 does it: authenticate the manifest (trusted key, COSE signature, manifest
digest), then check it applies (vendor and class ids), that it is newer (sequence number, RFC 9124
§4.3.1 anti-rollback), and finally that the image is the one it names (size, SHA-256 digest)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iotwarden.errors import FirmwareError, ParseError
from iotwarden.firmware.signing import cose, suit
from iotwarden.firmware.signing.keys import TrustedKeys, key_id

READ_CHUNK = 1 << 20
# why verification failed: stable codes for reports, check-ins and tests
REASONS = (
    "malformed",
    "unsigned",
    "untrusted_key",
    "bad_signature",
    "manifest_digest",
    "vendor_id",
    "class_id",
    "downgrade",
    "digest_algorithm",
    "image_size",
    "image_digest",
)


class VerificationError(FirmwareError):
    """The image or its manifest is not genuine, not for this device, or older than what it runs;
    ``reason`` is one of :data:`REASONS`."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"verification failed ({reason}): {detail}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Expectation:
    """What the verifying side knows about the device: its vendor and model (None skips that check)
    and the sequence number of the manifest it runs now (None: nothing installed yet)."""

    vendor_domain: str | None = None
    model: str | None = None
    current_sequence: int | None = None


@dataclass(frozen=True, slots=True)
class Verified:
    manifest: suit.Manifest
    key_id: bytes
    algorithm: str

    def to_dict(self) -> dict[str, Any]:
        return {"verified": True, "key_id": self.key_id.hex(), "algorithm": self.algorithm, **self.manifest.to_dict()}


def authenticate(data: bytes, trusted: TrustedKeys) -> tuple[suit.Envelope, bytes, str]:
    """Decode the envelope and authenticate its manifest; returns it with the key id and algorithm
    that vouched for it. Raises VerificationError."""
    try:
        env = suit.decode_envelope(data)
    except ParseError as exc:
        raise VerificationError("malformed", str(exc)) from None
    if not env.signatures:
        raise VerificationError("unsigned", "the authentication wrapper holds no signature")
    if not len(trusted):
        raise VerificationError("untrusted_key", "no trusted key configured")
    # the signature covers the SUIT_Digest; the digest must then match the manifest bytes
    for sig in env.signatures:
        key = trusted.get(sig.kid)
        for k in [key] if key is not None else trusted.all():
            if cose.verify1(sig, k, env.digest_bstr):
                alg, digest = env.claimed_digest
                if alg != suit.DIGEST_SHA256:
                    raise VerificationError("digest_algorithm", f"manifest digest algorithm {alg} is not SHA-256 (-16)")
                if digest != suit.manifest_digest(env.manifest_bstr):
                    raise VerificationError(
                        "manifest_digest", "the manifest does not match the signed digest (manifest modified)"
                    )
                return env, key_id(k), cose.ALG_NAMES.get(sig.alg or 0, str(sig.alg))
    if all(trusted.get(sig.kid) is None for sig in env.signatures):
        kids = ", ".join((sig.kid or b"").hex() or "none" for sig in env.signatures)
        raise VerificationError("untrusted_key", f"signed by key id {kids}, which is not trusted")
    raise VerificationError("bad_signature", "the COSE_Sign1 signature does not verify with the trusted key")


def check_applies(man: suit.Manifest, expect: Expectation) -> None:
    """Vendor and class identifiers (suit-condition-vendor/class-identifier) and anti-rollback."""
    if expect.vendor_domain is not None and man.vendor_id != suit.vendor_id(expect.vendor_domain).bytes:
        raise VerificationError(
            "vendor_id", f"manifest vendor id {_uuid(man.vendor_id)} is not {suit.vendor_id(expect.vendor_domain)}"
        )
    if expect.vendor_domain is not None and expect.model is not None:
        want = suit.class_id(expect.vendor_domain, expect.model)
        if man.class_id != want.bytes:
            raise VerificationError(
                "class_id", f"manifest class id {_uuid(man.class_id)} is not {want} ({expect.model})"
            )
    if expect.current_sequence is not None and man.sequence <= expect.current_sequence:
        raise VerificationError(
            "downgrade",
            f"sequence number {man.sequence} is not newer than the installed {expect.current_sequence} "
            "(rollback refused)",
        )


def check_image(man: suit.Manifest, image: Path | bytes) -> None:
    """The image's size and SHA-256 against suit-parameter-image-size and -image-digest."""
    if man.digest_alg != suit.DIGEST_SHA256:
        raise VerificationError("digest_algorithm", f"image digest algorithm {man.digest_alg} is not SHA-256 (-16)")
    h = hashlib.sha256()
    if isinstance(image, bytes):
        size = len(image)
        h.update(image)
    else:
        size = image.stat().st_size
        with image.open("rb") as f:
            while chunk := f.read(READ_CHUNK):
                h.update(chunk)
    if size != man.size:
        raise VerificationError("image_size", f"image is {size} bytes, the manifest says {man.size}")
    if h.digest() != man.digest:
        raise VerificationError(
            "image_digest", f"image SHA-256 {h.hexdigest()} is not the signed {man.digest.hex()} (image modified)"
        )


def verify(image: Path | bytes, envelope: bytes, trusted: TrustedKeys, expect: Expectation | None = None) -> Verified:
    """Full verification of ``image`` against ``envelope``; raises :class:`VerificationError`."""
    env, kid, alg = authenticate(envelope, trusted)
    check_applies(env.manifest, expect or Expectation())
    check_image(env.manifest, image)
    return Verified(env.manifest, kid, alg)


def _uuid(raw: bytes) -> str:
    return str(uuid.UUID(bytes=raw)) if len(raw) == 16 else raw.hex()
