"""Certificates issued per second: directly through DeviceCA.issue, through EST (HTTPS, keep-alive,
bootstrap-certificate client auth) and by `openssl x509 -req` signing the same CSRs with the same
issuing CA key, in one run.

    .venv/bin/python bench/identity.py [--count 200]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import os
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from iotwarden.identity import keystore, profiles
from iotwarden.identity.ca import ISSUING_CERT, ISSUING_KEY, ROOT_CERT, DeviceCA
from iotwarden.identity.est import EstService
from iotwarden.identity.estserver import EstServer, ensure_server_cert, tls_context
from iotwarden.store import Store
from iotwarden.store.identity_models import SqlIdentityRepository

PASSPHRASE = "benchmark passphrase"  # noqa: S105 - a throw-away CA in a temporary folder
CN = "bench-dev"


def make_csrs(count: int) -> list[bytes]:
    out = []
    for _ in range(count):
        key = keystore.generate()
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CN)])).sign(key, hashes.SHA256()))  # type: ignore[arg-type]
        out.append(csr.public_bytes(serialization.Encoding.DER))
    return out


def bench_direct(ca: DeviceCA, csrs: list[bytes]) -> float:
    start = time.perf_counter()
    for der in csrs:
        ca.issue(x509.load_der_x509_csr(der))
    return len(csrs) / (time.perf_counter() - start)


def bench_est(ca: DeviceCA, csrs: list[bytes], work: Path) -> float:
    cert_file, key_file = ensure_server_cert(ca, work / "est", PASSPHRASE)
    server = EstServer(EstService(ca), tls_context(cert_file, key_file, PASSPHRASE, ca.chain), port=0)
    port = server.start_in_thread()
    boot_key = keystore.generate()
    boot, _ = ca.issue_for_key(profiles.device_subject(CN), boot_key.public_key(), profile="bootstrap")
    (work / "boot.crt").write_bytes(boot.public_bytes(serialization.Encoding.PEM))
    keystore.write_private(work / "boot.key", keystore.plain_pem(boot_key))
    ctx = ssl.create_default_context(cafile=str(ca.folder / ROOT_CERT))
    ctx.load_cert_chain(work / "boot.crt", work / "boot.key")
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx)
    headers = {"Content-Type": "application/pkcs10", "Content-Transfer-Encoding": "base64"}
    try:
        start = time.perf_counter()
        for der in csrs:
            conn.request("POST", "/.well-known/est/simpleenroll", base64.encodebytes(der), headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise SystemExit(f"EST answered {response.status}")
        return len(csrs) / (time.perf_counter() - start)
    finally:
        conn.close()
        server.stop()


def bench_openssl(ca: DeviceCA, csrs: list[bytes], work: Path) -> float:
    for i, der in enumerate(csrs):
        (work / f"{i}.csr").write_bytes(der)
    env = {**os.environ, "BENCH_PASS": PASSPHRASE}
    start = time.perf_counter()
    for i in range(len(csrs)):
        subprocess.run(["openssl", "x509", "-req", "-inform", "DER", "-in", str(work / f"{i}.csr"),
                        "-CA", str(ca.folder / ISSUING_CERT), "-CAkey", str(ca.folder / ISSUING_KEY),
                        "-passin", "env:BENCH_PASS", "-CAcreateserial", "-days", "90", "-sha256",
                        "-out", str(work / f"{i}.crt")], check=True, capture_output=True, env=env)
    return len(csrs) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="certificates per method")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="iotwarden-bench-") as tmp:
        work = Path(tmp)
        repo = SqlIdentityRepository(Store(f"sqlite:///{work / 'db.sqlite'}"))
        ca = DeviceCA.init(work / "ca", PASSPHRASE, repo)
        csrs = make_csrs(args.count)
        rates = {
            "iotwarden direct (DeviceCA.issue + SQLite record)": bench_direct(ca, csrs),
            "iotwarden EST simpleenroll (HTTPS keep-alive)": bench_est(ca, csrs, work),
            "openssl x509 -req (one process per CSR)": bench_openssl(ca, csrs, work),
        }
    base = rates["openssl x509 -req (one process per CSR)"]
    print(f"{'method':<52} {'certs/s':>9} {'vs openssl':>11}")
    for name, rate in rates.items():
        print(f"{name:<52} {rate:9.1f} {rate / base:10.2f}x")
    print(f"({args.count} ECDSA P-256 CSRs each, ECDSA P-256 issuing CA)")


if __name__ == "__main__":
    main()
