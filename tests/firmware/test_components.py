"""Component identification on an image built from the real Debian binaries: versions as the
manifest published with the binaries gives them, with evidence (path, string, offset, SHA-256)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from iotwarden.firmware.components import identify, upstream_version
from iotwarden.firmware.extract.driver import extract
from tests.firmware.conftest import manifest

EXPECTED_FILE = {
    "busybox": "busybox",
    "dnsmasq": "dnsmasq",
    "dropbear": "dropbear",
    "lighttpd": "lighttpd",
    "openssl": "libcrypto.so.3",
}


def test_versions_and_evidence_match_the_manifest(squashfs_image: Path) -> None:
    rows = manifest()
    with extract(squashfs_image) as ex:
        comps = {c.name: c for c in identify(ex.files)}
    for name, file in EXPECTED_FILE.items():
        row = rows[file]
        comp = comps[name]
        assert comp.version == row["upstream_version"]
        ev = comp.evidence[0]
        assert ev.path.endswith("/" + file)
        assert ev.sha256 == row["sha256"]
        assert row["version_string_in_binary"].startswith(ev.string.rstrip(" ("))
    assert comps["busybox"].distro == "debian 1:1.35.0-4+deb12u1+b1"  # backport awareness
    assert comps["musl"].version == "1.2.3"  # __libc_version, the one lone version string in the file
    assert comps["dnsmasq"].cpe == "cpe:2.3:a:thekelleys:dnsmasq:2.90:*:*:*:*:*:*:*"
    assert comps["dropbear"].purl == "pkg:generic/dropbear@2022.83"


def test_dpkg_status_is_read(tmp_path: Path) -> None:
    status = tmp_path / "var/lib/dpkg/status"
    status.parent.mkdir(parents=True)
    status.write_text(
        "Package: curl\nStatus: install ok installed\nVersion: 7.88.1-10+deb12u5\n\n"
        "Package: openssh-server\nStatus: install ok installed\nVersion: 1:9.2p1-2+deb12u3\n"
    )
    with tarfile.open(tmp_path / "fs.tar", "w") as tf:
        tf.add(status, "var/lib/dpkg/status")
    with extract(tmp_path / "fs.tar") as ex:
        comps = {c.name: c for c in identify(ex.files)}
    assert comps["curl"].version == "7.88.1"
    assert comps["openssh"].version == "9.2p1"
    assert comps["openssh"].key == "openbsd:openssh"
    assert comps["curl"].evidence[0].method == "dpkg"


def test_upstream_version() -> None:
    assert upstream_version("1:1.35.0-4+deb12u1+b1") == "1.35.0"
    assert upstream_version("1.36.1-r7") == "1.36.1"
    assert upstream_version("2.90") == "2.90"


def _own_version(argv: list[str], pattern: str) -> str | None:
    """The version a tool of this machine reports about itself (stdout or stderr), or None."""
    if shutil.which(argv[0]) is None:
        return None
    out = subprocess.run(argv, capture_output=True, text=True, check=False)
    m = re.search(pattern, out.stdout + out.stderr)
    return m.group(1) if m else None


MULTIARCH = "/usr/lib/x86_64-linux-gnu"
# component -> (file to pack, how the installed software reports its own version)
HOST = {
    "bash": ("/usr/bin/bash", ["bash", "--version"], r"GNU bash, version (\d+\.\d+\.\d+)"),
    "util-linux": ("/usr/bin/mount", ["mount", "--version"], r"util-linux (\d+\.\d+(?:\.\d+)?)"),
    "systemd": ("/usr/bin/systemctl", ["systemctl", "--version"], r"systemd (\d+)"),
    "cpio": ("/usr/bin/cpio", ["cpio", "--version"], r"GNU cpio\) (\d+\.\d+)"),
    "curl": (f"{MULTIARCH}/libcurl.so.4", ["curl", "--version"], r"libcurl/(\d+\.\d+\.\d+)"),
    "glibc": (f"{MULTIARCH}/libc.so.6", ["getconf", "GNU_LIBC_VERSION"], r"glibc (\d+\.\d+)"),
    "openssh": ("/usr/bin/ssh", ["ssh", "-V"], r"OpenSSH_(\d+\.\d+p\d+)"),
    "bzip2": (f"{MULTIARCH}/libbz2.so.1.0", ["dpkg-query", "-W", "-f=${Version}", "libbz2-1.0"], r"^(\d+\.\d+\.\d+)"),
}


def test_versions_of_this_machines_debian_binaries_match_what_they_report(tmp_path: Path) -> None:
    """Real Debian binaries of the test machine packed into an image: each component's version is the
    one the installed software reports about itself (``--version``, getconf, dpkg)."""
    expected = {}
    with tarfile.open(tmp_path / "host.tar", "w") as tf:
        for name, (path, argv, pattern) in HOST.items():
            version = _own_version(argv, pattern)
            if version is None or not Path(path).is_file():
                continue
            expected[name] = version
            tf.add(Path(path).resolve(), f"rootfs{path}")
    if len(expected) < 4:
        pytest.skip(f"too few of the Debian tools installed here: {sorted(expected)}")
    with extract(tmp_path / "host.tar") as ex:
        found = {c.name: c.version for c in identify(ex.files)}
    assert {name: found.get(name) for name in expected} == expected
