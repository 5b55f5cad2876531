"""Tar and zip members (firmware/extract/archives.py): a path named twice, as another type, is reported and
skipped, never an error for the whole image."""

from __future__ import annotations

import contextlib
import io
import tarfile
import warnings
import zipfile

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from iotwarden.errors import FirmwareError
from iotwarden.firmware.extract.archives import extract_tar, extract_zip
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
