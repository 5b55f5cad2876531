"""The EST service logic (RFC 7030) without sockets: routing, authentication rules, fuzzed input."""

from __future__ import annotations

import base64
import functools
import tempfile
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.identity import csrattrs, keystore, lifecycle, profiles
from iotwarden.identity.ca import CASettings, DeviceCA, cert_sha256
from iotwarden.identity.est import CERTS_ONLY, PREFIX, EstRequest, EstService
from iotwarden.identity.keypolicy import matches
from iotwarden.store import Store
from iotwarden.store.identity_models import SqlIdentityRepository
from tests.identity.conftest import PASSPHRASE, make_csr


def _enroll(svc: EstService, op: str, csr: x509.CertificateSigningRequest, *, token: str | None = None,
            peer: x509.Certificate | None = None) -> tuple[int, list[x509.Certificate]]:
    headers = {"content-type": "application/pkcs10"}
    if token:
        headers["authorization"] = "Basic " + base64.b64encode(f"dev:{token}".encode()).decode()
    body = base64.encodebytes(csr.public_bytes(serialization.Encoding.DER))
    resp = svc.handle(EstRequest("POST", PREFIX + op, headers, body, [peer] if peer else []))
    if resp.status != 200:
        return resp.status, []
    assert resp.content_type == CERTS_ONLY
    return 200, pkcs7.load_der_pkcs7_certificates(base64.b64decode(resp.body))


def test_cacerts_returns_the_chain_anonymously(ca: DeviceCA) -> None:
    resp = EstService(ca).handle(EstRequest("GET", PREFIX + "cacerts"))
    assert resp.status == 200 and ("Content-Transfer-Encoding", "base64") in resp.headers
    certs = pkcs7.load_der_pkcs7_certificates(base64.b64decode(resp.body))
    assert set(certs) == set(ca.chain)  # a SET OF in DER: order is the encoding's, not ours


def test_token_enrolment_once_for_the_named_device(ca: DeviceCA) -> None:
    svc = EstService(ca)
    token = lifecycle.new_token(ca.repo, "cam-1", ca.clock(), device_key="mac:00:00:00:00:00:01")
    assert _enroll(svc, "simpleenroll", make_csr("cam-2")[0], token=token)[0] == 403  # another device's CN
    token = lifecycle.new_token(ca.repo, "cam-1", ca.clock(), device_key="mac:00:00:00:00:00:01")
    status, certs = _enroll(svc, "simpleenroll", make_csr("cam-1")[0], token=token)
    assert status == 200 and profiles.common_name(certs[0].subject) == "cam-1"
    rec = ca.repo.find_by_sha256(cert_sha256(certs[0]))
    assert rec is not None and rec.method == "est" and rec.device_key == "mac:00:00:00:00:00:01"
    assert _enroll(svc, "simpleenroll", make_csr("cam-1")[0], token=token)[0] == 401  # one time only
    resp = svc.handle(EstRequest("POST", PREFIX + "simpleenroll", {"content-type": "application/pkcs10"}, b""))
    assert resp.status == 401 and resp.headers[0][0] == "WWW-Authenticate"


def test_bootstrap_certificates_enrol_devices_may_only_reenrol(ca: DeviceCA) -> None:
    svc = EstService(ca)
    key = keystore.generate()
    boot, _ = ca.issue_for_key(profiles.device_subject("cam-1"), key.public_key(), profile="bootstrap")
    status, certs = _enroll(svc, "simpleenroll", make_csr("cam-1")[0], peer=boot)
    assert status == 200
    assert _enroll(svc, "simpleenroll", make_csr("cam-7")[0], peer=boot)[0] == 403  # CN must match
    device = certs[0]
    assert _enroll(svc, "simpleenroll", make_csr("cam-1")[0], peer=device)[0] == 403  # use simplereenroll
    status, renewed = _enroll(svc, "simplereenroll", make_csr("cam-1")[0], peer=device)
    assert status == 200 and renewed[0].serial_number != device.serial_number
    old = ca.repo.get_certificate(format(device.serial_number, "x"))
    assert old is not None and old.status == "superseded"
    assert _enroll(svc, "simplereenroll", make_csr("cam-1")[0], peer=device)[0] == 403  # superseded now
    assert _enroll(svc, "simplereenroll", make_csr("cam-2")[0], peer=renewed[0])[0] == 400  # other subject
    assert _enroll(svc, "simplereenroll", make_csr("cam-1")[0], peer=boot)[0] == 403  # bootstrap cannot


def test_manufacturer_idevid_enrols_and_revoked_certificates_do_not(ca: DeviceCA, tmp_path: Path,
                                                                    repo: SqlIdentityRepository) -> None:
    maker = DeviceCA.init(tmp_path / "maker", PASSPHRASE, repo)
    idevid, _ = maker.issue(make_csr("cam-5")[0])
    assert _enroll(EstService(ca), "simpleenroll", make_csr("cam-5")[0], peer=idevid)[0] == 403
    status, certs = _enroll(EstService(ca, bootstrap_trust=[maker.issuing]), "simpleenroll", make_csr("cam-5")[0],
                            peer=idevid)
    assert status == 200
    lifecycle.revoke(ca, format(certs[0].serial_number, "x"), publish=False)
    assert _enroll(EstService(ca), "simplereenroll", make_csr("cam-5")[0], peer=certs[0])[0] == 403


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/nope", 404), ("PUT", PREFIX + "cacerts", 405), ("GET", PREFIX + "simpleenroll", 405)])
def test_routing_errors(ca: DeviceCA, method: str, path: str, status: int) -> None:
    assert EstService(ca).handle(EstRequest(method, path)).status == status


def test_wrong_content_type_and_bad_base64_are_400(ca: DeviceCA) -> None:
    token = lifecycle.new_token(ca.repo, "cam-1", ca.clock())
    auth = "Basic " + base64.b64encode(f"d:{token}".encode()).decode()
    svc = EstService(ca)
    assert svc.handle(EstRequest("POST", PREFIX + "simpleenroll", {"content-type": "text/plain",
                                                                   "authorization": auth}, b"AAAA")).status == 400
    assert svc.handle(EstRequest("POST", PREFIX + "simpleenroll", {"content-type": "application/pkcs10",
                                                                   "authorization": auth}, b"!!")).status == 400


@functools.cache
def _fuzz_service() -> EstService:
    folder = Path(tempfile.mkdtemp(prefix="iotwarden-est-fuzz-"))
    repo = SqlIdentityRepository(Store(f"sqlite:///{folder / 'db.sqlite'}"))
    return EstService(DeviceCA.init(folder / "ca", PASSPHRASE, repo))


@settings(max_examples=200, deadline=None)
@given(op=st.sampled_from(["simpleenroll", "simplereenroll", "cacerts", "csrattrs", "x"]),
       auth=st.text(max_size=40), body=st.binary(max_size=400))
def test_any_request_gets_an_http_answer(op: str, auth: str, body: bytes) -> None:
    resp = _fuzz_service().handle(EstRequest("POST", PREFIX + op, {"content-type": "application/pkcs10",
                                                                   "authorization": auth}, body))
    assert 200 <= resp.status < 600


# the hash each signature OID of a csrattrs answer names (RFC 5758 §3.2, RFC 4055 §5); Ed25519: none
_HASHES: dict[str, hashes.HashAlgorithm | None] = {
    "1.2.840.10045.4.3.2": hashes.SHA256(), "1.2.840.10045.4.3.3": hashes.SHA384(),
    "1.2.840.113549.1.1.11": hashes.SHA256(), "1.3.101.112": None,
}


def _follow_csrattrs(svc: EstService, cn: str) -> tuple[x509.CertificateSigningRequest, keystore.KeyAlgorithm]:
    """What a device does: read csrattrs, make the key it asks for and sign the request as it asks."""
    resp = svc.handle(EstRequest("GET", PREFIX + "csrattrs"))
    assert resp.status == 200 and resp.content_type == "application/csrattrs"
    items = csrattrs.decode(base64.b64decode(resp.body))
    algorithm = csrattrs.requested_algorithm(items)
    assert algorithm is not None
    (signature,) = [item for item in items if isinstance(item, str) and item in _HASHES]
    key = keystore.generate(algorithm)
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
           .sign(key, _HASHES[signature]))  # type: ignore[arg-type]
    return csr, algorithm


@pytest.mark.parametrize("algorithm", ["ec-p256", "ec-p384", "rsa-2048", "ed25519"])
def test_a_device_following_csrattrs_gets_a_certificate_for_the_key_the_ca_prefers(
        tmp_path: Path, repo: SqlIdentityRepository, algorithm: keystore.KeyAlgorithm) -> None:
    ca = DeviceCA.init(tmp_path / "ca", PASSPHRASE, repo, settings=CASettings(algorithm=algorithm))
    svc = EstService(ca)
    csr, asked = _follow_csrattrs(svc, "meter-1")
    assert asked == algorithm
    status, certs = _enroll(svc, "simpleenroll", csr, token=lifecycle.new_token(ca.repo, "meter-1", ca.clock()))
    assert status == 200 and matches(algorithm, certs[0].public_key())
    certs[0].verify_directly_issued_by(ca.issuing)


def test_csrattrs_asks_for_the_named_device_key_and_other_keys_are_refused_clearly(
        tmp_path: Path, repo: SqlIdentityRepository) -> None:
    ca = DeviceCA.init(tmp_path / "ca", PASSPHRASE, repo,
                       settings=CASettings(algorithm="rsa-2048", device_keys=("ec-p384", "rsa-3072")))
    svc = EstService(ca)
    csr, asked = _follow_csrattrs(svc, "plc-2")
    assert asked == "ec-p384"
    assert csr.signature_hash_algorithm is not None and csr.signature_hash_algorithm.name == "sha384"
    token = lifecycle.new_token(ca.repo, "plc-2", ca.clock())
    auth = {"content-type": "application/pkcs10",
            "authorization": "Basic " + base64.b64encode(f"plc-2:{token}".encode()).decode()}
    for key, words in ((keystore.generate("ec-p256"), "EC secp256r1"), (keystore.generate("rsa-2048"), "RSA 2048-bit")):
        body = base64.encodebytes(make_csr("plc-2", key)[0].public_bytes(serialization.Encoding.DER))
        resp = svc.handle(EstRequest("POST", PREFIX + "simpleenroll", auth, body))
        assert resp.status == 400
        assert resp.body.decode() == (f"{words} key refused: this CA's device certificates take ec-p384 (preferred), "
                                      "rsa-3072 keys (GET /.well-known/est/csrattrs says which, RFC 7030 §4.5)\n")
    # a refusal does not spend the token: the request made as csrattrs asks is enrolled with it
    status, certs = _enroll(svc, "simpleenroll", csr, token=token)
    assert status == 200 and matches("ec-p384", certs[0].public_key())
