"""OCSP: requests made by `openssl ocsp` get responses that `openssl ocsp` verifies: good, revoked, unknown."""

from __future__ import annotations

import functools
import hashlib
import subprocess
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp as x509_ocsp
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.identity import lifecycle, ocsp
from iotwarden.identity.ca import ISSUING_CERT, ROOT_CERT, DeviceCA
from iotwarden.store import Store
from iotwarden.store.identity_models import SqlIdentityRepository
from tests.identity.conftest import PASSPHRASE, make_csr, pem


def _ask_openssl(ca: DeviceCA, leaf_pem: bytes, tmp: Path) -> str:
    (tmp / "leaf.pem").write_bytes(leaf_pem)
    # a request with a nonce (RFC 6960 §4.4.1): the response must echo it
    subprocess.run(["openssl", "ocsp", "-issuer", str(ca.folder / ISSUING_CERT), "-cert", str(tmp / "leaf.pem"),
                    "-reqout", str(tmp / "req.der")], check=True, capture_output=True)
    request = x509_ocsp.load_der_ocsp_request((tmp / "req.der").read_bytes())
    answer = x509_ocsp.load_der_ocsp_response(ocsp.respond(ca, (tmp / "req.der").read_bytes()))
    assert answer.extensions.get_extension_for_class(x509.OCSPNonce).value == \
        request.extensions.get_extension_for_class(x509.OCSPNonce).value
    # openssl verifies signature and chain and prints the status (it re-creates the request from
    # -cert, with a new nonce, so this round goes without one)
    subprocess.run(["openssl", "ocsp", "-issuer", str(ca.folder / ISSUING_CERT), "-cert", str(tmp / "leaf.pem"),
                    "-no_nonce", "-reqout", str(tmp / "req.der")], check=True, capture_output=True)
    (tmp / "resp.der").write_bytes(ocsp.respond(ca, (tmp / "req.der").read_bytes()))
    done = subprocess.run(["openssl", "ocsp", "-respin", str(tmp / "resp.der"), "-no_nonce",
                           "-issuer", str(ca.folder / ISSUING_CERT), "-CAfile", str(ca.folder / ROOT_CERT),
                           "-cert", str(tmp / "leaf.pem")], capture_output=True, text=True, check=False)
    return done.stdout + done.stderr


def test_openssl_verifies_good_and_revoked_answers(ca: DeviceCA, tmp_path: Path) -> None:
    good, _ = ca.issue(make_csr("cam-1")[0])
    out = _ask_openssl(ca, pem(good), tmp_path)
    assert "Response verify OK" in out and ": good" in out
    bad, rec = ca.issue(make_csr("cam-2")[0])
    lifecycle.revoke(ca, rec.serial, "key_compromise")
    out = _ask_openssl(ca, pem(bad), tmp_path)
    assert "Response verify OK" in out and ": revoked" in out and "keyCompromise" in out


def _request_for(ca: DeviceCA, serial: int, *, key_hash: bytes | None = None) -> bytes:
    name_hash = hashlib.sha1(ca.issuing.subject.public_bytes(), usedforsecurity=False).digest()
    real_key_hash = hashlib.sha1(ocsp._public_key_bits(ca.issuing), usedforsecurity=False).digest()
    req = x509_ocsp.OCSPRequestBuilder().add_certificate_by_hash(
        name_hash, key_hash or real_key_hash, serial, hashes.SHA1()).build()  # noqa: S303 - RFC 6960 CertID default
    return req.public_bytes(serialization.Encoding.DER)


def test_a_serial_we_never_issued_is_unknown_and_another_issuer_is_unauthorized(ca: DeviceCA) -> None:
    resp = x509_ocsp.load_der_ocsp_response(ocsp.respond(ca, _request_for(ca, 12345)))
    assert resp.response_status == x509_ocsp.OCSPResponseStatus.SUCCESSFUL
    assert resp.certificate_status == x509_ocsp.OCSPCertStatus.UNKNOWN
    resp = x509_ocsp.load_der_ocsp_response(ocsp.respond(ca, _request_for(ca, 12345, key_hash=b"\1" * 20)))
    assert resp.response_status == x509_ocsp.OCSPResponseStatus.UNAUTHORIZED


@functools.cache
def _fuzz_ca() -> DeviceCA:
    folder = Path(tempfile.mkdtemp(prefix="iotwarden-ocsp-fuzz-"))
    repo = SqlIdentityRepository(Store(f"sqlite:///{folder / 'db.sqlite'}"))
    return DeviceCA.init(folder / "ca", PASSPHRASE, repo)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_garbage_requests_get_an_error_status_never_an_exception(data: bytes) -> None:
    resp = x509_ocsp.load_der_ocsp_response(ocsp.respond(_fuzz_ca(), data))
    assert resp.response_status in (x509_ocsp.OCSPResponseStatus.MALFORMED_REQUEST,
                                     x509_ocsp.OCSPResponseStatus.UNAUTHORIZED)
