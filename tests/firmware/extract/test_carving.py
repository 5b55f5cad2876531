"""Chunk finding by unblob: a raw flash image searched end to end, files inside file systems identified
at their start only, the handler set (ours replace unblob's where they refine them), the chunk-count
limit, handler failures reported, and unblob's logging kept off our standard output."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from unblob.handlers.archive.zip import ZIPHandler
from unblob.handlers.filesystem.ubi import UBIFSHandler
from unblob.handlers.filesystem.yaffs import YAFFSHandler

from iotwarden.firmware.extract import carving, driver, handlers
from iotwarden.firmware.extract.driver import extract
from tests.conftest import shared


def test_flash_image_is_searched_end_to_end(uimage_firmware: Path, squashfs_image: Path) -> None:
    found = carving.search(uimage_firmware)
    assert found.problems == []
    assert [(c.fmt, c.handler, c.offset) for c in found.chunks] == [
        ("uimage", "uimage", 0),
        ("squashfs", "squashfs_v4_le", 0x10000),
    ]
    # the squashfs chunk ends where its superblock's bytes_used says (padded to 4 KiB by mksquashfs)
    assert found.chunks[1].size == squashfs_image.stat().st_size


def test_identify_looks_only_at_the_start(tmp_path: Path) -> None:
    """A program that embeds a compressed blob is a program: only a raw blob is searched inside."""
    stream = gzip.compress(b"Linux version 5.10.176\n" * 50)
    (tmp_path / "prog").write_bytes(b"\x7fELF" + b"\0" * 60 + stream)
    assert carving.identify(tmp_path / "prog").chunks == []
    assert [(c.fmt, c.offset) for c in carving.search(tmp_path / "prog").chunks] == [("gzip", 64)]
    (tmp_path / "blob.gz").write_bytes(stream)
    assert [(c.fmt, c.offset, c.size) for c in carving.identify(tmp_path / "blob.gz").chunks] == [
        ("gzip", 0, len(stream))
    ]


def test_real_binary_is_no_container() -> None:
    busybox = shared("firmware", "component_binaries", "busybox")
    assert carving.identify(busybox).chunks == []


def test_empty_file_has_no_chunk(tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(b"")
    assert carving.search(tmp_path / "empty").chunks == carving.identify(tmp_path / "empty").chunks == []


def test_our_handlers_replace_the_ones_they_refine() -> None:
    searched, fmt_of = carving.handler_set()
    assert ZIPHandler not in searched and handlers.StreamedZIPHandler in searched
    assert UBIFSHandler not in searched and handlers.CheckedUBIFSHandler in searched
    assert YAFFSHandler not in searched and handlers.FixedGeometryYAFFSHandler in searched
    assert fmt_of[handlers.StreamedZIPHandler] == "zip" and fmt_of[handlers.UImageHandler] == "uimage"
    assert all(h in fmt_of for h in searched)


def test_every_format_searched_has_an_extractor() -> None:
    """Nothing is found that the driver cannot open (each format is a branch of its dispatch)."""
    _, fmt_of = carving.handler_set()
    source = Path(driver.__file__).read_text()
    for fmt in set(fmt_of.values()):
        assert fmt in driver.STREAMS or f'"{fmt}"' in source, fmt


def test_chunk_count_limit_is_reported(tmp_path: Path) -> None:
    blob = b"".join(gzip.compress(b"x%d" % i) + b"\xff" * 16 for i in range(carving.MAX_CHUNKS + 20))
    (tmp_path / "many.bin").write_bytes(blob)
    found = carving.search(tmp_path / "many.bin")
    assert len(found.chunks) == carving.MAX_CHUNKS
    assert found.problems == [
        f"limit.chunks: {carving.MAX_CHUNKS + 20} containers found, the first {carving.MAX_CHUNKS} taken"
    ]
    with extract(tmp_path / "many.bin") as ex:
        assert [i.kind for i in ex.sandbox.incidents] == ["limit.chunks"]
        assert len(ex.containers) == carving.MAX_CHUNKS


def test_handler_failure_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch, uimage_firmware: Path) -> None:
    def broken(self: object, file: object, start_offset: int) -> None:
        raise RuntimeError("handler bug")

    monkeypatch.setattr(handlers.UImageHandler, "calculate_chunk", broken)
    with extract(uimage_firmware) as ex:
        assert [c.fmt for c in ex.containers] == ["squashfs"]
        (incident,) = ex.sandbox.incidents
        assert incident.kind == "carver_error" and "uimage" in incident.detail and "0x0" in incident.detail


def test_unblob_logs_nothing_on_stdout(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Rejected candidates are logged by unblob at debug level; our CLI prints JSON on stdout."""
    (tmp_path / "noise.bin").write_bytes(b"\x1f\x8b\x08\x00junk" * 100 + b"hsqs" + b"\0" * 200)
    carving.search(tmp_path / "noise.bin")
    assert capsys.readouterr().out == ""
