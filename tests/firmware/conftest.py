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


def make_small_rootfs(dest: Path, names: tuple[str, ...] = ("dropbear", "dnsmasq")) -> Path:
    """A root of a few real binaries, a symlink and a config file: quick to pack with flash file systems."""
    src = shared("firmware", "component_binaries")
    root = dest / "small-rootfs"
    for sub in ("bin", "etc"):
        (root / sub).mkdir(parents=True)
    for name in names:
        shutil.copy(src / name, root / "bin" / name)
    (root / "bin/ssh").symlink_to("dropbear")
    (root / "etc/inittab").write_text("::respawn:/bin/dropbear -F -R\n")
    return root


def pack(root: Path, fmt: str) -> Path:
    """``root`` packed by the mtd-utils tool a NOR/NAND flash image uses (Debian mtd-utils):
    ``jffs2`` / ``jffs2-be`` (mkfs.jffs2, 128 KiB erase blocks), ``ubifs`` (mkfs.ubifs, 2 KiB pages)
    or ``ubi`` (that UBIFS as one dynamic volume, ubinize)."""
    out = root.parent / f"{root.name}.{fmt}"
    if fmt.startswith("jffs2"):
        endian = "-b" if fmt == "jffs2-be" else "-l"
        argv = ["mkfs.jffs2", "-r", str(root), "-o", str(out), "-e", "128KiB", endian]
    elif fmt in ("ubifs", "ubi"):
        ubifs = root.parent / f"{root.name}.ubifs"
        argv = ["mkfs.ubifs", "-r", str(root), "-m", "2048", "-e", "126976", "-c", "200", "-o", str(ubifs)]
        if fmt == "ubi":
            ini = root.parent / "ubinize.ini"
            ini.write_text(
                f"[rootfs]\nmode=ubi\nimage={ubifs}\nvol_id=0\nvol_type=dynamic\nvol_name=rootfs\n"
                "vol_flags=autoresize\n"
            )
            subprocess.run(argv, check=True, capture_output=True)
            argv = ["ubinize", "-o", str(out), "-m", "2048", "-p", "128KiB", "-s", "2048", str(ini)]
    else:
        raise ValueError(fmt)
    subprocess.run(argv, check=True, capture_output=True)
    return out


def flash(parts: list[bytes], align: int = 0x20000) -> bytes:
    """Parts laid one after another at ``align`` boundaries, erased flash (0xff) between them."""
    body = b""
    for part in parts:
        body += part + b"\xff" * (-len(part) % align)
    return body


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
