"""NTLMSSP ([MS-NLMP] §2.2.1) and SPNEGO (RFC 4178) as SMB carries them: each message's VERSION, a server's
TargetInfo names and clock, a client's workstation, never a user name, a response or a key."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect import ntlmssp
from iotwarden.errors import ParseError
from tests.dissect import smbbuild as b


def test_negotiate_states_the_clients_version() -> None:
    assert ntlmssp.message(b.ntlm_negotiate((6, 1, 7601))) == {"ntlm_message": "negotiate", "ntlm_version": "6.1.7601"}


def test_a_negotiate_without_the_version_flag_says_no_version() -> None:
    assert ntlmssp.message(b.ntlm_negotiate(None)) == {"ntlm_message": "negotiate"}


def test_challenge_names_the_server_and_its_clock() -> None:
    fields = ntlmssp.message(b.ntlm_challenge())
    assert fields == {
        "ntlm_message": "challenge", "target_name": "FILESRV", "ntlm_version": "10.0.20348",
        "nb_domain": "CORP", "nb_computer": "FILESRV", "dns_domain": "corp.example",
        "dns_computer": "filesrv.corp.example", "dns_tree": "corp.example",
        "ntlm_timestamp": 1709542800.0,  # MsvAvTimestamp, FILETIME (§2.2.2.1) as Unix time
    }


def test_authenticate_keeps_the_workstation_and_never_the_user_or_responses() -> None:
    raw = b.ntlm_authenticate(user="alice.smith")
    fields = ntlmssp.message(raw)
    assert fields == {"ntlm_message": "authenticate", "user_present": True, "anonymous": False, "domain": "CORP",
                      "workstation": "PC-0042", "ntlm_version": "10.0.22631"}
    assert "alice" not in repr(fields).lower()


def test_an_anonymous_authenticate_is_said_so() -> None:
    # §3.2.5.1.2: an anonymous client sends an empty user name and an empty NT response
    fields = ntlmssp.message(b.ntlm_authenticate(user="", domain="", nt_response=b""))
    assert fields["anonymous"] is True and fields["user_present"] is False
    flagged = ntlmssp.message(b.ntlm_authenticate(flags=0xE2888A15))  # NTLMSSP_NEGOTIATE_ANONYMOUS
    assert flagged["anonymous"] is True


def test_spnego_wraps_are_opened_both_ways() -> None:
    init = ntlmssp.security_blob(b.spnego_init(b.ntlm_negotiate(), (b.MSKRB5_OID, b.KRB5_OID, b.NTLM_OID)))
    assert init["auth_mechs"] == ["ms-kerberos", "kerberos", "ntlmssp"]
    assert init["auth_mech"] == "ntlmssp" and init["ntlm_version"] == "10.0.19041"
    resp = ntlmssp.security_blob(b.spnego_resp(b.ntlm_challenge()))
    assert resp["nb_computer"] == "FILESRV" and "auth_mechs" not in resp


def test_a_kerberos_mech_token_is_named_and_not_read() -> None:
    ap_req = b.tlv(0x60, b.tlv(0x06, b.KRB5_OID) + b"\x01\x00" + b"\x6e\x03\x02\x01\x05")
    assert ntlmssp.security_blob(b.spnego_init(ap_req, (b.KRB5_OID,))) == {"auth_mechs": ["kerberos"],
                                                                           "auth_mech": "kerberos"}


def test_a_bare_ntlmssp_blob_and_an_empty_one() -> None:
    assert ntlmssp.security_blob(b.ntlm_negotiate())["auth_mech"] == "ntlmssp"
    assert ntlmssp.security_blob(b"") == {}


@pytest.mark.parametrize("raw", [
    b"NTLMSSP\0",  # no MessageType
    b"NTLMSSP\0\x09\0\0\0" + b"\0" * 40,  # unknown MessageType
    b.ntlm_challenge()[:30],  # truncated fixed part
    b.ntlm_challenge()[:56] + b"F",  # TargetName past the end
    b"NOTNTLM\0\x01\0\0\0",
])
def test_malformed_messages_are_parse_errors(raw: bytes) -> None:
    with pytest.raises(ParseError):
        ntlmssp.message(raw)


def test_an_av_pair_overrunning_target_info_is_a_parse_error() -> None:
    raw = bytearray(b.ntlm_challenge())
    info_at = 56 + len("FILESRV".encode("utf-16-le"))
    raw[info_at + 2 : info_at + 4] = (200).to_bytes(2, "little")  # first AvLen far past TargetInfo
    with pytest.raises(ParseError):
        ntlmssp.message(bytes(raw))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([b.ntlm_negotiate(), b.ntlm_challenge(), b.ntlm_authenticate(),
                        b.spnego_init(b.ntlm_negotiate()), b.spnego_resp(b.ntlm_challenge())]),
       st.lists(st.tuples(st.integers(0, 4096), st.integers(0, 255)), max_size=6), st.integers(0, 600))
def test_hostile_blobs_give_fields_or_a_parse_error(raw: bytes, edits: list[tuple[int, int]], cut: int) -> None:
    from tests.dissect.hostile import mutate
    try:
        fields = ntlmssp.security_blob(mutate(raw, edits, cut))
    except ParseError:
        return
    assert isinstance(fields, dict)
