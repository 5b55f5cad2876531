"""The Matter OTA image: the binwalk vector's header and digest, a payload that was changed, and a
bounded fuzz of the TLV header parser."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.errors import FirmwareError
from iotwarden.firmware.extract.matter import extract_matter_ota
from iotwarden.firmware.sandbox import LimitExceeded, Sandbox
from tests.conftest import shared


def test_vector_header_fields_and_payload() -> None:
    src = shared("firmware", "format_vectors", "matter_ota.bin")
    with Sandbox() as sb:
        out = sb.new_dir("m")
        info = extract_matter_ota(src, out, sb, "v")
        assert (out / "payload.bin").read_bytes() == b"PAYLOAD\n"
    assert info["product_id"] == 0x1234 and info["payload_size"] == 8 and info["digest_ok"] is True


def test_changed_payload_is_reported(tmp_path: Path) -> None:
    data = shared("firmware", "format_vectors", "matter_ota.bin").read_bytes()
    (tmp_path / "m.bin").write_bytes(data[:-8] + b"EVILOAD\n")
    with Sandbox() as sb:
        info = extract_matter_ota(tmp_path / "m.bin", sb.new_dir("m"), sb, "m")
        assert info["digest_ok"] is False and [i.kind for i in sb.incidents] == ["digest_mismatch"]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_fuzzed_headers_never_crash(header: bytes) -> None:
    import struct

    with Sandbox() as sb:
        src = sb.root / "f.bin"
        src.write_bytes(struct.pack("<IQI", 0x1BEEF11E, 16 + len(header), len(header)) + header)
        with contextlib.suppress(FirmwareError, LimitExceeded):
            extract_matter_ota(src, sb.new_dir("m"), sb, "fuzz")


@pytest.mark.parametrize("header", [
    b"\x15 ",  # a context tag's control byte as the last byte (hypothesis found it: IndexError)
    b"\x15\x27\x01\x02",  # tag 1, an 8-byte unsigned integer cut after one byte
    b"\x15\x2d\x01\x05",  # tag 1, a UTF-8 string whose 2-byte length is cut
])
def test_an_element_cut_by_the_header_end_is_a_firmware_error(header: bytes) -> None:
    import struct

    with Sandbox() as sb:
        src = sb.root / "f.bin"
        src.write_bytes(struct.pack("<IQI", 0x1BEEF11E, 16 + len(header), len(header)) + header)
        with pytest.raises(FirmwareError, match="runs past the header"):
            extract_matter_ota(src, sb.new_dir("m"), sb, "cut")


def test_not_matter_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "x").write_bytes(b"\0" * 32)
    with Sandbox() as sb, pytest.raises(FirmwareError):
        extract_matter_ota(tmp_path / "x", sb.new_dir("m"), sb, "x")
