"""The device CA: a chain OpenSSL accepts, issuance from PKCS#10 requests made by OpenSSL and by
cryptography, every key algorithm, records in the store, and refusal of bad requests."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.errors import IdentityError
from iotwarden.identity import ca as ca_mod
from iotwarden.identity import keystore, profiles
from iotwarden.identity.ca import CASettings, DeviceCA, load_csr
from iotwarden.store.identity_models import SqlIdentityRepository
from tests.identity.conftest import PASSPHRASE, make_csr, pem


def _verify(ca: DeviceCA, cert: x509.Certificate, tmp: Path) -> subprocess.CompletedProcess[str]:
    (tmp / "leaf.pem").write_bytes(pem(cert))
    return subprocess.run(["openssl", "verify", "-x509_strict", "-purpose", "sslclient",
                           "-CAfile", str(ca.folder / ca_mod.ROOT_CERT),
                           "-untrusted", str(ca.folder / ca_mod.ISSUING_CERT), str(tmp / "leaf.pem")],
                          capture_output=True, text=True, check=False)


def test_a_csr_made_by_openssl_is_issued_and_verifies_with_openssl(ca: DeviceCA, tmp_path: Path) -> None:
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(tmp_path / "dev.key"), "-subj", "/CN=cam-01/serialNumber=SN42/OU=DS-2CD",
                    "-addext", "subjectAltName=DNS:cam-01.lan,IP:10.0.0.5", "-out", str(tmp_path / "req.pem")],
                   check=True, capture_output=True)
    csr = load_csr((tmp_path / "req.pem").read_bytes())
    cert, rec = ca.issue(csr, device_key="mac:00:11:22:33:44:55")
    result = _verify(ca, cert, tmp_path)
    assert result.returncode == 0, result.stderr
    assert rec.device_id == "cam-01" and "2.5.4.5=SN42" in rec.subject  # serialNumber, RFC 4514 by OID
    assert cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName) == ["cam-01.lan"]
    stored = ca.repo.get_certificate(rec.serial)
    assert stored is not None and stored.device_key == "mac:00:11:22:33:44:55" and stored.status == "valid"
    assert ca.repo.find_by_sha256(ca_mod.cert_sha256(cert)) == stored


@pytest.mark.parametrize("algorithm", ["rsa-2048", "ed25519", "ec-p384"])
def test_the_ca_can_use_other_algorithms(tmp_path: Path, repo: SqlIdentityRepository,
                                         algorithm: keystore.KeyAlgorithm) -> None:
    ca = DeviceCA.init(tmp_path / "ca", PASSPHRASE, repo, settings=CASettings(algorithm=algorithm))
    csr, _ = make_csr("meter-7", keystore.generate(algorithm))
    cert, _ = ca.issue(csr)
    result = _verify(ca, cert, tmp_path)
    assert result.returncode == 0, result.stderr


def test_issued_lifetime_key_usage_and_constraints_follow_the_device_profile(ca: DeviceCA) -> None:
    cert, rec = ca.issue(make_csr("plc-3")[0])
    lifetime = rec.not_after - rec.not_before
    assert lifetime == profiles.DEVICE.lifetime_days * 86400 + ca_mod.CLOCK_SKEW_S
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.issuer == ca.issuing.subject and ca.issued_by_us(cert)
    assert int(rec.serial, 16) == cert.serial_number and cert.serial_number.bit_length() > 64


def test_reopening_needs_the_passphrase(ca: DeviceCA, repo: SqlIdentityRepository) -> None:
    again = DeviceCA.open(ca.folder, PASSPHRASE, repo)
    assert again.issuing == ca.issuing
    with pytest.raises(IdentityError):
        DeviceCA.open(ca.folder, "a wrong passphrase here", repo)
    with pytest.raises(IdentityError, match="already holds"):
        DeviceCA.init(ca.folder, PASSPHRASE, repo)


def test_a_damaged_ca_json_is_one_identity_error(ca: DeviceCA, repo: SqlIdentityRepository) -> None:
    """ca.json nested past json's recursion raised RecursionError, not ValueError, out of open()."""
    settings = ca.folder / "ca.json"
    for text, why in (("[" * 100_000 + "]" * 100_000, "nested too deeply"), ("{", "Expecting property name"),
                      ("[1]", "ca.json is not a JSON object")):
        settings.write_text(text)
        with pytest.raises(IdentityError, match=f"^no usable CA in {ca.folder}: .*{why}"):
            DeviceCA.open(ca.folder, PASSPHRASE, repo)


def test_requests_with_weak_keys_no_cn_or_broken_signatures_are_refused(ca: DeviceCA) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the weak key under test
    with pytest.raises(IdentityError, match="RSA key of 1024"):
        ca.issue(make_csr("cam-9", weak)[0])
    k1 = ec.generate_private_key(ec.SECP256K1())
    with pytest.raises(IdentityError, match="curve"):
        ca.issue(make_csr("cam-9", k1)[0])
    no_cn = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "x")])).sign(keystore.generate(), hashes.SHA256())
    with pytest.raises(IdentityError, match="CN"):
        ca.issue(no_cn)
    der = bytearray(make_csr("cam-9")[0].public_bytes(serialization.Encoding.DER))
    der[-5] ^= 0xFF  # damage the signature: proof of possession fails
    with pytest.raises(IdentityError):
        load_csr(bytes(der))


def test_other_subject_alt_name_types_are_refused(ca: DeviceCA) -> None:
    csr, _ = make_csr("cam-9", sans=[x509.RFC822Name("a@example.org")])
    with pytest.raises(IdentityError, match="RFC822Name"):
        ca.issue(csr)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_load_csr_raises_only_identity_error(data: bytes) -> None:
    with contextlib.suppress(IdentityError):
        assert isinstance(load_csr(data), x509.CertificateSigningRequest)
