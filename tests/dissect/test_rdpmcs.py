"""RDP MCS connect PDUs of standard security ([MS-RDPBCGR] §2.2.1.3-2.2.1.4): client core and server security."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect import rdpmcs
from iotwarden.errors import ParseError
from tests.dissect import rdpbuild as b


def _mcs(tpkt: bytes) -> bytes:
    return tpkt[7:]  # after TPKT (4) and the Data TPDU header (3)


def test_client_core_of_a_connect_initial() -> None:
    fields = rdpmcs.connect_initial(_mcs(b.mcs_connect_initial(b.client_core("SCADA-HMI", 9600, 0x809))))
    assert fields is not None
    assert (fields["client_name"], fields["client_build"], fields["keyboard_layout"]) == ("SCADA-HMI", 9600, 0x809)


def test_a_connect_initial_without_core_data_says_nothing() -> None:
    assert rdpmcs.connect_initial(_mcs(b.mcs_connect_initial(struct.pack("<HHI", 0xC003, 8, 0)))) is None


def test_server_security_of_a_connect_response() -> None:
    fields = rdpmcs.connect_response(_mcs(b.mcs_connect_response(0x2, 3, 0x00000002)))
    assert fields == {"encryption_method": "128bit", "encryption_level": "high", "cert_type": "x509",
                      "cert_permanent": True}


def test_no_encryption_carries_no_certificate() -> None:
    assert rdpmcs.server_security(struct.pack("<II", 0, 0)) == {"encryption_method": "none",
                                                                "encryption_level": "none"}


def test_malformed_pdus_raise_parse_error() -> None:
    with pytest.raises(ParseError):
        rdpmcs.connect_initial(_mcs(b.mcs_connect_response()))  # a response is no Connect-Initial
    with pytest.raises(ParseError):
        rdpmcs.connect_initial(b.ber(b"\x7f\x65", b.ber(b"\x04", b"no key here")))
    with pytest.raises(ParseError):
        rdpmcs.client_core(b"\x00" * 20)
    broken = b.client_core()[:-1] + b"\x00"  # the block is fine; its header's length overruns now
    with pytest.raises(ParseError):
        rdpmcs.connect_initial(_mcs(b.mcs_connect_initial(struct.pack("<HH", 0xC001, 400) + broken[4:])))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400), st.booleans())
def test_fuzz_never_raises_anything_but_parse_error(data: bytes, initial: bool) -> None:
    with contextlib.suppress(ParseError):
        (rdpmcs.connect_initial if initial else rdpmcs.connect_response)(data)
