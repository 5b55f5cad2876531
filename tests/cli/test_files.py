"""Files named on the command line: outputs checked before the work, OSErrors as one ConfigError line."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.cli.files import check_output, check_watched, output, read_file, write_file
from iotwarden.errors import CaptureError, ConfigError


def test_an_output_in_a_missing_folder_or_on_a_folder_is_refused(tmp_path: Path) -> None:
    check_output(None)
    check_output(tmp_path / "fine.json")
    with pytest.raises(ConfigError, match=r"folder .*nowhere does not exist"):
        check_output(tmp_path / "nowhere" / "x.json")
    with pytest.raises(ConfigError, match="it is a folder"):
        check_output(tmp_path)


def test_reads_and_writes_fail_in_one_line_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^cannot read SUIT envelope .*missing\.suit: No such file or directory$"):
        read_file(tmp_path / "missing.suit", "SUIT envelope")
    with pytest.raises(ConfigError, match=r"^cannot write .*: Is a directory$"):
        write_file(tmp_path, "text")
    with pytest.raises(ConfigError, match=r"^cannot write .*: No such file or directory$"), \
            output(tmp_path / "nowhere" / "x.txt"):
        pass
    write_file(tmp_path / "b.bin", b"\x00\x01")
    write_file(tmp_path / "t.txt", "é")
    assert read_file(tmp_path / "b.bin", "x") == b"\x00\x01"
    assert (tmp_path / "t.txt").read_text(encoding="utf-8") == "é"
    with output(tmp_path / "o.txt") as fh:
        fh.write("kept")
    assert (tmp_path / "o.txt").read_text() == "kept"


def test_a_watched_source_is_a_folder_or_an_interface(tmp_path: Path) -> None:
    check_watched(str(tmp_path))
    check_watched("lo")
    (tmp_path / "x.pcap").write_bytes(b"")
    with pytest.raises(CaptureError, match="a file, not a folder"):
        check_watched(str(tmp_path / "x.pcap"))
    with pytest.raises(CaptureError, match="no such folder or network interface"):
        check_watched(str(tmp_path / "missing"))
    with pytest.raises(CaptureError, match="empty name"):
        check_watched("")
