"""Identity fixtures: a migrated SQLite store, a device CA in a temporary folder, free loopback ports,
and helpers that make device keys and CSRs the way a device would."""

from __future__ import annotations

import socket
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
    return builder.sign(key, algo), key  # type: ignore[arg-type]


def pem(obj: x509.Certificate | x509.CertificateSigningRequest) -> bytes:
    return obj.public_bytes(serialization.Encoding.PEM)
