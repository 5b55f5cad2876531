"""Extraction: binwalk's format vectors, nested images built from real binaries, and hostile archives
(path traversal, symlink escape, decompression bomb, depth and file-count limits), all reported."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import struct
import subprocess
import tarfile
import zipfile
import zlib
from pathlib import Path

import lz4.frame
import pytest
import zstandard

from iotwarden.firmware.components import identify
from iotwarden.firmware.extract.driver import extract
from iotwarden.firmware.sandbox import Limits, link_escapes, safe_member_name
from tests.conftest import shared
from tests.firmware.conftest import flash, make_small_rootfs, manifest, pack, uimage

LSB = "lsb-release"  # the file binwalk's vectors carry


@pytest.mark.parametrize(
    ("vector", "fmt"),
    [
        ("gzip.bin", "gzip"),
        ("bzip2.bin", "bzip2"),
        ("cramfs.bin", "cramfs"),
        ("squashfs.bin", "squashfs"),
    ],
)
def test_binwalk_vectors_unpack(vector: str, fmt: str) -> None:
    with extract(shared("firmware", "format_vectors", vector)) as ex:
        assert ex.containers[0].fmt == fmt
        assert ex.errors == []
        if fmt != "bzip2":
            assert any(f.fs_path.endswith(LSB) and f.size == 104 for f in ex.files)


def test_truncated_zip_is_read_as_a_stream_and_reported() -> None:
    with extract(shared("firmware", "format_vectors", "zip_truncated.bin")) as ex:
        assert any(f.path.endswith("AfuLnx64/readme.txt") for f in ex.files)
        assert any(i.kind == "truncated" for i in ex.sandbox.incidents)


# Every binwalk format vector: the container recognised, a file it holds, and what is reported.
# arcadyan.bin is XOR/byte-swap obfuscated (binwalk has a deobfuscator, unblob has none; not reversed here);
# squashfs_v2.bin is a vendor squashfs 2.x whose blocks are LZMA although the superblock says gzip (a
# DD-WRT-era variant only sasquatch reads; sasquatch is not packaged), so unsquashfs fails and says so.
VECTORS = [
    ("bzip2.bin", "bzip2", "bzip2.bin.bzip2-unpacked", None),
    ("cramfs.bin", "cramfs", LSB, None),
    ("gzip.bin", "gzip", LSB, None),
    ("matter_ota.bin", "matter_ota", "payload.bin", None),
    ("mbr.bin", "mbr", "part1.bin", None),
    ("romfs.bin", "romfs", LSB, None),
    ("squashfs.bin", "squashfs", LSB, None),
    ("yaffs2.bin", "yaffs2", "mkyaffs2image.c", None),
    ("zip_truncated.bin", "zip", "readme.txt", "truncated"),
    ("arcadyan.bin", None, None, "unidentified"),
    ("squashfs_v2.bin", None, None, "error"),
]


@pytest.mark.parametrize(("vector", "fmt", "member", "reported"), VECTORS)
def test_every_format_vector(vector: str, fmt: str | None, member: str | None, reported: str | None) -> None:
    with extract(shared("firmware", "format_vectors", vector)) as ex:
        assert [c.fmt for c in ex.containers][:1] == ([fmt] if fmt else [])
        if member:
            assert any(f.fs_path.endswith("/" + member) and f.size > 0 for f in ex.files)
        kinds = [i.kind for i in ex.sandbox.incidents]
        if reported == "error":
            assert "unsquashfs failed" in ex.errors[0]
        elif reported:
            assert kinds == [reported]
        else:
            assert kinds == [] and ex.errors == []


def test_matter_ota_header_and_digest() -> None:
    with extract(shared("firmware", "format_vectors", "matter_ota.bin")) as ex:
        info = ex.containers[0].info
        assert info["software_version_string"] == "1.2.120.0" and info["vendor_id"] == 0x1234
        assert info["digest_ok"] is True


def test_obfuscated_image_is_reported_unidentified() -> None:
    with extract(shared("firmware", "format_vectors", "arcadyan.bin")) as ex:
        assert ex.containers == []
        assert [i.kind for i in ex.sandbox.incidents] == ["unidentified"]


def test_squashfs_of_real_binaries(squashfs_image: Path) -> None:
    with extract(squashfs_image) as ex:
        paths = {f.fs_path: f for f in ex.files}
        assert paths["/bin/busybox"].size == 1982256
        assert paths["/bin/sh"].link_target == "busybox"
        assert ex.sandbox.incidents == []


def test_flash_image_with_uimage_and_squashfs_at_offset(uimage_firmware: Path) -> None:
    with extract(uimage_firmware) as ex:
        fmts = [(c.fmt, c.offset) for c in ex.containers]
        assert ("uimage", 0) in fmts
        assert ("squashfs", 0x10000) in fmts
        assert ex.containers[0].info["name"] == "test kernel"
        assert any(f.fs_path == "/bin/dnsmasq" for f in ex.files)


def test_cpio_gz_and_tar_xz_nesting(rootfs: Path, tmp_path: Path) -> None:
    cpio = subprocess.run(["sh", "-c", "find . | cpio -o -H newc --quiet"], cwd=rootfs, capture_output=True, check=True)
    (tmp_path / "initramfs.cpio.gz").write_bytes(gzip.compress(cpio.stdout))
    with tarfile.open(tmp_path / "bundle.tar.xz", "w:xz") as tf:
        tf.add(tmp_path / "initramfs.cpio.gz", "boot/initramfs.cpio.gz")
    with extract(tmp_path / "bundle.tar.xz") as ex:
        assert [c.fmt for c in ex.containers] == ["xz", "tar", "gzip", "cpio"]
        assert any(f.fs_path == "/bin/lighttpd" and f.size > 0 for f in ex.files)


@pytest.fixture(scope="module")
def small_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_small_rootfs(tmp_path_factory.mktemp("small"))


def _kernel() -> bytes:
    return uimage(zlib.compress(b"Linux version 5.10.176 (builder@host) #1 SMP\n" * 100, 9))


@pytest.mark.parametrize("fmt", ["jffs2", "jffs2-be", "ubifs", "ubi"])
@pytest.mark.parametrize("at_offset", [False, True], ids=["alone", "after-uimage"])
def test_flash_file_systems_of_real_binaries(small_root: Path, fmt: str, at_offset: bool, tmp_path: Path) -> None:
    """JFFS2 (both byte orders), bare UBIFS and UBI made by mtd-utils, alone and at an erase-block
    boundary behind a kernel: one container each (a UBI or JFFS2 header repeats in every erase block
    or node and must not split the image), the real binaries out byte for byte, the symlink kept."""
    fs = pack(small_root, fmt)
    image = fs
    if at_offset:
        image = tmp_path / "flash.bin"
        image.write_bytes(flash([_kernel(), fs.read_bytes()]))
    container = fmt.removesuffix("-be")
    with extract(image) as ex:
        assert ex.errors == [] and ex.sandbox.incidents == []
        fmts = [(c.fmt, c.offset) for c in ex.containers]
        assert fmts == ([("uimage", 0), (container, 0x20000)] if at_offset else [(container, 0)])
        files = {f.fs_path: f for f in ex.files if f.root.startswith(ex.containers[-1].out)}
        if container == "ubi":  # one file-system root per UBI volume, named after it
            assert {f.root for f in files.values()} == {ex.containers[-1].out + "/rootfs"}
        assert files["/bin/ssh"].link_target == "dropbear"
        assert files["/bin/dropbear"].host.read_bytes() == (small_root / "bin/dropbear").read_bytes()
        comps = {c.name: c.version for c in identify(ex.files)}
    rows = manifest()
    assert comps == {"dropbear": rows["dropbear"]["upstream_version"], "dnsmasq": rows["dnsmasq"]["upstream_version"]}


STREAMS = {
    "gzip": lambda d: gzip.compress(d, 6),
    "bzip2": lambda d: bz2.compress(d, 9),
    "xz": lambda d: lzma.compress(d, format=lzma.FORMAT_XZ),
    "lzma": lambda d: lzma.compress(d, format=lzma.FORMAT_ALONE),
    "lz4": lz4.frame.compress,
    "zstd": lambda d: zstandard.ZstdCompressor(level=9).compress(d),
}


@pytest.mark.parametrize("fmt", sorted(STREAMS))
def test_compressed_real_binary(fmt: str, tmp_path: Path) -> None:
    """Each single-stream compressor over the real BusyBox binary: unpacked whole, version found."""
    busybox = shared("firmware", "component_binaries", "busybox").read_bytes()
    (tmp_path / f"busybox.{fmt}").write_bytes(STREAMS[fmt](busybox))
    with extract(tmp_path / f"busybox.{fmt}") as ex:
        assert [c.fmt for c in ex.containers] == [fmt]
        assert ex.errors == [] and ex.sandbox.incidents == []
        (out,) = ex.files
        assert out.host.read_bytes() == busybox
        assert [(c.name, c.version) for c in identify(ex.files)] == [("busybox", "1.35.0")]


def test_zip_of_real_binaries(small_root: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "update.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        for name in ("dropbear", "dnsmasq"):
            zf.write(small_root / "bin" / name, f"rootfs/bin/{name}")
    with extract(tmp_path / "update.zip") as ex:
        assert [c.fmt for c in ex.containers] == ["zip"]
        assert {f.fs_path for f in ex.files} == {"/rootfs/bin/dropbear", "/rootfs/bin/dnsmasq"}
        assert {c.name for c in identify(ex.files)} == {"dropbear", "dnsmasq"}


def _newc(entries: list[tuple[str, int, bytes]]) -> bytes:
    """A cpio(5) "new ASCII" archive of (name, mode, data) entries, as a hostile tool would write it."""
    out = b""
    for ino, (name, mode, data) in enumerate([*entries, ("TRAILER!!!", 0, b"")], start=1):
        raw = name.encode() + b"\0"
        fields = (ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(raw), 0)
        out += b"070701" + b"".join(b"%08X" % v for v in fields) + raw
        out += b"\0" * (-len(out) % 4) + data
        out += b"\0" * (-len(out) % 4)
    return out


def test_cpio_symlink_write_through_and_traversal_are_refused(tmp_path: Path) -> None:
    """A cpio that plants a symlink to a folder outside, then a file "through" it (GNU cpio follows
    such links), plus ``..`` and a device node: nothing lands outside, each refusal is reported."""
    outside = tmp_path / "outside"
    outside.mkdir()
    evil = _newc(
        [
            ("abs", 0o120777, str(outside).encode()),
            ("abs/pwned", 0o100644, b"pwned\n"),
            ("rel", 0o120777, b"../../../../../../../../" + str(outside).lstrip("/").encode()),
            ("rel/pwned2", 0o100644, b"pwned\n"),
            ("../../dotdot", 0o100644, b"x\n"),
            ("dev/sda", 0o060600, b""),
            ("ok/fine.txt", 0o100644, b"fine\n"),
        ]
    )
    (tmp_path / "evil.cpio").write_bytes(evil)
    with extract(tmp_path / "evil.cpio") as ex:
        assert list(outside.iterdir()) == []
        kinds = sorted((i.kind, i.where.split(".cpio/", 1)[1]) for i in ex.sandbox.incidents)
        assert kinds == [
            ("path_traversal", "../../dotdot"),
            ("special_file", "dev/sda"),
            ("symlink_escape", "abs/pwned"),
            ("symlink_escape", "rel"),
            ("symlink_escape", "rel/pwned2"),
        ]
        assert {f.fs_path for f in ex.files if not f.is_symlink} == {"/ok/fine.txt"}


def test_cpio_bomb_is_refused_before_writing(tmp_path: Path) -> None:
    """An initramfs.cpio.gz whose member would take the analysis over its byte budget: refused from
    bsdtar's listing, before anything of it is written."""
    (tmp_path / "initramfs.cpio.gz").write_bytes(gzip.compress(_newc([("zeros", 0o100644, b"\0" * (2 << 20))])))
    with extract(tmp_path / "initramfs.cpio.gz", Limits(max_total_bytes=3 << 20, max_ratio=10_000)) as ex:
        assert [i.kind for i in ex.sandbox.incidents] == ["limit.total_bytes"]
        assert [c.fmt for c in ex.containers] == ["gzip"]
        assert not any(f.fs_path.endswith("/zeros") for f in ex.files)


def test_bare_ubifs_needs_its_superblock_crc(tmp_path: Path, small_root: Path) -> None:
    data = bytearray(pack(small_root, "ubifs").read_bytes())
    struct.pack_into("<I", data, 4, struct.unpack_from("<I", data, 4)[0] ^ 1)  # break ubifs_ch.crc
    (tmp_path / "bad.ubifs").write_bytes(bytes(data))
    with extract(tmp_path / "bad.ubifs") as ex:
        assert [i.kind for i in ex.sandbox.incidents] == ["unidentified"]


def test_zip_path_traversal_is_refused(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../../evil.sh", b"#!/bin/sh\n")
        zf.writestr("/etc/passwd", b"root::0:0::/:/bin/sh\n")
        zf.writestr("ok.txt", b"fine")
    (tmp_path / "t.zip").write_bytes(buf.getvalue())
    with extract(tmp_path / "t.zip") as ex:
        assert [f.fs_path for f in ex.files] == ["/ok.txt"]
        assert [i.kind for i in ex.sandbox.incidents] == ["path_traversal", "path_traversal"]
        assert not (tmp_path / "evil.sh").exists()


def test_tar_symlink_escape_and_write_through_are_refused(tmp_path: Path) -> None:
    with tarfile.open(tmp_path / "t.tar", "w") as tf:
        link = tarfile.TarInfo("up")
        link.type, link.linkname = tarfile.SYMTYPE, "../../../../tmp"
        tf.addfile(link)
        data = b"pwned"
        member = tarfile.TarInfo("up/pwned")
        member.size = len(data)
        tf.addfile(member, io.BytesIO(data))
    with extract(tmp_path / "t.tar") as ex:
        kinds = [i.kind for i in ex.sandbox.incidents]
        assert "symlink_escape" in kinds
        assert not Path("/tmp/pwned").exists()


def test_gzip_bomb_stops_at_the_ratio_limit(tmp_path: Path) -> None:
    (tmp_path / "bomb.gz").write_bytes(gzip.compress(b"\0" * (64 << 20), 9))
    with extract(tmp_path / "bomb.gz", Limits(max_ratio=100)) as ex:
        assert [i.kind for i in ex.sandbox.incidents] == ["limit.ratio"]


def test_depth_limit(tmp_path: Path) -> None:
    data = b"firmware"
    for _ in range(5):
        data = gzip.compress(data)
    (tmp_path / "deep.gz").write_bytes(data)
    with extract(tmp_path / "deep.gz", Limits(max_depth=3)) as ex:
        assert len(ex.containers) == 3
        assert [i.kind for i in ex.sandbox.incidents] == ["limit.depth"]


def test_file_count_limit(squashfs_image: Path) -> None:
    with extract(squashfs_image, Limits(max_files=5)) as ex:
        assert [i.kind for i in ex.sandbox.incidents] == ["limit.files"]


def test_sandbox_is_removed_on_close(squashfs_image: Path) -> None:
    ex = extract(squashfs_image)
    root = ex.sandbox.root
    ex.close()
    assert not root.exists()


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("a/b", "a/b"),
        ("./a", "a"),
        ("../a", None),
        ("/etc/passwd", None),
        ("a/../../b", None),
        ("a\x00b", None),
    ],
)
def test_member_names(name: str, safe: str | None) -> None:
    assert safe_member_name(name) == safe


@pytest.mark.parametrize(
    ("link", "target", "escapes"),
    [
        ("bin/sh", "busybox", False),
        ("bin/sh", "/bin/busybox", False),
        ("a/b", "../../x", True),
        ("x", "..", True),
    ],
)
def test_link_escapes(link: str, target: str, escapes: bool) -> None:
    assert link_escapes(link, target) is escapes
