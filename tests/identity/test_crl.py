"""CRLs: OpenSSL verifies the CRL's signature and refuses a revoked certificate with it; numbers increase."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography import x509

from iotwarden.errors import IdentityError
from iotwarden.identity import crl, lifecycle
from iotwarden.identity.ca import ISSUING_CERT, ROOT_CERT, DeviceCA
from tests.identity.conftest import make_csr, pem


def _openssl_verify_with_crl(ca: DeviceCA, cert: x509.Certificate, tmp: Path) -> subprocess.CompletedProcess[str]:
    (tmp / "leaf.pem").write_bytes(pem(cert))
    return subprocess.run(["openssl", "verify", "-crl_check", "-CRLfile", str(ca.folder / crl.CRL_FILE),
                           "-CAfile", str(ca.folder / ROOT_CERT), "-untrusted", str(ca.folder / ISSUING_CERT),
                           str(tmp / "leaf.pem")], capture_output=True, text=True, check=False)


def test_a_revoked_certificate_fails_openssl_crl_check_and_others_pass(ca: DeviceCA, tmp_path: Path) -> None:
    good, _ = ca.issue(make_csr("cam-1")[0])
    bad, bad_rec = ca.issue(make_csr("cam-2")[0])
    lifecycle.revoke(ca, bad_rec.serial, "key_compromise")
    assert _openssl_verify_with_crl(ca, good, tmp_path).returncode == 0
    result = _openssl_verify_with_crl(ca, bad, tmp_path)
    assert result.returncode != 0 and "revoked" in (result.stdout + result.stderr)
    listed = x509.load_pem_x509_crl((ca.folder / crl.CRL_FILE).read_bytes())
    entry = listed.get_revoked_certificate_by_serial_number(bad.serial_number)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.key_compromise
    crl_check = subprocess.run(["openssl", "crl", "-in", str(ca.folder / crl.CRL_FILE), "-noout",
                                "-CAfile", str(ca.folder / ISSUING_CERT)], capture_output=True, text=True, check=False)
    assert "verify OK" in crl_check.stdout + crl_check.stderr


def test_crl_numbers_increase_and_next_update_follows_the_validity(ca: DeviceCA) -> None:
    crl.publish(ca, validity_hours=6)
    first = x509.load_pem_x509_crl((ca.folder / crl.CRL_FILE).read_bytes())
    crl.publish(ca, validity_hours=6)
    second = x509.load_pem_x509_crl((ca.folder / crl.CRL_FILE).read_bytes())

    def number(c: x509.CertificateRevocationList) -> int:
        return c.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number

    assert number(second) == number(first) + 1
    assert second.next_update_utc is not None
    assert (second.next_update_utc - second.last_update_utc).total_seconds() == 6 * 3600


def test_long_expired_revoked_certificates_leave_the_crl(ca: DeviceCA) -> None:
    _, rec = ca.issue(make_csr("cam-3")[0])
    lifecycle.revoke(ca, rec.serial)
    later = rec.not_after + crl.EXPIRED_GRACE_S + 1
    assert len(list(crl.build(ca, number=99))) == 1
    assert len(list(crl.build(ca, number=100, now=later))) == 0


def test_unknown_reasons_and_serials_are_refused(ca: DeviceCA) -> None:
    with pytest.raises(IdentityError, match="reason"):
        crl.reason_flag("bored")
    with pytest.raises(IdentityError, match="no certificate"):
        lifecycle.revoke(ca, "abcdef")
