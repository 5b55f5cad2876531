"""The SMB1 message fields the session reads: whether an open writes ([MS-CIFS] §2.2.4.41.1, §2.2.4.64.1), what a
response shares with its request, a pipe's name, a core READ's or WRITE's data buffer, data placed by offset."""

from __future__ import annotations

import struct

import pytest

from iotwarden.dissect.smb1fields import (
    HEADER,
    NT_CREATE_ANDX,
    OPEN_ANDX,
    buffer_at,
    data_buffer,
    pipe_name,
    request_key,
    writes,
)
from iotwarden.errors import ParseError


def _nt_create(access: int, disposition: int, options: int = 0) -> bytes:
    words = bytearray(48)  # §2.2.4.64.1: DesiredAccess at 15, CreateDisposition at 35, CreateOptions at 39
    struct.pack_into("<I", words, 15, access)
    struct.pack_into("<II", words, 35, disposition, options)
    return bytes(words)


def _open_andx(access_mode: int, open_mode: int) -> bytes:
    words = bytearray(30)  # §2.2.4.41.1: AccessMode at 6, OpenMode at 16
    struct.pack_into("<H", words, 6, access_mode)
    struct.pack_into("<H", words, 16, open_mode)
    return bytes(words)


@pytest.mark.parametrize(("words", "expected"), [
    (_nt_create(0x2, 1), "open"),  # FILE_WRITE_DATA on an existing file
    (_nt_create(0x1, 1), None),  # read only, FILE_OPEN
    (_nt_create(0x1, 5), "overwrite_if"),  # truncates whatever the access
    (_nt_create(0x2, 2, options=1), None),  # a directory
])
def test_an_nt_create_writes_as_smb2_reads_its_disposition(words: bytes, expected: str | None) -> None:
    assert writes(words, NT_CREATE_ANDX) == expected


@pytest.mark.parametrize(("access", "mode", "expected"), [
    (1, 0x0001, "open"),  # write access, open if present
    (2, 0x0011, "open_if"),  # read/write, create if absent, open if present
    (0, 0x0012, "overwrite_if"),  # read, create if absent, truncate if present
    (0, 0x0010, "create"),  # create if absent, fail if present
    (0, 0x0002, "overwrite"),  # truncate if present
    (0, 0x0001, None),  # read, open if present: no write
])
def test_an_open_andx_writes_by_its_access_and_open_mode(access: int, mode: int, expected: str | None) -> None:
    assert writes(_open_andx(access, mode), OPEN_ANDX) == expected


def test_truncated_opens_are_parse_errors() -> None:
    with pytest.raises(ParseError):
        writes(bytes(47), NT_CREATE_ANDX)
    with pytest.raises(ParseError):
        writes(bytes(29), OPEN_ANDX)


def test_a_response_shares_pid_high_and_low_mid_and_command_with_its_request() -> None:
    msg = bytearray(HEADER)
    struct.pack_into("<H", msg, 12, 0x0001)  # PIDHigh
    struct.pack_into("<H", msg, 26, 0x0203)  # PIDLow
    struct.pack_into("<H", msg, 30, 77)  # MID
    assert request_key(bytes(msg), OPEN_ANDX) == (0x10203, 77, OPEN_ANDX)


def test_a_pipe_is_named_without_the_pipe_prefix() -> None:
    assert pipe_name("PIPE\\svcctl") == "svcctl" and pipe_name("pipe\\srvsvc") == "srvsvc"
    assert pipe_name("svcctl") == "svcctl"


def test_a_core_data_buffer_is_its_announced_bytes() -> None:
    assert data_buffer(b"\x01\x03\x00abcdef") == b"abc"
    for bad in (b"\x01\x00", b"\x02\x01\x00a", b"\x01\x05\x00abc"):  # short, not a data buffer, past its block
        with pytest.raises(ParseError):
            data_buffer(bad)


def test_data_is_placed_by_offset_from_the_header_and_stays_inside_the_message() -> None:
    msg = bytes(HEADER) + b"payload"
    assert buffer_at(msg, HEADER, 3) == b"pay" and buffer_at(msg, 0, 0) == b""
    for offset, length in ((HEADER - 1, 2), (HEADER + 5, 3)):
        with pytest.raises(ParseError):
            buffer_at(msg, offset, length)
