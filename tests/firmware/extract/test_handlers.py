"""Our unblob handlers: uImage (header CRC, truncated payload), Matter OTA sizes, an MBR only at the
start of a blob, the UBIFS superblock CRC, a zip without central directory, a YAFFS2 image without
subfolders, and registration through unblob's plugin hook."""

from __future__ import annotations

import struct
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from unblob.file_utils import File, InvalidInputFormat
from unblob.handlers.filesystem.yaffs import YAFFSHandler
from unblob.plugins import UnblobPluginManager

from iotwarden.firmware.extract import carving, handlers
from iotwarden.firmware.extract.driver import extract
from tests.conftest import shared
from tests.firmware.conftest import make_small_rootfs, pack, uimage


def _chunk(handler: type[handlers.Handler[object]], data: bytes, offset: int = 0) -> tuple[int, int] | None:
    with File.from_bytes(data) as f:
        found = handler().calculate_chunk(f, offset)
    return (found.start_offset, found.end_offset) if found else None


def test_uimage_header_crc_is_checked() -> None:
    image = uimage(b"payload" * 10)
    assert _chunk(handlers.UImageHandler, image) == (0, len(image))
    broken = image[:40] + b"X" + image[41:]  # a byte of ih_name: the header CRC no longer holds
    with pytest.raises(InvalidInputFormat, match="CRC"):
        _chunk(handlers.UImageHandler, broken)


def test_truncated_uimage_is_opened_and_reported(tmp_path: Path) -> None:
    image = uimage(b"kernel" * 1000)
    (tmp_path / "cut.bin").write_bytes(image[:1000])
    with extract(tmp_path / "cut.bin") as ex:
        assert [(c.fmt, c.size) for c in ex.containers] == [("uimage", 1000)]
        assert [i.kind for i in ex.sandbox.incidents] == ["truncated"]


def test_matter_ota_sizes_are_checked() -> None:
    vector = shared("firmware", "format_vectors", "matter_ota.bin").read_bytes()
    assert _chunk(handlers.MatterOTAHandler, vector) == (0, len(vector))
    lying = vector[:4] + struct.pack("<Q", 8) + vector[12:]  # total size smaller than the header
    with pytest.raises(InvalidInputFormat):
        _chunk(handlers.MatterOTAHandler, lying)


def test_mbr_is_taken_only_at_the_start(tmp_path: Path) -> None:
    vector = shared("firmware", "format_vectors", "mbr.bin").read_bytes()
    assert _chunk(handlers.MBRHandler, vector) == (0, len(vector))
    (tmp_path / "inside.bin").write_bytes(b"\xff" * 4096 + vector)
    assert [c.fmt for c in carving.search(tmp_path / "inside.bin").chunks] == []


def test_ubifs_superblock_crc_is_checked(tmp_path: Path, small_root_for_handlers: Path) -> None:
    data = bytearray(pack(small_root_for_handlers, "ubifs").read_bytes())
    assert _chunk(handlers.CheckedUBIFSHandler, bytes(data)) == (0, len(data))
    data[4] ^= 1  # ubifs_ch.crc
    with pytest.raises(InvalidInputFormat, match="CRC"):
        _chunk(handlers.CheckedUBIFSHandler, bytes(data))


def test_zip_without_central_directory_only_at_the_start() -> None:
    truncated = shared("firmware", "format_vectors", "zip_truncated.bin").read_bytes()
    assert _chunk(handlers.StreamedZIPHandler, truncated) == (0, len(truncated))
    with pytest.raises(InvalidInputFormat):
        _chunk(handlers.StreamedZIPHandler, b"\0" * 64 + truncated, 64)


def test_yaffs2_without_subfolders() -> None:
    """unblob's own geometry detection needs a subfolder; the binwalk vector has none."""
    vector = shared("firmware", "format_vectors", "yaffs2.bin").read_bytes()
    with pytest.raises(InvalidInputFormat):
        _chunk(YAFFSHandler, vector)
    assert _chunk(handlers.FixedGeometryYAFFSHandler, vector) == (0, len(vector))
    with pytest.raises(InvalidInputFormat):
        _chunk(handlers.FixedGeometryYAFFSHandler, vector[:100] + b"\0" * 4096)


def test_registered_through_unblobs_plugin_hook() -> None:
    pm = UnblobPluginManager()
    pm.register(handlers)
    assert pm.load_handlers_from_plugins() == list(handlers.REPLACES)
    assert {h.NAME for h in handlers.REPLACES if handlers.REPLACES[h] is None} == {"uimage", "matter_ota", "mbr"}


@pytest.fixture(scope="module")
def small_root_for_handlers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_small_rootfs(tmp_path_factory.mktemp("small"))


MAGICS = [b"\x27\x05\x19\x56", b"\x1e\xf1\xee\x1b", b"PK\x03\x04", b"\x31\x18\x10\x06", b"\x01\0\0\0\x01\0\0\0\xff\xff"]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(MAGICS), st.binary(max_size=700), st.integers(0, 3))
def test_fuzzed_headers_never_crash(magic: bytes, tail: bytes, lead: int) -> None:
    """Hostile bytes behind each of our handlers' patterns: a chunk inside the blob or nothing."""
    with tempfile.TemporaryDirectory() as tmp:
        blob = Path(tmp) / "blob.bin"
        blob.write_bytes(b"\0" * lead + magic + tail)
        for found in (carving.search(blob), carving.identify(blob)):
            assert all(c.offset >= 0 and c.offset + c.size <= blob.stat().st_size for c in found.chunks)
