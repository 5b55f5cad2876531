"""Private keys at rest: generation (ECDSA P-256, RSA, Ed25519) and passphrase-encrypted PKCS#8 files.

A CA key is only ever written encrypted (PKCS#8 ``EncryptedPrivateKeyInfo``, RFC 5958 §3, PBES2);
:func:`plaintext_keys` finds any file under a folder that holds an unencrypted PEM private key.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from iotwarden.errors import IdentityError
from iotwarden.identity import defaults

# one definition each, in identity/defaults.py, whose options show them without importing cryptography
KeyAlgorithm = defaults.KeyAlgorithm
ALGORITHMS = defaults.ALGORITHMS
DEFAULT_ALGORITHM = defaults.DEFAULT_ALGORITHM
MIN_PASSPHRASE_CHARS = 12  # shorter CA passphrases are refused (NIST SP 800-63B §5.1.1.2 asks >= 8)
MAX_KEY_FILE_BYTES = 64 * 1024  # a PEM key file larger than this is not a key
FILE_MODE = 0o600  # key files: owner read/write only

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey

# PEM labels of unencrypted private keys (RFC 7468 §10 PKCS#8, plus the legacy OpenSSL ones)
_PLAIN_PEM = re.compile(rb"-----BEGIN (?:RSA |EC |DSA |OPENSSH )?PRIVATE KEY-----")


def generate(algorithm: KeyAlgorithm = DEFAULT_ALGORITHM) -> PrivateKey:
    """A fresh private key of ``algorithm``."""
    if algorithm == "ec-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "ec-p384":
        return ec.generate_private_key(ec.SECP384R1())
    if algorithm in ("rsa-2048", "rsa-3072"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(algorithm[4:]))
    if algorithm == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise IdentityError(f"unknown key algorithm {algorithm!r}: one of {', '.join(ALGORITHMS)}")


def check_passphrase(passphrase: str) -> bytes:
    """The passphrase as bytes; :class:`IdentityError` if it is too short to protect a CA key."""
    if len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise IdentityError(f"the CA passphrase must have at least {MIN_PASSPHRASE_CHARS} characters")
    return passphrase.encode()


def encrypted_pem(key: PrivateKey, passphrase: str) -> bytes:
    """``key`` as PEM ``ENCRYPTED PRIVATE KEY`` (PKCS#8 with the best encryption the library offers)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(check_passphrase(passphrase)),
    )


def plain_pem(key: PrivateKey) -> bytes:
    """``key`` as unencrypted PKCS#8 PEM: only for service keys a daemon must read unattended
    (Mosquitto cannot be given a passphrase), never for CA keys."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` readable by the owner only (created 0600, never world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    tmp.replace(path)


def save(key: PrivateKey, path: Path, passphrase: str) -> None:
    """Write ``key`` encrypted under ``passphrase`` to ``path``."""
    write_private(path, encrypted_pem(key, passphrase))


def load(path: Path, passphrase: str | None) -> PrivateKey:
    """Read a PEM private key; a wrong passphrase or a damaged file raises :class:`IdentityError`."""
    try:
        if path.stat().st_size > MAX_KEY_FILE_BYTES:
            raise IdentityError(f"{path}: larger than {MAX_KEY_FILE_BYTES} bytes, not a key file")
        data = path.read_bytes()
    except OSError as exc:
        raise IdentityError(f"cannot read key {path}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(data, passphrase.encode() if passphrase is not None else None)
    except (ValueError, TypeError):
        raise IdentityError(f"cannot decrypt key {path}: wrong passphrase or damaged file") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        raise IdentityError(f"{path}: unsupported key type {type(key).__name__}")
    return key


def plaintext_keys(folder: Path) -> list[Path]:
    """Every file under ``folder`` holding an unencrypted PEM private key (should be none for a CA)."""
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.stat().st_size <= MAX_KEY_FILE_BYTES and _PLAIN_PEM.search(path.read_bytes()):
            found.append(path)
    return found
