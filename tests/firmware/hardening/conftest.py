"""A deliberately weak image: the real Debian component binaries plus the configuration mistakes the
hardening checks look for, packed with mksquashfs (modes kept, as in a vendor build)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from iotwarden.firmware.analyze import analyze_image
from iotwarden.firmware.hardening.defaults import crypt
from iotwarden.model.finding import Finding
from tests.firmware.conftest import make_rootfs

WEAK_C = "int main(int c, char **v) { char b[16]; (void)v; b[0] = (char)c; return b[0]; }\n"


def _pem_pair() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "device.acme.example")])
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    return pem_key, cert.public_bytes(serialization.Encoding.PEM)


def make_weak_rootfs(dest: Path) -> Path:
    root = make_rootfs(dest)
    etc = root / "etc"
    root_hash = crypt("xc3511", "$1$saltsalt$")  # a Mirai default, MD5-crypt as old firmware ships it
    admin_hash = crypt("not-in-any-list-7Qz", "$6$pepper12$")
    (etc / "shadow").write_text(f"root:{root_hash}:19000:0:99999:7:::\nadmin:{admin_hash}:19000::::::\n"
                                "guest::19000::::::\ndaemon:*:19000::::::\n")
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nguest:x:1000:1000::/home:/bin/sh\n")
    (etc / "inittab").write_text(
        "::sysinit:/etc/init.d/rcS\n::respawn:/bin/dropbear -F -R\nttyS0::respawn:/sbin/getty -L ttyS0 115200 vt100\n"
        "# ::respawn:/usr/sbin/ftpd  (commented out: not started)\n"
    )
    (etc / "init.d" / "S50telnet").write_text("#!/bin/sh\ntelnetd -l /bin/login\n")
    (etc / "inetd.conf").write_text("ftp stream tcp nowait root /usr/sbin/ftpd ftpd -w /srv\n")
    key, cert = _pem_pair()
    (etc / "ssl").mkdir()
    (etc / "ssl" / "device.key").write_bytes(key)
    (etc / "ssl" / "device.crt").write_bytes(cert)
    (root / "var" / "www").mkdir(parents=True)
    (root / "var" / "www").chmod(0o777)
    (root / "tmp").mkdir()
    (root / "tmp").chmod(0o1777)  # sticky: as intended
    (etc / "config.ini").write_text("[net]\n")
    (etc / "config.ini").chmod(0o666)
    gcc = shutil.which("gcc")
    if gcc:
        (dest / "weak.c").write_text(WEAK_C)
        subprocess.run([gcc, "-O0", "-fno-stack-protector", "-no-pie", "-z", "execstack", "-z", "norelro",
                        "-o", str(root / "bin" / "weakd"), str(dest / "weak.c")], check=True, capture_output=True)
    return root


@pytest.fixture(scope="session")
def weak_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("weak")
    root = make_weak_rootfs(dest)
    out = dest / "weak.sqfs"
    subprocess.run(["mksquashfs", str(root), str(out), "-noappend", "-no-progress", "-quiet", "-all-root"],
                   check=True, capture_output=True)
    return out


@pytest.fixture(scope="session")
def weak(weak_image: Path) -> dict[str, Finding]:
    """The weak image's findings by check id (the whole analysis pipeline ran)."""
    report = analyze_image(weak_image)
    assert report.errors == []
    return {f.id: f for f in report.findings}


def paths_of(f: Finding) -> list[str]:
    """Evidence paths inside the file system (the container prefix removed)."""
    return [p.split(".squashfs", 1)[1] for p in f.evidence["paths"]]
