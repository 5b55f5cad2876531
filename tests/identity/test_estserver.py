"""EST over HTTPS with real clients: curl and openssl drive the protocol by hand (RFC 7030 §4: PKCS#10
in base64 DER as application/pkcs10, answers application/pkcs7-mime certs-only), as libest's
estclient is not packaged by Debian."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from iotwarden.errors import IdentityError
from iotwarden.identity import keystore, lifecycle, profiles
from iotwarden.identity.ca import ISSUING_CERT, ROOT_CERT, CASettings, DeviceCA
from iotwarden.identity.est import EstService
from iotwarden.identity.estserver import EstServer, ensure_server_cert, tls_context
from iotwarden.identity.keystore import KeyAlgorithm
from iotwarden.store.identity_models import SqlIdentityRepository
from tests.identity.conftest import PASSPHRASE, TOKEN_LABEL, TOKEN_PIN

pytestmark = pytest.mark.skipif(not shutil.which("curl") or not shutil.which("openssl"),
                                reason="needs curl and openssl")


@pytest.fixture
def est_url(ca: DeviceCA, tmp_path: Path) -> Iterator[str]:
    cert, key = ensure_server_cert(ca, tmp_path / "est", PASSPHRASE)
    server = EstServer(EstService(ca), tls_context(cert, key, PASSPHRASE, ca.chain), port=0)
    port = server.start_in_thread()
    yield f"https://127.0.0.1:{port}/.well-known/est"
    server.stop()


def _sh(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, check=False, timeout=30)


def _curl(url: str, ca: DeviceCA, cwd: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return _sh("curl", "-sS", "--cacert", str(ca.folder / ROOT_CERT), "-o", "out.b64", "-w", "%{http_code}",
               *extra, url, cwd=cwd)


def _csr(cwd: Path, cn: str, key: str = "dev.key") -> None:
    args = ["openssl", "req", "-new", "-subj", f"/CN={cn}", "-outform", "DER", "-out", "csr.der"]
    if (cwd / key).exists():
        args += ["-key", key]
    else:
        args += ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key]
    assert _sh(*args, cwd=cwd).returncode == 0
    (cwd / "csr.b64").write_bytes(base64.encodebytes((cwd / "csr.der").read_bytes()))


def _certs(cwd: Path, out: str) -> str:
    _sh("bash", "-c", f"base64 -d out.b64 | openssl pkcs7 -inform DER -print_certs -out {out}", cwd=cwd)
    return (cwd / out).read_text()


def test_cacerts_with_curl_and_openssl_pkcs7(ca: DeviceCA, est_url: str, tmp_path: Path) -> None:
    assert _curl(f"{est_url}/cacerts", ca, tmp_path).stdout == "200"
    text = _certs(tmp_path, "cacerts.pem")
    assert "CN = iotwarden device CA issuing" in text and "CN = iotwarden device CA root" in text


def test_token_enrolment_then_reenrolment_with_the_issued_certificate(ca: DeviceCA, est_url: str,
                                                                      tmp_path: Path) -> None:
    token = lifecycle.new_token(ca.repo, "cam-01", ca.clock(), device_key="mac:00:11:22:33:44:55")
    _csr(tmp_path, "cam-01")
    post = ("-H", "Content-Type: application/pkcs10", "--data-binary", "@csr.b64")
    assert _curl(f"{est_url}/simpleenroll", ca, tmp_path, "-u", f"cam-01:{token}", *post).stdout == "200"
    _certs(tmp_path, "dev.crt")
    verify = _sh("openssl", "verify", "-CAfile", str(ca.folder / ROOT_CERT), "-untrusted",
                 str(ca.folder / ISSUING_CERT), "dev.crt", cwd=tmp_path)
    assert verify.returncode == 0, verify.stderr
    # the token is spent
    assert _curl(f"{est_url}/simpleenroll", ca, tmp_path, "-u", f"cam-01:{token}", *post).stdout == "401"
    # re-enrol (rekey) authenticated by the certificate just issued
    _csr(tmp_path, "cam-01", key="new.key")
    tls = ("--cert", "dev.crt", "--key", "dev.key")
    assert _curl(f"{est_url}/simplereenroll", ca, tmp_path, *tls, *post).stdout == "200"
    assert "CN = cam-01" in _certs(tmp_path, "new.crt")
    certs = ca.repo.list_certificates(device_key="mac:00:11:22:33:44:55")
    assert [(c.method, c.status) for c in certs] == [("est", "superseded"), ("est-reenroll", "valid")]


def test_unauthenticated_and_foreign_clients_are_refused(ca: DeviceCA, est_url: str, tmp_path: Path,
                                                         repo: object) -> None:
    _csr(tmp_path, "cam-02")
    post = ("-H", "Content-Type: application/pkcs10", "--data-binary", "@csr.b64")
    assert _curl(f"{est_url}/simpleenroll", ca, tmp_path, *post).stdout == "401"
    # a self-made certificate is rejected in the TLS handshake itself
    _sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "rogue.key", "-out", "rogue.crt", "-subj", "/CN=cam-02", "-days", "1", cwd=tmp_path)
    result = _curl(f"{est_url}/simpleenroll", ca, tmp_path, "--cert", "rogue.crt", "--key", "rogue.key", *post)
    assert result.stdout in ("000", "") and result.returncode != 0


def test_plain_http_and_garbage_do_not_stop_the_server(ca: DeviceCA, est_url: str, tmp_path: Path) -> None:
    port = int(est_url.split(":")[2].split("/", maxsplit=1)[0])
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\n\r\n")  # not TLS at all
        s.settimeout(5)
        with contextlib.suppress(TimeoutError, OSError):
            s.recv(100)
    ctx = ssl.create_default_context(cafile=str(ca.folder / ROOT_CERT))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(b"\x00\x01garbage\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 400")
    assert _curl(f"{est_url}/cacerts", ca, tmp_path).stdout == "200"


@contextlib.contextmanager
def _serving(ca: DeviceCA, folder: Path) -> Iterator[str]:
    cert, key = ensure_server_cert(ca, folder, PASSPHRASE)
    server = EstServer(EstService(ca), tls_context(cert, key, PASSPHRASE, ca.chain), port=0)
    port = server.start_in_thread()
    try:
        yield f"https://127.0.0.1:{port}/.well-known/est"
    finally:
        server.stop()


def _csr_as_asked(asn1parse: str, cwd: Path, cn: str) -> None:
    """What a device does with ``openssl asn1parse``'s reading of csrattrs: make the key of the type
    and curve or size asked for and sign the request with the hash asked for."""
    names = [value for _, value in re.findall(r"prim: (OBJECT|INTEGER) +:(\S+)", asn1parse)]
    if "id-ecPublicKey" in names:
        newkey = ["-newkey", "ec", "-pkeyopt", f"ec_paramgen_curve:{names[names.index('id-ecPublicKey') + 1]}"]
    elif "rsaEncryption" in names:
        newkey = ["-newkey", f"rsa:{int(names[names.index('rsaEncryption') + 1], 16)}"]
    else:
        assert "ED25519" in names, asn1parse
        newkey = ["-newkey", "ed25519"]
    digest = next((f"-{h}" for h in ("sha256", "sha384") if f"ecdsa-with-{h.upper()}" in names
                   or f"{h}WithRSAEncryption" in names), None)
    args = ["openssl", "req", "-new", "-subj", f"/CN={cn}", "-outform", "DER", "-out", "csr.der", *newkey,
            "-nodes", "-keyout", "dev.key", *([digest] if digest else [])]
    made = _sh(*args, cwd=cwd)
    assert made.returncode == 0, made.stderr
    (cwd / "csr.b64").write_bytes(base64.encodebytes((cwd / "csr.der").read_bytes()))


# (CA key algorithm, on a SoftHSM token) -> what openssl names in csrattrs, in the CSR and in the certificate
CSRATTRS_CASES = {
    ("ec-p256", False): (["id-ecPublicKey", "prime256v1", "ecdsa-with-SHA256"], "ASN1 OID: prime256v1"),
    ("ec-p384", False): (["id-ecPublicKey", "secp384r1", "ecdsa-with-SHA384"], "ASN1 OID: secp384r1"),
    ("rsa-2048", False): (["rsaEncryption", ":0800", "sha256WithRSAEncryption"], "Public-Key: (2048 bit)"),
    ("ec-p384", True): (["id-ecPublicKey", "secp384r1", "ecdsa-with-SHA384"], "ASN1 OID: secp384r1"),
}


@pytest.mark.parametrize(("algorithm", "on_token"), list(CSRATTRS_CASES))
def test_csrattrs_names_the_ca_key_and_a_device_following_it_enrols(
        algorithm: KeyAlgorithm, on_token: bool, tmp_path: Path, repo: SqlIdentityRepository,
        request: pytest.FixtureRequest) -> None:
    """GET /csrattrs (RFC 7030 §4.5) over HTTPS, read by openssl asn1parse: the key type with its curve
    or size and the signature the CA wants; a CSR openssl makes as that reading says enrols (token)."""
    if on_token:
        module = request.getfixturevalue("softhsm")
        settings = CASettings(algorithm=algorithm, pkcs11_module=module, pkcs11_token=TOKEN_LABEL)
        ca = DeviceCA.init(tmp_path / "ca", TOKEN_PIN, repo, settings=settings)
    else:
        ca = DeviceCA.init(tmp_path / "ca", PASSPHRASE, repo, settings=CASettings(algorithm=algorithm))
    names, in_cert = CSRATTRS_CASES[(algorithm, on_token)]
    with _serving(ca, tmp_path / "est") as url:
        assert _curl(f"{url}/csrattrs", ca, tmp_path, "-D", "headers.txt").stdout == "200"
        assert "content-type: application/csrattrs" in (tmp_path / "headers.txt").read_text().lower()
        parsed = _sh("bash", "-c", "base64 -d out.b64 | openssl asn1parse -inform DER", cwd=tmp_path)
        assert parsed.returncode == 0, parsed.stderr
        for name in names:
            assert name in parsed.stdout
        assert "challengePassword" not in parsed.stdout  # this server authenticates otherwise (§3.5)
        _csr_as_asked(parsed.stdout, tmp_path, "cam-09")
        assert names[-1] in _sh("openssl", "req", "-inform", "DER", "-in", "csr.der", "-noout", "-text",
                                cwd=tmp_path).stdout  # the request is signed as asked
        token = lifecycle.new_token(ca.repo, "cam-09", ca.clock())
        post = ("-H", "Content-Type: application/pkcs10", "--data-binary", "@csr.b64")
        assert _curl(f"{url}/simpleenroll", ca, tmp_path, "-u", f"cam-09:{token}", *post).stdout == "200"
    _certs(tmp_path, "dev.crt")
    assert in_cert in _sh("openssl", "x509", "-in", "dev.crt", "-noout", "-text", cwd=tmp_path).stdout
    verify = _sh("openssl", "verify", "-CAfile", str(ca.folder / ROOT_CERT), "-untrusted",
                 str(ca.folder / ISSUING_CERT), "dev.crt", cwd=tmp_path)
    assert verify.returncode == 0, verify.stderr


def test_a_key_the_device_profile_does_not_take_is_refused_with_the_reason(
        tmp_path: Path, repo: SqlIdentityRepository) -> None:
    ca = DeviceCA.init(tmp_path / "ca", PASSPHRASE, repo,
                       settings=CASettings(algorithm="ec-p256", device_keys=("ec-p384",)))
    with _serving(ca, tmp_path / "est") as url:
        _csr(tmp_path, "cam-10")  # a P-256 key, made without reading csrattrs
        token = lifecycle.new_token(ca.repo, "cam-10", ca.clock())
        post = ("-H", "Content-Type: application/pkcs10", "--data-binary", "@csr.b64")
        assert _curl(f"{url}/simpleenroll", ca, tmp_path, "-u", f"cam-10:{token}", *post).stdout == "400"
        assert (tmp_path / "out.b64").read_text() == (
            "EC secp256r1 key refused: this CA's device certificates take ec-p384 (preferred) keys "
            "(GET /.well-known/est/csrattrs says which, RFC 7030 §4.5)\n")
        (tmp_path / "dev.key").unlink()
        assert _curl(f"{url}/csrattrs", ca, tmp_path).stdout == "200"
        parsed = _sh("bash", "-c", "base64 -d out.b64 | openssl asn1parse -inform DER", cwd=tmp_path).stdout
        _csr_as_asked(parsed, tmp_path, "cam-10")
        assert _curl(f"{url}/simpleenroll", ca, tmp_path, "-u", f"cam-10:{token}", *post).stdout == "200"


def test_bootstrap_certificate_enrols_over_tls_with_curl(ca: DeviceCA, est_url: str, tmp_path: Path) -> None:
    """A device holding a bootstrap certificate (factory-installed, ``bootstrap`` profile) authenticates
    with it in the TLS handshake and gets its operational certificate; the bootstrap one cannot re-enrol."""
    key = keystore.generate()
    boot, _ = ca.issue_for_key(profiles.device_subject("cam-11"), key.public_key(), profile="bootstrap")
    (tmp_path / "boot.crt").write_bytes(boot.public_bytes(serialization.Encoding.PEM))
    keystore.write_private(tmp_path / "boot.key", keystore.plain_pem(key))
    _csr(tmp_path, "cam-11")
    post = ("-H", "Content-Type: application/pkcs10", "--data-binary", "@csr.b64")
    tls = ("--cert", "boot.crt", "--key", "boot.key")
    assert _curl(f"{est_url}/simpleenroll", ca, tmp_path, *tls, *post).stdout == "200"
    assert "CN = cam-11" in _certs(tmp_path, "op.crt")
    (rec,) = [c for c in ca.repo.list_certificates(device_id="cam-11") if c.profile == "device"]
    assert rec.method == "est"
    assert _curl(f"{est_url}/simplereenroll", ca, tmp_path, *tls, *post).stdout == "403"


def test_an_address_already_listened_on_is_an_identity_error(ca: DeviceCA, est_url: str, tmp_path: Path) -> None:
    port = int(est_url.split(":")[2].split("/", maxsplit=1)[0])
    cert, key = ensure_server_cert(ca, tmp_path / "second", PASSPHRASE)
    second = EstServer(EstService(ca), tls_context(cert, key, PASSPHRASE, ca.chain), port=port)
    with pytest.raises(IdentityError, match=f"cannot listen on 127.0.0.1:{port}: .*in use"):
        asyncio.run(second.start())
