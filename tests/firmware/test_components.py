"""Component identification on an image built from the real Debian binaries: versions as the
manifest published with the binaries gives them, with evidence (path, string, offset, SHA-256)."""

from __future__ import annotations

from pathlib import Path

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
    import tarfile

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
