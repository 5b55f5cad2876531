"""Firmware images built at test time from the real Debian component binaries in ../shared/data."""

from __future__ import annotations

import csv
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from tests.conftest import shared

BINARIES = ("busybox", "dnsmasq", "dropbear", "lighttpd")
LIBS = ("libssl.so.3", "libcrypto.so.3", "musl-libc.so")


def manifest() -> dict[str, dict[str, str]]:
    path = shared("firmware", "component_binaries", "manifest.csv")
    with path.open(newline="") as f:
        return {row["file"]: row for row in csv.DictReader(f)}


def make_rootfs(dest: Path) -> Path:
    src = shared("firmware", "component_binaries")
    root = dest / "rootfs"
    for sub in ("bin", "usr/lib", "etc/init.d"):
        (root / sub).mkdir(parents=True)
    for name in BINARIES:
        shutil.copy(src / name, root / "bin" / name)
    for name in LIBS:
        shutil.copy(src / name, root / "usr/lib" / name)
    (root / "bin/sh").symlink_to("busybox")
    (root / "etc/inittab").write_text("::sysinit:/etc/init.d/rcS\n::respawn:/bin/dropbear -F -R\n")
    (root / "etc/init.d/rcS").write_text("#!/bin/sh\n/bin/dnsmasq --conf-file=/etc/dnsmasq.conf\n")
    return root


def uimage(payload: bytes, name: bytes = b"test kernel") -> bytes:
    """A U-Boot legacy image header (image.h) in front of ``payload``, CRCs computed."""
    fields = struct.pack(
        ">IIIIIII4B", 0x27051956, 0, 0, len(payload), 0x80008000, 0x80008000, zlib.crc32(payload), 5, 2, 2, 0
    ) + name.ljust(32, b"\0")
    hcrc = zlib.crc32(fields)
    return fields[:4] + struct.pack(">I", hcrc) + fields[8:] + payload


@pytest.fixture(scope="session")
def rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_rootfs(tmp_path_factory.mktemp("fw"))


def make_squashfs(rootfs: Path) -> Path:
    """``rootfs`` packed by mksquashfs (xz) next to it."""
    out = rootfs.parent / "rootfs.sqfs"
    subprocess.run(
        ["mksquashfs", str(rootfs), str(out), "-noappend", "-no-progress", "-quiet", "-comp", "xz"],
        check=True,
        capture_output=True,
    )
    return out


@pytest.fixture(scope="session")
def squashfs_image(rootfs: Path) -> Path:
    return make_squashfs(rootfs)


@pytest.fixture(scope="session")
def uimage_firmware(squashfs_image: Path) -> Path:
    """A typical flash image: uImage (gzip kernel stand-in) then a squashfs root at a 64 KiB boundary."""
    kernel = uimage(zlib.compress(b"Linux version 5.10.176 (builder@host) #1 SMP\n" * 100, 9))
    out = squashfs_image.parent / "flash.bin"
    body = kernel + b"\xff" * (0x10000 - len(kernel)) + squashfs_image.read_bytes()
    out.write_bytes(body)
    return out
