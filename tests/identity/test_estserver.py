"""EST over HTTPS with real clients: curl and openssl drive the protocol by hand (RFC 7030 §4: PKCS#10
in base64 DER as application/pkcs10, answers application/pkcs7-mime certs-only), as libest's
estclient is not packaged by Debian."""

from __future__ import annotations

import contextlib
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from iotwarden.identity import keystore, lifecycle, profiles
from iotwarden.identity.ca import ISSUING_CERT, ROOT_CERT, DeviceCA
from iotwarden.identity.est import EstService
from iotwarden.identity.estserver import EstServer, ensure_server_cert, tls_context
from tests.identity.conftest import PASSPHRASE

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
    (cwd / "csr.b64").write_bytes(__import__("base64").encodebytes((cwd / "csr.der").read_bytes()))


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


def test_csrattrs_with_curl_and_openssl_asn1parse(ca: DeviceCA, est_url: str, tmp_path: Path) -> None:
    """GET /csrattrs (RFC 7030 §4.5): a base64 CsrAttrs that openssl parses: the signature algorithm
    and the key type and curve the CA asks devices to use."""
    assert _curl(f"{est_url}/csrattrs", ca, tmp_path).stdout == "200"
    parsed = _sh("bash", "-c", "base64 -d out.b64 | openssl asn1parse -inform DER", cwd=tmp_path)
    assert parsed.returncode == 0, parsed.stderr
    for name in ("ecdsa-with-SHA256", "id-ecPublicKey", "prime256v1"):
        assert name in parsed.stdout
    # a CSR made the way the attributes ask is enrolled with a token
    token = lifecycle.new_token(ca.repo, "cam-09", ca.clock())
    _csr(tmp_path, "cam-09")
    post = ("-H", "Content-Type: application/pkcs10", "--data-binary", "@csr.b64")
    assert _curl(f"{est_url}/simpleenroll", ca, tmp_path, "-u", f"cam-09:{token}", *post).stdout == "200"
    assert "ASN1 OID: prime256v1" in _sh("bash", "-c", "base64 -d out.b64 | openssl pkcs7 -inform DER -print_certs "
                                         "| openssl x509 -noout -text", cwd=tmp_path).stdout


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
