"""SMB1 messages ([MS-CIFS] §2.2, [MS-SMB] §2.2) built from the specification: NEGOTIATE both ways (extended
security or not, no dialect chosen), SESSION_SETUP_ANDX of both forms with NativeOS/NativeLanMan, an AndX chain
to TREE_CONNECT_ANDX, and what is never kept (account names, passwords)."""

from __future__ import annotations

import pytest

from iotwarden.dissect import smb1
from iotwarden.errors import ParseError
from tests.dissect import smbbuild as b


def test_negotiate_request_lists_dialects_and_whether_smb1_is_offered() -> None:
    ((kind, fields),) = smb1.parse(b.smb1_negotiate_request(), None)
    assert kind == "negotiate_request"
    assert fields == {"smb1": True, "status": None, "dialects": ["NT LM 0.12", "SMB 2.002", "SMB 2.???"],
                      "smb1_offered": True}
    # Windows with the SMB1 client removed still negotiates in an SMB1 message, SMB2 dialects only
    ((_, smb2_only),) = smb1.parse(b.smb1_negotiate_request(("SMB 2.002", "SMB 2.???")), None)
    assert smb2_only["smb1_offered"] is False


def test_negotiate_response_with_extended_security() -> None:
    blob = b.spnego_init(b"", (b.NTLM_OID,))
    ((kind, fields),) = smb1.parse(b.smb1_negotiate_response(0, blob), ["NT LM 0.12", "SMB 2.002"])
    assert kind == "negotiate_response"
    assert fields == {"smb1": True, "status": "0x00000000", "dialect_index": 0, "dialect": "NT LM 0.12",
                      "smb1_selected": True, "dialect_level": "nt_lm", "signing_enabled": True,
                      "signing_required": True, "extended_security": True, "server_guid": str(b.SERVER_GUID),
                      "auth_mechs": ["ntlmssp"]}


def test_negotiate_response_without_extended_security_names_domain_and_server() -> None:
    ((_, fields),) = smb1.parse(b.smb1_negotiate_response(extended=False), None)
    assert fields["primary_domain"] == "WORKGROUP" and fields["server_name"] == "NAS01"
    # its request not seen: the NT LAN Manager form answers only "NT LM 0.12" ([MS-CIFS] §2.2.4.52.2)
    assert fields["dialect"] == "NT LM 0.12" and "server_guid" not in fields


def test_no_dialect_chosen_is_no_smb1() -> None:
    raw = b.smb1(0x72, b"\xff\xff", b"", response=True)  # DialectIndex 0xFFFF, §2.2.4.52.2
    ((_, fields),) = smb1.parse(raw, ["NT LM 0.12"])
    assert fields["smb1_selected"] is False and fields["dialect"] is None


@pytest.mark.parametrize(("words", "dialect", "level"), [(17, "NT LM 0.12", "nt_lm"), (13, None, "lanman"),
                                                        (1, None, "core")])
def test_smb1_negotiate_answer_alone_says_what_its_form_tells(words: int, dialect: str | None, level: str) -> None:
    """[MS-CIFS] §2.2.4.52.2: the NT LAN Manager form (17 words) answers only "NT LM 0.12"; a LAN Manager one (13)
    any of LANMAN1.0 to LANMAN2.1, the core one (1) the Core Protocol: the dialect is named only in the first case."""
    raw = b.smb1(0x72, (2).to_bytes(2, "little") + bytes(2 * words - 2), b"", response=True)
    ((_, fields),) = smb1.parse(raw, None)
    assert (fields["dialect"], fields["dialect_level"]) == (dialect, level)
    ((_, seen),) = smb1.parse(raw, ["PC NETWORK PROGRAM 1.0", "LANMAN1.0", "LM1.2X002"])
    assert (seen["dialect"], seen["dialect_level"]) == ("LM1.2X002", level)  # the request says which it was


def test_session_setup_with_ntlmssp_and_native_strings() -> None:
    ((kind, request),) = smb1.parse(b.smb1_session_setup_request(b.spnego_init(b.ntlm_negotiate((5, 1, 2600)))), None)
    assert kind == "session_setup_request"
    assert request["native_os"] == "Windows 5.1" and request["native_lanman"] == "Windows 2000 LAN Manager"
    assert request["ntlm_version"] == "5.1.2600"
    ((kind, answer),) = smb1.parse(b.smb1_session_setup_response(b.spnego_resp(b.ntlm_challenge())), None)
    assert kind == "session_setup_response" and answer["status"] == "0xc0000016"
    assert (answer["native_os"], answer["native_lanman"], answer["primary_domain"]) == ("Unix", "Samba 3.6.25",
                                                                                        "WORKGROUP")
    assert answer["nb_computer"] == "FILESRV" and answer["guest"] is False
    ((_, guest),) = smb1.parse(b.smb1_session_setup_response(b"", status=0, action=1), None)
    assert guest["guest"] is True


def test_plain_session_setup_keeps_no_account_and_follows_the_andx_chain() -> None:
    raw = b.smb1_session_setup_plain("j.doe")
    parsed = smb1.parse(raw, None)
    assert [k for k, _ in parsed] == ["session_setup_request", "tree_connect"]
    setup, tree = parsed[0][1], parsed[1][1]
    assert setup["account_present"] is True and setup["anonymous"] is False
    assert setup["native_os"] == "Windows 4.0"
    assert "j.doe" not in repr(parsed) and "\\x99" not in repr(parsed)
    assert tree == {"smb1": True, "status": None, "share": "IPC$", "share_class": "ipc", "service": "?????"}


def test_tree_connect_to_a_users_share_keeps_no_name() -> None:
    ((_, fields),) = smb1.parse(b.smb1_tree_connect("\\\\NAS01\\Maria Garcia"), None)
    assert fields["share"] is None and fields["share_class"] == "user"


def test_an_error_response_and_another_command() -> None:
    assert smb1.parse(b.smb1(0x73, b"", b"", response=True, status=0xC000006D), None) == [
        ("session_setup_response", {"smb1": True, "status": "0xc000006d"})]
    assert smb1.parse(b.smb1(0x2B, b"\x01\x00", b"ping"), None) == [("other", {"smb1": True, "status": None})]


@pytest.mark.parametrize("raw", [
    b"\xffSMB" + b"\0" * 20,  # truncated header
    b.smb1(0x72, b"", b"\x01NT LM 0.12\0"),  # dialect without its 0x02 buffer format
    b.smb1_negotiate_request()[:33] + b"\x40",  # WordCount past the end
    b.smb1(0x73, b"\0" * 10, b""),  # five-word SESSION_SETUP_ANDX request
    b.smb1(0x72, b"", b"", response=True),  # NEGOTIATE response without DialectIndex
])
def test_malformed_messages_are_parse_errors(raw: bytes) -> None:
    with pytest.raises(ParseError):
        smb1.parse(raw, None)
