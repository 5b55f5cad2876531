"""Identity fixtures: a migrated SQLite store, a device CA in a temporary folder, free loopback ports,
and helpers that make device keys and CSRs the way a device would."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

from iotwarden.identity import keystore
from iotwarden.identity.ca import DeviceCA
from iotwarden.identity.keystore import PrivateKey
from iotwarden.store import Store
from iotwarden.store.identity_models import SqlIdentityRepository

PASSPHRASE = "correct horse battery staple"
TOKEN_LABEL, TOKEN_PIN, TOKEN_SO_PIN = "iotwarden-test", "20250601", "12345678"
# Debian softhsm2 installs the module under both paths (the second is the multiarch one)
SOFTHSM_MODULES = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[SqlIdentityRepository]:
    store = Store(f"sqlite:///{tmp_path / 'iotwarden.db'}")
    yield SqlIdentityRepository(store)
    store.close()


@pytest.fixture
def ca(tmp_path: Path, repo: SqlIdentityRepository) -> DeviceCA:
    return DeviceCA.init(tmp_path / "ca", PASSPHRASE, repo)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_csr(cn: str, key: PrivateKey | None = None, *, serial: str | None = None,
             sans: list[x509.GeneralName] | None = None) -> tuple[x509.CertificateSigningRequest, PrivateKey]:
    key = key or keystore.generate()
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if serial:
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial))
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attrs))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    algo = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(key, algo), key


def pem(obj: x509.Certificate | x509.CertificateSigningRequest) -> bytes:
    return obj.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="session", name="softhsm")
def softhsm_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A SoftHSM token (Debian softhsm2) in a private token folder for this test session; yields the
    module path. One token serves the session (a PKCS#11 library reads its slots once per process);
    every CA made on it uses its own key labels."""
    module = next((m for m in SOFTHSM_MODULES if Path(m).exists()), None)
    if module is None or shutil.which("softhsm2-util") is None:
        pytest.skip("needs SoftHSM (Debian softhsm2)")
    pytest.importorskip("pkcs11", reason="needs python-pkcs11")
    folder = tmp_path_factory.mktemp("softhsm")
    (folder / "tokens").mkdir()
    conf = folder / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    saved = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", TOKEN_LABEL, "--so-pin", TOKEN_SO_PIN,
                    "--pin", TOKEN_PIN], check=True, capture_output=True)
    yield module
    if saved is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = saved
