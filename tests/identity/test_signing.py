"""A CA whose keys live in a SoftHSM token: certificates, CRLs and OCSP responses signed through the
token verify with openssl, the CA reopens with the PIN, and its folder holds no key at all. The DER
re-framing that puts the token's signature in place is pinned against the library's own encoding."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from iotwarden.errors import IdentityError
from iotwarden.identity import crl, keystore, lifecycle, signing
from iotwarden.identity.ca import ISSUING_CERT, ISSUING_KEY, ROOT_CERT, ROOT_KEY, CASettings, DeviceCA
from iotwarden.identity.keystore import KeyAlgorithm
from iotwarden.store.identity_models import SqlIdentityRepository
from tests.identity.conftest import TOKEN_LABEL, TOKEN_PIN, make_csr, pem
from tests.identity.test_crl import _openssl_verify_with_crl
from tests.identity.test_ocsp import _ask_openssl


def _token_ca(folder: Path, module: str, repo: SqlIdentityRepository, algorithm: KeyAlgorithm) -> DeviceCA:
    settings = CASettings(algorithm=algorithm, pkcs11_module=module, pkcs11_token=TOKEN_LABEL)
    return DeviceCA.init(folder, TOKEN_PIN, repo, settings=settings)


@pytest.mark.parametrize("algorithm", ["ec-p256", "rsa-2048", "ed25519"])
def test_a_token_ca_issues_revokes_and_answers_ocsp_that_openssl_verifies(
    softhsm: str, repo: SqlIdentityRepository, tmp_path: Path, algorithm: KeyAlgorithm
) -> None:
    ca = _token_ca(tmp_path / "ca", softhsm, repo, algorithm)
    assert not (ca.folder / ROOT_KEY).exists() and not (ca.folder / ISSUING_KEY).exists()
    assert keystore.plaintext_keys(ca.folder) == []
    chain = subprocess.run(["openssl", "verify", "-CAfile", str(ca.folder / ROOT_CERT), str(ca.folder / ISSUING_CERT)],
                           capture_output=True, text=True, check=False)
    assert chain.returncode == 0, chain.stderr
    # reopened from the folder with the PIN: the token's issuing key signs
    ca = DeviceCA.open(ca.folder, TOKEN_PIN, repo)
    good, _ = ca.issue(make_csr("cam-1")[0])
    bad, rec = ca.issue(make_csr("cam-2")[0])
    lifecycle.revoke(ca, rec.serial, "key_compromise")  # publishes a CRL signed on the token
    assert _openssl_verify_with_crl(ca, good, tmp_path).returncode == 0
    refused = _openssl_verify_with_crl(ca, bad, tmp_path)
    assert refused.returncode != 0 and "revoked" in refused.stdout + refused.stderr
    out = _ask_openssl(ca, pem(bad), tmp_path)
    assert "Response verify OK" in out and ": revoked" in out


def test_reopening_needs_the_pin_and_the_right_token_key(softhsm: str, repo: SqlIdentityRepository,
                                                         tmp_path: Path) -> None:
    ca = _token_ca(tmp_path / "ca", softhsm, repo, "ec-p256")
    with pytest.raises(IdentityError, match="wrong PIN"):
        DeviceCA.open(ca.folder, "11111111", repo)
    other = _token_ca(tmp_path / "other", softhsm, repo, "ec-p256")
    # a ca.json pointed at another CA's keys is refused, not used to sign
    raw = (ca.folder / "ca.json").read_text().replace(str(ca.settings.key_label), str(other.settings.key_label))
    (ca.folder / "ca.json").write_text(raw)
    with pytest.raises(IdentityError, match="is not the issuing CA's key"):
        DeviceCA.open(ca.folder, TOKEN_PIN, repo)


def test_der_reframing_gives_back_the_library_encoding(ca: DeviceCA) -> None:
    """Swapping a signature for itself must reproduce the exact DER (lengths in short and long form)."""
    cert, _ = ca.issue(make_csr("cam-9")[0])
    der = cert.public_bytes(serialization.Encoding.DER)
    assert signing._with_signature(der, cert.signature) == der
    listed = crl.build(ca, number=1)
    crl_der = listed.public_bytes(serialization.Encoding.DER)
    assert signing._with_signature(crl_der, listed.signature) == crl_der
    assert signing._tlv(0x04, b"x" * 300)[:4] == b"\x04\x82\x01\x2c"
    with pytest.raises(IdentityError):
        signing._with_signature(b"\x04\x01x", b"sig")


def test_file_keys_still_sign_directly(ca: DeviceCA) -> None:
    cert, _ = ca.issue(make_csr("cam-3")[0])
    cert.verify_directly_issued_by(ca.issuing)
    assert isinstance(ca.issuing_key, keystore.PrivateKey)
    assert signing.hash_for(ca.issuing) is not None
    assert x509.load_pem_x509_certificate(pem(cert)) == cert
