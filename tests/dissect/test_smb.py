"""SMB dissector end to end: the real SMB1 sessions of the ics_iti captures as tshark reads them, an SMB2/3
session built from [MS-SMB2] on tcp/445, the NetBIOS session service on tcp/139 (RFC 1002 §4.3), SMB3
encryption ending a direction, skipped bulk messages, the limits, refusals, and the contract on hostile input."""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect import default_dissectors
from iotwarden.dissect.base import CONFIRMED_STATE_KEY, Packet
from iotwarden.dissect.smb import MAX_MESSAGE, MAX_MESSAGES, SmbDissector, session_names
from iotwarden.dissect.streambuf import PartialParse
from iotwarden.engine.core import Engine, EngineConfig
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from iotwarden.sources.capfile import read_capture
from tests.conftest import shared
from tests.dissect import smbbuild as b
from tests.dissect.hostile import TCPDUMP_CAPTURES, contract_call, feed_capture_any_port, mutate

ICS = ("pcaps", "ics_iti", "pcaps")


def engine_observations(*parts: str) -> list[Observation]:
    engine = Engine(default_dissectors(), EngineConfig())
    out: list[Observation] = []
    for batch in read_capture(shared(*ICS, *parts), batch_size=65536):
        out += engine.process(batch).observations
    out += engine.flush().observations
    return [o for o in out if o.proto == "smb"]


def converse(chunks: Iterable[tuple[bool, bytes]], port: int = 445,
             state: dict[str, Any] | None = None) -> list[Observation]:
    """Feed (to_server, bytes) of one flow between 10.0.0.1:50000 and 10.0.0.2:``port``, as the engine would."""
    d = SmbDissector()
    state = {} if state is None else state
    out: list[Observation] = []
    for to_server, data in chunks:
        if state.get("done"):
            break
        src, dst = (("10.0.0.1", 50000), ("10.0.0.2", port)) if to_server else (("10.0.0.2", port), ("10.0.0.1", 50000))
        pkt = Packet(ts=1.0, payload=data, src_ip=src[0], src_port=src[1], dst_ip=dst[0], dst_port=dst[1],
                     ip_proto=6, to_server=to_server)
        out += contract_call(d, pkt, state)
    return out


def smb2_session() -> list[tuple[bool, bytes]]:
    """A Windows 11 client logging on to a Windows Server 2022 file server and opening IPC$ and a user share."""
    return [
        (True, b.direct(b.negotiate_request())),
        (False, b.direct(b.negotiate_response(blob=b.spnego_init(b"", (b.MSKRB5_OID, b.KRB5_OID, b.NTLM_OID))))),
        (True, b.direct(b.session_setup_request(b.spnego_init(b.ntlm_negotiate((10, 0, 22631)))))),
        (False, b.direct(b.session_setup_response(b.spnego_resp(b.ntlm_challenge())))),
        (True, b.direct(b.session_setup_request(b.spnego_resp(b.ntlm_authenticate(user="alice.smith"), 1)))),
        (False, b.direct(b.session_setup_response(b"", status=0))),
        (True, b.direct(b.tree_connect("\\\\filesrv\\IPC$"), b.tree_connect("\\\\filesrv\\alice.smith"))),
    ]


def _comparable(obs: list[Observation]) -> list[tuple[Any, ...]]:
    return [(o.kind, o.src_ip, o.dst_ip, repr(o.fields)) for o in obs]


# ---------------------------------------------------------------- real captures, checked against tshark 4.x
def test_mb2_panel_pc_and_its_server_as_tshark_reads_them() -> None:
    # tshark -Y "smb || ntlmssp" -e smb.native_os -e smb.native_lanman -e ntlmssp.version.* -e ntlmssp.auth.hostname
    obs = engine_observations("ModbusTCP", "mb2.pcap")
    kinds = [o.kind for o in obs]
    assert kinds.count("session_setup_request") == 4 and kinds.count("session_setup_response") == 4
    request = next(o for o in obs if o.kind == "session_request")
    assert request.fields == {"called_name": "IAS01", "called_suffix": 0x20, "calling_name": "PANELPC02",
                              "calling_suffix": 0}
    negotiate = next(o for o in obs if o.kind == "negotiate_response")
    assert negotiate.src_ip == "141.81.0.10" and negotiate.fields["dialect"] == "NT LM 0.12"
    assert negotiate.fields["smb1_selected"] is True
    client = [o.fields for o in obs if o.kind == "session_setup_request"]
    assert {f["native_os"] for f in client} == {"Windows 2002 Service Pack 3 2600"}  # frame 3704
    assert {f["native_lanman"] for f in client} == {"Windows 2002 5.1"}
    assert {f["ntlm_version"] for f in client} == {"5.1.2600"}
    auth = [f for f in client if f.get("ntlm_message") == "authenticate"]
    assert [(f["workstation"], f["user_present"], f["anonymous"]) for f in auth] == [
        ("PANELPC02", False, True), ("PANELPC02", True, False)]  # frames 3709 (User: \) and 3721
    challenge = next(o.fields for o in obs if o.kind == "session_setup_response" and "ntlm_version" in o.fields)
    assert challenge["ntlm_version"] == "6.0.6002" and challenge["target_name"] == "IAS01"  # frame 3705
    assert challenge["native_os"] == "Windows Server (R) 2008 Standard 6002 Service Pack 2"
    shares = [(o.fields["share"], o.fields["share_class"]) for o in obs if o.kind == "tree_connect"]
    assert shares == [("IPC$", "ipc"), (None, "user")]  # frame 3729's share name is a user's choice
    text = repr([o.fields for o in obs])
    assert "Administrator" not in text and "ARCHESTRA" not in text


def test_a_windows_2000_server_refusing_a_logon() -> None:
    obs = engine_observations("IEC61850", "Sample_File_MMS_and_GOOSE.pcap")
    answers = [o.fields for o in obs if o.kind == "session_setup_response"]
    assert {a["status"] for a in answers} == {"0xc0000016", "0xc000006d"}  # MORE_PROCESSING, LOGON_FAILURE
    challenge = next(a for a in answers if a["status"] == "0xc0000016")
    assert (challenge["native_os"], challenge["native_lanman"]) == ("Windows 5.0", "Windows 2000 LAN Manager")
    assert challenge["nb_computer"] == "SAS1" and "ntlm_version" not in challenge  # Windows 2000 sends none
    client = next(o.fields for o in obs if o.kind == "session_setup_request")
    assert client["native_os"] == "Windows Server 2003 R2 3790 Service Pack 2" and client["ntlm_version"] == "5.2.3790"


def test_a_capture_that_starts_after_the_negotiation_still_shows_smb1() -> None:
    obs = engine_observations("openics", "EIP-RemoteModeChangeAttempt.pcap")
    echo = [o for o in obs if o.kind == "message"]
    assert {(o.src_ip, o.fields["smb1"]) for o in echo} == {("192.168.10.105", True), ("192.168.10.23", True)}


# ---------------------------------------------------------------- built sessions
def test_an_smb2_session_on_445() -> None:
    obs = converse(smb2_session())
    assert [o.kind for o in obs] == ["negotiate_request", "negotiate_response", "session_setup_request",
                                     "session_setup_response", "session_setup_request", "session_setup_response",
                                     "tree_connect", "tree_connect"]
    assert obs[1].fields["dialect"] == "3.1.1" and obs[1].src_ip == "10.0.0.2"
    assert obs[3].fields["ntlm_version"] == "10.0.20348" and obs[4].fields["workstation"] == "PC-0042"
    assert [o.fields["share"] for o in obs[6:]] == ["IPC$", None]
    assert "alice" not in repr([o.fields for o in obs])


def test_the_session_is_read_the_same_however_its_bytes_are_cut() -> None:
    whole = converse(smb2_session())
    rng = random.Random(7)
    pieces: list[tuple[bool, bytes]] = []
    for to_server, data in smb2_session():
        at = 0
        while at < len(data):
            n = rng.randint(1, 7)
            pieces.append((to_server, data[at : at + n]))
            at += n
    assert _comparable(converse(pieces)) == _comparable(whole)
    merged = [(side, b"".join(d for s, d in smb2_session() if s == side)) for side in (True, False)]
    assert sorted(_comparable(converse(merged))) == sorted(_comparable(whole))


def test_nbss_on_139_with_a_session_request() -> None:
    obs = converse([(True, b.session_request("NAS01", "HMI-07")), (False, b"\x82\0\0\0"),
                    (True, b.nbss(b.smb1_negotiate_request())),
                    (False, b.nbss(b.smb1_negotiate_response(0, b.spnego_init(b"", (b.NTLM_OID,))))),
                    (True, b"\x85\0\0\0")], port=139)
    assert [o.kind for o in obs] == ["session_request", "negotiate_request", "negotiate_response"]
    assert obs[0].fields == {"called_name": "NAS01", "called_suffix": 0x20, "calling_name": "HMI-07",
                             "calling_suffix": 0}
    assert obs[2].fields["dialect"] == "NT LM 0.12"  # named from the request's list


def test_a_session_request_name_that_is_not_encoded_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        session_names(b"\x10" + b"A" * 40)


def test_smb3_encryption_ends_the_direction_and_confirms() -> None:
    state: dict[str, Any] = {}
    encrypted = b"\xfdSMB" + b"\0" * 48 + b"ciphertext"
    obs = converse([(True, b.direct(encrypted)), (True, b.direct(b.negotiate_request()))], state=state)
    assert obs == [] and state[CONFIRMED_STATE_KEY] and state["closed_c2s"]


def test_a_bulk_message_is_skipped_unread() -> None:
    read_response = b"\0" + (MAX_MESSAGE + 10).to_bytes(3, "big") + b"\xfeSMB" + b"\xaa" * (MAX_MESSAGE + 6)
    chunks = [(False, read_response[i : i + 1400]) for i in range(0, len(read_response), 1400)]
    obs = converse([(True, b.direct(b.negotiate_request())), *chunks,
                    (False, b.direct(b.negotiate_response()))])
    assert [o.kind for o in obs] == ["negotiate_request", "negotiate_response"]


def test_at_most_max_messages_per_direction() -> None:
    echo = b.direct(b.smb2(13, b"\x04\0\0\0"))
    state: dict[str, Any] = {}
    converse([(True, echo)] * (MAX_MESSAGES + 5), state=state)
    assert state["messages_c2s"] == MAX_MESSAGES and state["closed_c2s"] and not state.get("done")


def test_other_bytes_on_445_are_refused_at_once() -> None:
    d = SmbDissector()
    state: dict[str, Any] = {}
    pkt = Packet(ts=1.0, payload=b"\x16\x03\x01\x00\xa5", ip_proto=6, src_port=50000, dst_port=445)
    with pytest.raises(ParseError):
        d.feed(pkt, pkt.payload, state)
    assert state["done"] and not state.get(CONFIRMED_STATE_KEY)


def test_a_malformed_message_after_good_ones_costs_only_itself() -> None:
    bad = b"\xfeSMB" + b"\0" * 60
    data = b.direct(b.negotiate_request(), bad, b.tree_connect("\\\\s\\IPC$"))
    pkt = Packet(ts=1.0, payload=data, ip_proto=6, src_port=50000, dst_port=445)
    with pytest.raises(PartialParse) as raised:  # counted by the engine, which keeps what was made
        SmbDissector().feed(pkt, data, {})
    assert [o.kind for o in raised.value.made] == ["negotiate_request", "tree_connect"]


def test_a_gap_drops_only_the_partial_message_of_its_direction() -> None:
    """The direction looks for its next message (tests/dissect/test_smbresync.py); the other goes on."""
    d = SmbDissector()
    state: dict[str, Any] = {}
    converse([(True, b.direct(b.negotiate_request())[:30])], state=state)
    d.gap(state, True)
    assert not state.get("closed_c2s") and not state.get("done") and not state.get("c2s")
    assert converse([(False, b.direct(b.negotiate_response()))], state=state)[0].kind == "negotiate_response"
    assert converse([(True, b.direct(b.tree_connect("\\\\SRV\\IPC$")))], state=state)[0].kind == "tree_connect"


def test_probe_recognises_direct_tcp_smb() -> None:
    d = SmbDissector()
    assert d.probe(b.direct(b.negotiate_request()), True) and d.probe(b.direct(b.smb1_negotiate_request()), True)
    assert not d.probe(b"GET / HTTP/1.1\r\n", True) and not d.probe(b"\0\0\0\x10\xfdSMB", False)


# ---------------------------------------------------------------- hostile input
@pytest.mark.parametrize("name", TCPDUMP_CAPTURES)
def test_tcpdump_captures_any_port(name: str) -> None:
    from tests.dissect.hostile import TCPDUMP_DIR
    feed_capture_any_port(SmbDissector(), TCPDUMP_DIR / name)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 6), st.lists(st.tuples(st.integers(0, 4096), st.integers(0, 255)), max_size=6),
       st.integers(0, 2000))
def test_mutated_sessions_keep_the_contract(index: int, edits: list[tuple[int, int]], cut: int) -> None:
    session = smb2_session()
    to_server, data = session[index]
    session[index] = (to_server, mutate(data, edits, cut))
    converse(session)
    nbss = [(True, b.session_request("A", "B")), (True, mutate(b.nbss(b.smb1_session_setup_plain("x")), edits, cut))]
    converse(nbss, port=139)
