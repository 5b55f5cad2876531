"""The EST service logic (RFC 7030) without sockets: routing, authentication rules, fuzzed input."""

from __future__ import annotations

import base64
import functools
import tempfile
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.identity import keystore, lifecycle, profiles
from iotwarden.identity.ca import DeviceCA, cert_sha256
from iotwarden.identity.est import CERTS_ONLY, PREFIX, EstRequest, EstService
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
