"""MBR partition tables: the binwalk vector, a disk image made by Debian's sfdisk-free way (entries
packed by hand per the DOS layout) holding a squashfs of real binaries, and implausible tables."""

from __future__ import annotations

import struct
from pathlib import Path

from iotwarden.firmware.extract.driver import extract
from iotwarden.firmware.extract.partitions import mbr_partitions
from tests.conftest import shared


def _mbr(entries: list[tuple[int, int, int, int]]) -> bytes:
    table = b"".join(struct.pack("<B3xB3xII", *e) for e in entries).ljust(64, b"\0")
    return b"\0" * 446 + table + b"\x55\xaa"


def test_vector_table() -> None:
    head = shared("firmware", "format_vectors", "mbr.bin").read_bytes()[:512]
    assert mbr_partitions(head) == [(1, 0x83, 512, 4608)]


def test_disk_image_with_a_squashfs_partition(squashfs_image: Path, tmp_path: Path) -> None:
    fs = squashfs_image.read_bytes()
    sectors = (len(fs) + 511) // 512
    disk = _mbr([(0x80, 0x83, 2048, sectors)]) + b"\0" * (2048 * 512 - 512) + fs.ljust(sectors * 512, b"\0")
    (tmp_path / "disk.img").write_bytes(disk)
    with extract(tmp_path / "disk.img") as ex:
        assert [c.fmt for c in ex.containers] == ["mbr", "squashfs"]
        assert any(f.fs_path == "/bin/dropbear" for f in ex.files)


def test_implausible_tables_are_not_mbr() -> None:
    assert mbr_partitions(_mbr([(0x12, 0x83, 1, 1)])) == []  # bad boot flag
    assert mbr_partitions(_mbr([(0, 0x83, 1, 10), (0, 0x83, 5, 10)])) == []  # overlap
    assert mbr_partitions(b"\0" * 512) == []
