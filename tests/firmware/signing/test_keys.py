"""Signing keys: generation, PEM files, key ids and the bounded trusted-key list."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from iotwarden.errors import FirmwareError
from iotwarden.firmware.signing import keys


def test_key_files_round_trip(tmp_path: Path) -> None:
    key = keys.generate("p256")
    (tmp_path / "k.pem").write_bytes(keys.private_pem(key))
    (tmp_path / "k.pub").write_bytes(keys.public_pem(key.public_key()))
    kid = keys.key_id(key.public_key())
    assert len(kid) == keys.KID_BYTES
    assert keys.key_id(keys.load_public(tmp_path / "k.pub")) == kid
    assert keys.key_id(keys.load_public(tmp_path / "k.pem")) == kid
    assert keys.key_id(keys.load_private(tmp_path / "k.pem").public_key()) == kid


def test_other_curves_and_garbage_are_refused(tmp_path: Path) -> None:
    p384 = ec.generate_private_key(ec.SECP384R1())
    (tmp_path / "p384.pem").write_bytes(keys.private_pem(p384))
    with pytest.raises(FirmwareError, match="P-256"):
        keys.load_private(tmp_path / "p384.pem")
    (tmp_path / "junk.pem").write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    with pytest.raises(FirmwareError, match="not a PEM public key"):
        keys.load_public(tmp_path / "junk.pem")
    with pytest.raises(FirmwareError, match="unknown key algorithm"):
        keys.generate("rsa")


def test_trusted_keys_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keys, "MAX_TRUSTED_KEYS", 2)
    trusted = keys.TrustedKeys([keys.generate().public_key(), keys.generate().public_key()])
    assert len(trusted) == 2
    with pytest.raises(FirmwareError, match="more than 2"):
        trusted.add(keys.generate().public_key())
