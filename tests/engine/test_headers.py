"""What tier-1 decode reads with and reports: big-endian reads clipped into the batch buffer, and the error codes
the engine counts by name (802.11 reasons after the decode's own)."""

from __future__ import annotations

import numpy as np

from iotwarden.engine.headers import (
    E_BAD_IP,
    E_BAD_TCP,
    E_LINKTYPE,
    E_OK,
    E_SHORT_IP,
    E_SHORT_LINK,
    E_SHORT_TCP,
    E_SHORT_UDP,
    E_WLAN,
    ERROR_REASONS,
    Reader,
)
from iotwarden.engine.wlan import REASONS as WLAN_REASONS


def test_reads_are_big_endian_at_any_byte_offset() -> None:
    rd = Reader(np.frombuffer(bytes(range(1, 17)), dtype=np.uint8))
    at = np.array([0, 1, 5], dtype=np.int64)
    assert rd.u8(at).tolist() == [1, 2, 6]
    assert rd.u16(at).tolist() == [0x0102, 0x0203, 0x0607]
    assert rd.u32(at).tolist() == [0x01020304, 0x02030405, 0x06070809]
    assert rd.u64(np.array([8], dtype=np.int64)).tolist() == [0x090A0B0C0D0E0F10]
    assert rd.u32(at).dtype == np.int64 and rd.u64(at).dtype == np.uint64


def test_reads_past_the_buffer_are_clipped_into_it_never_raised() -> None:
    rd = Reader(np.frombuffer(b"\x01\x02\x03\x04\x05\x06\x07\x08\x09", dtype=np.uint8))
    far = np.array([100], dtype=np.int64)
    assert rd.u8(far).tolist() == [9] and rd.u16(far).tolist() == [0x0809]  # the last whole word
    short = Reader(np.frombuffer(b"\xab", dtype=np.uint8))  # padded to Reader.PAD bytes
    assert short.data.shape[0] >= Reader.PAD and short.u32(np.array([0], dtype=np.int64)).tolist() == [0xAB000000]


def test_error_codes_name_their_reasons_and_wlan_reasons_follow() -> None:
    codes = (E_OK, E_LINKTYPE, E_SHORT_LINK, E_SHORT_IP, E_BAD_IP, E_SHORT_TCP, E_BAD_TCP, E_SHORT_UDP)
    assert [ERROR_REASONS[c] for c in codes] == ["", "unsupported_linktype", "short_link_header", "short_ip_header",
                                                 "bad_ip_header", "short_tcp_header", "bad_tcp_header",
                                                 "short_udp_header"]
    assert ERROR_REASONS[E_WLAN + 1:] == tuple(WLAN_REASONS)  # wlan reason r (1-based) is E_WLAN + r
