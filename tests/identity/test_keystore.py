"""Keys at rest: CA keys are written only encrypted, owner-only, and a wrong passphrase is one clear error."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from iotwarden.errors import IdentityError
from iotwarden.identity import keystore
from iotwarden.identity.ca import DeviceCA
from tests.identity.conftest import PASSPHRASE


@pytest.mark.parametrize("algorithm", keystore.ALGORITHMS)
def test_every_algorithm_round_trips_through_an_encrypted_file(tmp_path: Path,
                                                               algorithm: keystore.KeyAlgorithm) -> None:
    key = keystore.generate(algorithm)
    path = tmp_path / "k.pem"
    keystore.save(key, path, PASSPHRASE)
    assert path.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keystore.load(path, PASSPHRASE).public_key() == key.public_key()


def test_wrong_passphrase_and_damaged_file_are_identity_errors(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    keystore.save(keystore.generate(), path, PASSPHRASE)
    with pytest.raises(IdentityError, match="wrong passphrase"):
        keystore.load(path, "not the passphrase at all")
    path.write_bytes(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n")
    with pytest.raises(IdentityError):
        keystore.load(path, PASSPHRASE)
    with pytest.raises(IdentityError, match="cannot read"):
        keystore.load(tmp_path / "absent.pem", PASSPHRASE)


def test_short_passphrases_are_refused() -> None:
    with pytest.raises(IdentityError, match=str(keystore.MIN_PASSPHRASE_CHARS)):
        keystore.encrypted_pem(keystore.generate(), "short")


def test_the_ca_folder_never_holds_an_unencrypted_private_key(ca: DeviceCA) -> None:
    # the acceptance scan: no "BEGIN PRIVATE KEY" / "BEGIN EC PRIVATE KEY" without ENCRYPTED
    texts = [p.read_bytes() for p in ca.folder.rglob("*") if p.is_file()]
    assert any(b"BEGIN ENCRYPTED PRIVATE KEY" in t for t in texts)
    assert not any(b"BEGIN PRIVATE KEY" in t or b"BEGIN EC PRIVATE KEY" in t or b"BEGIN RSA PRIVATE KEY" in t
                   for t in texts)
    assert keystore.plaintext_keys(ca.folder) == []


def test_plaintext_keys_finds_a_planted_one(tmp_path: Path) -> None:
    (tmp_path / "leak.pem").write_bytes(keystore.plain_pem(keystore.generate()))
    assert keystore.plaintext_keys(tmp_path) == [tmp_path / "leak.pem"]
