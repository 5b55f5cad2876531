"""SMB2/3 messages ([MS-SMB2] §2.2) built from the specification: NEGOTIATE both ways with SMB 3.1.1 contexts,
SESSION_SETUP with SPNEGO/NTLMSSP, ERROR responses, TREE_CONNECT share names, compounded messages."""

from __future__ import annotations

import struct

import pytest

from iotwarden.dissect import smb2
from iotwarden.errors import ParseError
from tests.dissect import smbbuild as b


@pytest.mark.parametrize(("revision", "name"), [(0x0202, "2.0.2"), (0x0210, "2.1"), (0x0300, "3.0"),
                                                (0x0302, "3.0.2"), (0x0311, "3.1.1"), (0x02FF, "2.???")])
def test_dialect_names_are_the_specifications(revision: int, name: str) -> None:
    assert smb2.dialect_name(revision) == name


def test_negotiate_request_offers_dialects_guid_and_ciphers() -> None:
    ((kind, fields),) = smb2.parse(b.negotiate_request())
    assert kind == "negotiate_request"
    assert fields == {"smb1": False, "status": None, "dialects": ["2.0.2", "2.1", "3.0", "3.0.2", "3.1.1"],
                      "smb1_offered": False, "client_guid": str(b.CLIENT_GUID), "signing_required": False,
                      "capabilities": ["dfs", "leasing", "large_mtu", "multi_channel", "persistent_handles",
                                       "directory_leasing", "encryption"],
                      "ciphers": ["AES-128-GCM", "AES-128-CCM"], "signing_algorithms": ["AES-CMAC", "HMAC-SHA256"]}


def test_a_request_without_3_1_1_has_no_contexts() -> None:
    ((_, fields),) = smb2.parse(b.negotiate_request((0x0202, 0x0210)))
    assert fields["dialects"] == ["2.0.2", "2.1"] and "ciphers" not in fields


def test_negotiate_response_states_the_servers_choice() -> None:
    blob = b.spnego_init(b"", (b.MSKRB5_OID, b.KRB5_OID, b.NTLM_OID))
    ((kind, fields),) = smb2.parse(b.negotiate_response(blob=blob))
    assert kind == "negotiate_response"
    assert fields["dialect"] == "3.1.1" and fields["server_guid"] == str(b.SERVER_GUID)
    assert fields["signing_enabled"] and fields["signing_required"]
    assert fields["cipher"] == "AES-128-GCM" and fields["status"] == "0x00000000"
    assert fields["auth_mechs"] == ["ms-kerberos", "kerberos", "ntlmssp"]
    assert fields["capabilities"] == ["dfs", "leasing", "large_mtu", "multi_channel", "directory_leasing"]


def test_session_setup_both_ways() -> None:
    ((kind, request),) = smb2.parse(b.session_setup_request(b.spnego_init(b.ntlm_negotiate())))
    assert kind == "session_setup_request" and request["ntlm_version"] == "10.0.19041"
    ((kind, answer),) = smb2.parse(b.session_setup_response(b.spnego_resp(b.ntlm_challenge())))
    assert kind == "session_setup_response" and answer["status"] == "0xc0000016"
    assert answer["dns_computer"] == "filesrv.corp.example" and answer["guest"] is False
    ((_, done),) = smb2.parse(b.session_setup_response(b"", status=0, session_flags=0x0003))
    assert done["guest"] and done["null_session"] and not done["encrypt_data"]


def test_an_error_response_says_its_status_only() -> None:
    assert smb2.parse(b.error_response(1, 0xC000006D)) == [("session_setup_response",
                                                            {"smb1": False, "status": "0xc000006d"})]
    # a CREATE's error: no command read here, only that the flow speaks SMB2
    assert smb2.parse(b.error_response(5, 0xC0000034)) == [("other", {"smb1": False, "status": "0xc0000034"})]


def test_tree_connect_keeps_system_share_names_only() -> None:
    assert smb2.parse(b.tree_connect("\\\\srv\\IPC$"))[0][1]["share"] == "IPC$"
    (_, fields), = smb2.parse(b.tree_connect("\\\\nas01\\alice-photos"))
    assert fields == {"smb1": False, "status": None, "share": None, "share_class": "user"}


def test_compounded_messages_are_each_read() -> None:
    first = b.session_setup_request(b.spnego_init(b.ntlm_negotiate()))
    first += b"\0" * (-len(first) % 8)
    first = first[:20] + struct.pack("<I", len(first)) + first[24:]  # NextCommand, §3.2.4.1.4
    kinds = [k for k, _ in smb2.parse(first + b.tree_connect("\\\\srv\\IPC$"))]
    assert kinds == ["session_setup_request", "tree_connect"]


def test_other_commands_say_the_flow_speaks_smb2() -> None:
    assert smb2.parse(b.smb2(8, b"\x31\0" + b"\0" * 47)) == [("other", {"smb1": False, "status": None})]


@pytest.mark.parametrize("raw", [
    b.negotiate_request()[:70],  # truncated body
    b"\xfeSMB" + b"\0" * 60,  # StructureSize 0
    b.smb2(0, b"\x24\0\xff\0" + b"\0" * 32),  # 255 dialects announced, none there
    b.smb2(1, struct.pack("<HBBIIHHQ", 25, 0, 1, 1, 0, 88, 400, 0) + b"x"),  # security buffer past the end
    b.negotiate_request()[:20] + struct.pack("<I", 12) + b.negotiate_request()[24:],  # NextCommand inside header
])
def test_malformed_messages_are_parse_errors(raw: bytes) -> None:
    with pytest.raises(ParseError):
        smb2.parse(raw)
