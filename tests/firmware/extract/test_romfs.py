"""The romfs reader: the binwalk vector, an image made by Debian's genromfs from real binaries, and
hostile images (cycles, names with slashes, links out of the root), plus a bounded fuzz."""

from __future__ import annotations

import contextlib
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.errors import FirmwareError
from iotwarden.firmware.extract.driver import extract
from iotwarden.firmware.extract.romfs import extract_romfs
from iotwarden.firmware.sandbox import LimitExceeded, Sandbox


def _hdr(nxt: int, kind: int, spec: int, size: int, name: bytes) -> bytes:
    n = name + b"\0"
    return struct.pack(">4I", nxt | kind, spec, size, 0) + n + b"\0" * (-len(n) % 16)


def _image(entries: bytes) -> bytes:
    sb = b"-rom1fs-" + struct.pack(">II", 32 + len(entries), 0) + b"vol\0" + b"\0" * 12
    return sb + entries


def test_genromfs_image_of_real_binaries(rootfs: Path, tmp_path: Path) -> None:
    if not shutil.which("genromfs"):
        pytest.skip("genromfs not installed (apt-get install genromfs)")
    img = tmp_path / "root.romfs"
    subprocess.run(["genromfs", "-f", str(img), "-d", str(rootfs), "-V", "test"], check=True)
    with extract(img) as ex:
        files = {f.fs_path: f for f in ex.files}
        assert files["/bin/busybox"].size == 1982256 and files["/bin/busybox"].mode & 0o100
        assert files["/bin/sh"].link_target == "busybox"
        assert ex.sandbox.incidents == []


def test_cycle_and_bad_names_and_escaping_links_are_refused(tmp_path: Path) -> None:
    # header at 32 points back to itself; "a/b" is refused; "up" links to ../../etc
    e1 = _hdr(64, 2, 0, 0, b"a/b")
    e2 = _hdr(96, 3, 0, 8, b"up") + b"../../etc\0"[:8] + b"\0" * 8
    e3 = _hdr(32, 2, 0, 0, b"loop")
    img = tmp_path / "evil.romfs"
    img.write_bytes(_image(e1 + e2[:32] + e2[32:48] + e3))
    with Sandbox() as sb:
        out = sb.new_dir("romfs")
        extract_romfs(img, out, sb, "evil")
        kinds = [i.kind for i in sb.incidents]
    assert "path_traversal" in kinds and "symlink_escape" in kinds and "malformed" in kinds


def test_not_romfs_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "x").write_bytes(b"\0" * 64)
    with Sandbox() as sb, pytest.raises(FirmwareError):
        extract_romfs(tmp_path / "x", sb.new_dir("r"), sb, "x")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_fuzzed_romfs_never_crashes(tail: bytes) -> None:
    with Sandbox() as sb:
        src = sb.root / "f.romfs"
        src.write_bytes(_image(tail))
        with contextlib.suppress(FirmwareError, LimitExceeded):
            extract_romfs(src, sb.new_dir("r"), sb, "fuzz")
