"""Certificates issued per second: directly through DeviceCA.issue, through EST (HTTPS with
bootstrap-certificate client auth, over one keep-alive connection and with a new TLS connection per
enrolment, as devices do) and by `openssl ca` signing the same CSRs with the same issuing CA key and
the same device-certificate extensions (one process per CSR, and all CSRs in one process), in one run.

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


def bench_est(ca: DeviceCA, csrs: list[bytes], work: Path, *, keep_alive: bool = True) -> float:
    cert_file, key_file = ensure_server_cert(ca, work / "est", PASSPHRASE)
    server = EstServer(EstService(ca), tls_context(cert_file, key_file, PASSPHRASE, ca.chain), port=0)
    port = server.start_in_thread()
    boot_key = keystore.generate()
    boot, _ = ca.issue_for_key(profiles.device_subject(CN), boot_key.public_key(), profile="bootstrap")
    (work / "boot.crt").write_bytes(boot.public_bytes(serialization.Encoding.PEM))
    keystore.write_private(work / "boot.key", keystore.plain_pem(boot_key))
    ctx = ssl.create_default_context(cafile=str(ca.folder / ROOT_CERT))
    ctx.load_cert_chain(work / "boot.crt", work / "boot.key")
    headers = {"Content-Type": "application/pkcs10", "Content-Transfer-Encoding": "base64"}
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx)
    try:
        start = time.perf_counter()
        for der in csrs:
            if not keep_alive:
                conn.close()
                conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx)
            conn.request("POST", "/.well-known/est/simpleenroll", base64.encodebytes(der), headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise SystemExit(f"EST answered {response.status}")
        return len(csrs) / (time.perf_counter() - start)
    finally:
        conn.close()
        server.stop()


# `openssl ca` set up as a device CA with the extensions of iotwarden's "device" profile
OPENSSL_CA_CONF = """\
[ ca ]
default_ca = device_ca
[ device_ca ]
database = {work}/index.txt
new_certs_dir = {work}/newcerts
certificate = {ca}/{cert}
private_key = {ca}/{key}
rand_serial = yes
default_md = sha256
default_days = 90
policy = policy_cn
unique_subject = no
email_in_dn = no
x509_extensions = device_ext
[ policy_cn ]
commonName = supplied
[ device_ext ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


def bench_openssl_ca(ca: DeviceCA, csrs: list[bytes], work: Path, *, batch: bool) -> float:
    """`openssl ca -batch` over the same DER CSRs: one process per CSR, or all in one (``-infiles``)."""
    run = work / ("openssl-batch" if batch else "openssl-each")
    (run / "newcerts").mkdir(parents=True)
    (run / "index.txt").write_text("")
    conf = run / "ca.cnf"
    conf.write_text(OPENSSL_CA_CONF.format(work=run, ca=ca.folder, cert=ISSUING_CERT, key=ISSUING_KEY))
    names = []
    for i, der in enumerate(csrs):
        (run / f"{i}.csr").write_bytes(der)
        names.append(str(run / f"{i}.csr"))
    env = {**os.environ, "BENCH_PASS": PASSPHRASE}
    base = ["openssl", "ca", "-batch", "-notext", "-config", str(conf), "-passin", "env:BENCH_PASS",
            "-inform", "DER"]
    start = time.perf_counter()
    if batch:
        subprocess.run([*base, "-outdir", str(run / "newcerts"), "-out", str(run / "all.crt"), "-infiles", *names],
                       check=True, capture_output=True, env=env)
    else:
        for i, name in enumerate(names):
            subprocess.run([*base, "-in", name, "-out", str(run / f"{i}.crt")],
                           check=True, capture_output=True, env=env)
    rate = len(csrs) / (time.perf_counter() - start)
    issued = (run / "index.txt").read_text().count("\n")
    if issued != len(csrs):
        raise SystemExit(f"openssl ca issued {issued} of {len(csrs)} certificates")
    return rate


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
            "iotwarden EST simpleenroll (new TLS conn. each)": bench_est(ca, csrs, work, keep_alive=False),
            "openssl ca (one process per CSR)": bench_openssl_ca(ca, csrs, work, batch=False),
            "openssl ca -infiles (all CSRs, one process)": bench_openssl_ca(ca, csrs, work, batch=True),
        }
    each, batch = rates["openssl ca (one process per CSR)"], rates["openssl ca -infiles (all CSRs, one process)"]
    print(f"{'method':<52} {'certs/s':>9} {'vs ca/CSR':>10} {'vs ca batch':>12}")
    for name, rate in rates.items():
        print(f"{name:<52} {rate:9.1f} {rate / each:9.2f}x {rate / batch:11.2f}x")
    print(f"({args.count} ECDSA P-256 CSRs each, ECDSA P-256 issuing CA)")


if __name__ == "__main__":
    main()
