"""NETLOGON_SAM_LOGON_RESPONSE_EX ([MS-ADTS] §6.3.1.9): compressed and plain names alike, flags named, other
structures and forward pointers refused."""

from __future__ import annotations

import struct
import uuid

import pytest

from iotwarden.dissect import netlogon
from iotwarden.errors import ParseError
from iotwarden.lab import proto_ldap as L

GUID = uuid.UUID(int=0x1234)
KW = {"forest": "corp.example", "domain": "eu.corp.example", "host": "DC02.eu.corp.example",
      "netbios_domain": "EU", "netbios_name": "DC02", "site": "Paris", "client_site": "", "domain_guid": GUID}


def test_compressed_and_plain_names_read_the_same() -> None:
    packed, plain = L.logon_response_ex(**KW), L.logon_response_ex(**KW, compress=False)  # type: ignore[arg-type]
    assert len(packed) < len(plain)
    fields = netlogon.parse_response(packed)
    assert fields == netlogon.parse_response(plain)
    assert (fields["dns_domain_name"], fields["dns_host_name"]) == ("eu.corp.example", "DC02.eu.corp.example")
    assert fields["client_site_name"] is None and fields["user_name"] is None
    assert fields["domain_guid"] == str(GUID) and fields["nt_version"] == L.NT_VERSION_ANSWER


def test_flags_are_named() -> None:
    assert netlogon.flag_names(0x10 | 0x20 | 0x80000000) == ["DS_DS_FLAG", "DS_KDC_FLAG", "DS_DNS_FOREST_FLAG"]


def test_other_structures_and_forward_pointers_are_refused() -> None:
    response = L.logon_response_ex(**KW)  # type: ignore[arg-type]
    with pytest.raises(ParseError, match="opcode 19"):
        netlogon.parse_response(struct.pack("<H", 19) + response[2:])  # the pre-EX NETLOGON_SAM_LOGON_RESPONSE
    forward = response[:24] + b"\xc0\x30" + response[26:]
    with pytest.raises(ParseError, match="backwards"):
        netlogon.parse_response(forward)
    with pytest.raises(ParseError, match="shorter"):
        netlogon.parse_response(response[:20])
