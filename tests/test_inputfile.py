"""Whole-file reads of user-named files: regular files only, bounded, refused before anything is read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from iotwarden import inputfile
from iotwarden.errors import describe


def test_a_regular_file_within_the_limit_is_read_as_path_read_text_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes(b"a: 1\r\nb: 2\r\n")
    assert inputfile.read_bytes(path, 12) == b"a: 1\r\nb: 2\r\n"
    assert inputfile.read_text(path, 12) == path.read_text(encoding="utf-8") == "a: 1\nb: 2\n"


def test_a_file_past_the_limit_is_refused_by_its_size(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"x" * 13)
    with pytest.raises(inputfile.InputRefused) as caught:
        inputfile.read_bytes(path, 12)
    assert describe(caught.value) == "larger than 12 bytes, the limit for this kind of file"


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_fifo_or_a_device_is_not_a_regular_file_and_is_not_waited_on(tmp_path: Path, kind: str) -> None:
    path = Path("/dev/zero")
    if kind == "fifo":
        path = tmp_path / "fifo"
        os.mkfifo(path)  # no writer: a blocking open would wait for ever
    with pytest.raises(inputfile.InputRefused) as caught:
        inputfile.read_bytes(path, 1 << 20)
    assert describe(caught.value) == inputfile.NOT_REGULAR == "not a regular file"


def test_a_folder_and_a_missing_file_keep_the_system_s_words(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError) as folder:
        inputfile.read_bytes(tmp_path, 10)
    with pytest.raises(FileNotFoundError) as missing:
        inputfile.read_bytes(tmp_path / "nope", 10)
    assert describe(folder.value) == "Is a directory"
    assert describe(missing.value) == "No such file or directory"


def test_not_utf8_is_a_decode_error_as_before(tmp_path: Path) -> None:
    path = tmp_path / "b.yaml"
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(UnicodeDecodeError):
        inputfile.read_text(path, 10)


def test_a_name_holding_a_nul_byte_is_refused_as_an_os_error(tmp_path: Path) -> None:
    # found by fuzzing 'lab generate': a scenario's 'extends: "base\0.yaml"' made os.open raise ValueError, which the
    # scenario loader's 'except OSError' missed (an internal error instead of its 'cannot read scenario' line)
    with pytest.raises(OSError, match="NUL byte") as caught:
        inputfile.read_text(tmp_path / "base\0.yaml", 100)
    assert describe(caught.value) == inputfile.NUL_IN_NAME


def test_gunzip_reads_members_in_a_row_and_refuses_what_unpacks_past_the_limit() -> None:
    import gzip
    import zlib

    assert inputfile.gunzip(gzip.compress(b"ab") + gzip.compress(b"cd") + b"\0\0", 4) == b"abcd"
    bomb = gzip.compress(bytes(64 << 20), 1)  # ~64 KiB: gzip.decompress held all 64 MiB before any check
    with pytest.raises(inputfile.InputRefused, match="unpacks to more than 1,048,576 bytes"):
        inputfile.gunzip(bomb, 1 << 20)
    with pytest.raises(EOFError):
        inputfile.gunzip(gzip.compress(b"abcdef")[:-10], 100)
    with pytest.raises(zlib.error):
        inputfile.gunzip(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\xff" * 20, 100)
