"""Tar, zip and cpio members (firmware/extract/archives.py): a path named twice, as the same type or another, keeps
its first member and the later one is reported and skipped (a folder named again merges), never an overwrite nor
an error for the whole image."""

from __future__ import annotations

import contextlib
import io
import shutil
import tarfile
import warnings
import zipfile
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from iotwarden.errors import FirmwareError
from iotwarden.firmware.extract.archives import extract_cpio, extract_tar, extract_zip
from iotwarden.firmware.sandbox import LimitExceeded, Sandbox

Member = tuple[str, str, str]  # name, kind (file, dir, sym, lnk), data or link target


def _tar(members: list[Member]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for name, kind, arg in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(arg)
                tf.addfile(info, io.BytesIO(arg.encode()))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "lnk": tarfile.LNKTYPE}[kind]
            info.linkname = arg
            tf.addfile(info)
    return buf.getvalue()


def _zip(members: list[Member]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Duplicate name": the point of the test
        for name, kind, arg in members:
            if kind in ("file", "dir"):  # links are a tar's
                zf.writestr(name + ("/" if kind == "dir" else ""), arg if kind == "file" else "")
    return buf.getvalue()


def _extract(kind: str, members: list[Member]) -> list[str]:
    with Sandbox() as sb:
        src = sb.root / f"a.{kind}"
        src.write_bytes(_tar(members) if kind == "tar" else _zip(members))
        with contextlib.suppress(FirmwareError, LimitExceeded):
            (extract_tar if kind == "tar" else extract_zip)(src, sb.new_dir("out"), sb, "img")
        return [i.kind for i in sb.incidents]


@pytest.mark.parametrize("members", [
    [("a", "file", "x"), ("a", "sym", "b")],  # a link over a file: FileExistsError
    [("a", "dir", ""), ("a", "file", "x")],  # a file where a folder is: IsADirectoryError
    [("a", "file", "x"), ("a", "dir", "")],  # a folder where a file is: FileExistsError
    [("a", "file", "x"), ("a/b", "file", "y")],  # a file under a file: FileExistsError
    [("a", "file", "x"), ("a", "lnk", "a")],  # a hard link to itself: SameFileError
])
def test_a_path_named_twice_as_another_type_is_reported_and_skipped(members: list[Member]) -> None:
    assert _extract("tar", members) == ["path_conflict"]


def test_a_zip_naming_a_path_twice_as_another_type_is_reported_and_skipped() -> None:
    assert _extract("zip", [("a", "file", "x"), ("a/b", "file", "y")]) == ["path_conflict"]
    assert _extract("zip", [("a", "file", "x"), ("a", "dir", "")]) == ["path_conflict"]


_NAMES = st.sampled_from(["a", "b", "a/b", "a/b/c", "b/a", "d", "../x", "/etc/x"])
_MEMBERS = st.lists(st.tuples(_NAMES, st.sampled_from(["file", "dir", "sym", "lnk"]),
                              st.one_of(_NAMES, st.just("x"), st.just("."), st.just(".."))), max_size=8)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["tar", "zip"]), _MEMBERS)
@example("tar", [("a", "dir", ""), ("a", "file", "x")])
def test_any_member_list_is_extracted_or_reported(kind: str, members: list[Member]) -> None:
    _extract(kind, members)


def _newc(members: list[Member]) -> bytes:
    """A cpio(5) "newc" archive of files, folders and symlinks (header, name and data padded to 4 bytes)."""
    out = b""
    for ino, (name, kind, arg) in enumerate([*members, ("TRAILER!!!", "end", "")], start=1):
        mode = {"file": 0o100644, "dir": 0o40755, "sym": 0o120777, "end": 0}[kind]
        data, path = arg.encode() if kind in ("file", "sym") else b"", name.encode() + b"\0"
        fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(path), 0]
        head = b"070701" + b"".join(b"%08X" % f for f in fields) + path
        out += head + b"\0" * (-len(head) % 4) + data + b"\0" * (-len(data) % 4)
    return out


def _tree(out: Path) -> dict[str, str]:
    """What was written: each path's content, "dir/" or "-> target"."""
    def what(p: Path) -> str:
        return f"-> {p.readlink()}" if p.is_symlink() else "dir/" if p.is_dir() else p.read_text()

    return {p.relative_to(out).as_posix(): what(p) for p in sorted(out.rglob("*"))}


def _unpack(kind: str, members: list[Member]) -> tuple[list[str], dict[str, str]]:
    archive = {"tar": _tar, "zip": _zip, "cpio": _newc}[kind](members)
    with Sandbox() as sb:
        src = sb.root / f"a.{kind}"
        src.write_bytes(archive)
        out = sb.new_dir("out")
        {"tar": extract_tar, "zip": extract_zip, "cpio": extract_cpio}[kind](src, out, sb, "img")
        return [i.kind for i in sb.incidents], _tree(out)


SAME_TYPE_TWICE = [  # (members, the path's content kept: the first member's)
    ([("a", "file", "first"), ("a", "file", "second")], {"a": "first"}),
    ([("a", "sym", "b"), ("a", "sym", "c")], {"a": "-> b"}),
    ([("b", "file", "x"), ("a", "file", "first"), ("a", "lnk", "b")], {"a": "first", "b": "x"}),
    ([("b", "file", "x"), ("a", "lnk", "b"), ("a", "file", "second")], {"a": "x", "b": "x"}),
    ([("a", "sym", "b"), ("a", "file", "second")], {"a": "-> b"}),  # never written through the link either
]


@pytest.mark.parametrize(("members", "kept"), SAME_TYPE_TWICE)
def test_a_path_named_twice_as_the_same_type_keeps_its_first_member_and_reports_the_second(
    members: list[Member], kept: dict[str, str]
) -> None:
    """As for two types (above): the first member stays, the later one is a path_conflict; it was overwritten."""
    assert _unpack("tar", members) == (["path_conflict"], kept)


def test_a_zip_naming_a_file_twice_keeps_the_first() -> None:
    assert _unpack("zip", [("a", "file", "first"), ("a", "file", "second")]) == (["path_conflict"], {"a": "first"})


def test_a_folder_named_twice_merges_without_a_conflict() -> None:
    members = [("d", "dir", ""), ("d/x", "file", "1"), ("d", "dir", "")]
    for kind in ("tar", "zip"):
        assert _unpack(kind, members) == ([], {"d": "dir/", "d/x": "1"})


@pytest.mark.skipif(shutil.which("bsdtar") is None, reason="bsdtar not installed")
@pytest.mark.parametrize(("members", "incidents", "kept"), [
    ([("a", "file", "first"), ("a", "file", "second")], ["path_conflict"], {"a": "first"}),
    ([("a", "file", "first"), ("a", "dir", "")], ["path_conflict"], {"a": "first"}),
    ([("a", "dir", ""), ("a", "file", "second")], ["path_conflict"], {"a": "dir/"}),
    ([("a", "file", "first"), ("a", "sym", "c")], ["path_conflict"], {"a": "first"}),
    ([("d", "dir", ""), ("d/x", "file", "1"), ("d", "dir", "")], [], {"d": "dir/", "d/x": "1"}),
    # libarchive's exception: it unlinks a symlink in a path's last place rather than write through it
    ([("a", "sym", "b"), ("a", "sym", "c")], ["path_conflict"], {"a": "-> c"}),
])
def test_a_cpio_naming_a_path_twice_keeps_the_first_like_tar_and_zip(
    members: list[Member], incidents: list[str], kept: dict[str, str]
) -> None:
    """cpio goes through bsdtar, which by itself replaced the first entry with the later one (a file with a
    folder too) without a word: now bsdtar -k keeps the first and the listing reports the later one; a symlink
    named first is the one exception (replaced, and reported as replaced)."""
    assert _unpack("cpio", members) == (incidents, kept)
