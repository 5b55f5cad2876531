"""Signing keys for firmware manifests: generation (Ed25519, ECDSA P-256), PEM loading, key ids and the
list of keys a verifier trusts."""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from iotwarden.errors import FirmwareError
from iotwarden.firmware.signing.cose import PrivateKey, PublicKey, algorithm_for

KID_BYTES = 16  # key id: the first 16 bytes of SHA-256 over the SubjectPublicKeyInfo DER (RFC 5280 §4.1.2.7)
MAX_KEY_FILE_BYTES = 64 * 1024  # a PEM key file larger than this is refused
MAX_TRUSTED_KEYS = 256  # keys one verifier may trust
ALGORITHMS = ("ed25519", "p256")


def generate(algorithm: str = "ed25519") -> PrivateKey:
    if algorithm == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if algorithm == "p256":
        return ec.generate_private_key(ec.SECP256R1())
    raise FirmwareError(f"unknown key algorithm {algorithm!r}: one of {', '.join(ALGORITHMS)}")


def private_pem(key: PrivateKey) -> bytes:
    """PKCS#8 PEM, unencrypted: protect the file by its permissions (written 0600)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_pem(key: PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_id(key: PublicKey) -> bytes:
    spki = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).digest()[:KID_BYTES]


def _read(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_KEY_FILE_BYTES:
            raise FirmwareError(f"{path}: key file larger than {MAX_KEY_FILE_BYTES} bytes")
        return path.read_bytes()
    except OSError as exc:
        raise FirmwareError(f"{path}: cannot read key: {exc.strerror}") from None


def load_private(path: Path) -> PrivateKey:
    try:
        key = serialization.load_pem_private_key(_read(path), password=None)
    except (ValueError, TypeError) as exc:
        raise FirmwareError(f"{path}: not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
        raise FirmwareError(f"{path}: only Ed25519 and ECDSA P-256 keys can sign manifests")
    try:
        algorithm_for(key)
    except ValueError as exc:
        raise FirmwareError(f"{path}: {exc}") from None
    return key


def load_public(path: Path) -> PublicKey:
    """A public key from a PEM public key or, for convenience, from a PEM private key."""
    data = _read(path)
    if b"PRIVATE KEY" in data:
        return load_private(path).public_key()
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise FirmwareError(f"{path}: not a PEM public key: {exc}") from None
    if not isinstance(key, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey):
        raise FirmwareError(f"{path}: only Ed25519 and ECDSA P-256 keys are accepted")
    try:
        algorithm_for(key)
    except ValueError as exc:
        raise FirmwareError(f"{path}: {exc}") from None
    return key


class TrustedKeys:
    """The public keys whose signatures a verifier accepts, indexed by key id (at most
    :data:`MAX_TRUSTED_KEYS`)."""

    def __init__(self, keys: list[PublicKey] | None = None) -> None:
        self._by_kid: dict[bytes, PublicKey] = {}
        for key in keys or []:
            self.add(key)

    def add(self, key: PublicKey) -> bytes:
        if len(self._by_kid) >= MAX_TRUSTED_KEYS:
            raise FirmwareError(f"more than {MAX_TRUSTED_KEYS} trusted keys")
        kid = key_id(key)
        self._by_kid[kid] = key
        return kid

    def get(self, kid: bytes | None) -> PublicKey | None:
        return self._by_kid.get(kid) if kid is not None else None

    def all(self) -> list[PublicKey]:
        return list(self._by_kid.values())

    def __len__(self) -> int:
        return len(self._by_kid)
