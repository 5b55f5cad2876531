"""Kerberos messages of the lab's domain: the DER layout of RFC 4120 §5 with a Windows client's values."""

from __future__ import annotations

import random

from iotwarden.dissect.kerberos import parse_message
from iotwarden.lab import proto_dir


def test_as_req_with_and_without_preauthentication() -> None:
    rng = random.Random(1)
    bare = proto_dir.as_req(rng, "CORP.EXAMPLE", "WS-01$", "WS-01", preauth=False)
    full = proto_dir.as_req(rng, "CORP.EXAMPLE", "WS-01$", "WS-01", preauth=True)
    assert bare[0] == full[0] == 0x6A  # [APPLICATION 10]
    assert parse_message(bare)[1]["padata_types"] == [proto_dir.PA_PAC_REQUEST]
    assert parse_message(full)[1]["padata_types"] == [proto_dir.PA_ENC_TIMESTAMP, proto_dir.PA_PAC_REQUEST]
    assert b"WS-01           " in full  # the NetBIOS host address, padded to 16 (RFC 4120 §7.5.3)


def test_the_kdc_answers_carry_the_ticket_service_in_the_clear() -> None:
    rng = random.Random(2)
    kind, error = parse_message(proto_dir.preauth_required(rng, "CORP.EXAMPLE", "WS-01$", 1.7e9))
    assert kind == "error" and error["error_code"] == proto_dir.KDC_ERR_PREAUTH_REQUIRED
    kind, rep = parse_message(proto_dir.kdc_rep(rng, 13, "CORP.EXAMPLE", "WS-01$", "cifs", "FS01.corp.example"))
    assert kind == "tgs_rep" and rep["sname"] == "cifs/FS01.corp.example"


def test_tcp_record_has_the_length_first() -> None:
    assert proto_dir.tcp_record(b"abc") == b"\x00\x00\x00\x03abc"
