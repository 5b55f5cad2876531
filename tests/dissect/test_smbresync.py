"""SMB after a lost TCP segment (dissect/smbresync.py, dissect/smb.py ``gap``): the direction finds its next message,
at a segment start or, inside file data, only where a header validates fully; the session's trees, pipes and waiting
requests survive; a pipe's DCE/RPC call with a fragment in the hole is dropped, not misparsed; junk after a hole never
raises and never makes a message."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.detect.remote_exec import REMOTE_EXEC, STAGING, RemoteExecDetector
from iotwarden.dissect import smb, smbresync
from iotwarden.dissect.smb import SmbDissector
from iotwarden.hooks import Context
from iotwarden.lab import smb1wire as m
from iotwarden.lab import smbwire as w
from iotwarden.model import Observation
from tests.dissect import dcerpc_pdus as rpc
from tests.dissect import gapfeed
from tests.dissect import smbbuild as b
from tests.dissect import test_smb1files as s1
from tests.dissect import test_smb2files as s
from tests.dissect.gapfeed import GAP, Chunk, lose, segments


def converse(chunks: Iterable[Chunk], state: dict[str, Any] | None = None, port: int = 445) -> list[Observation]:
    """tests/dissect/test_smb2files.py's ``converse`` (to ``port``), a lost segment told through ``gap`` as the engine
    does (tests/dissect/gapfeed.py)."""
    return gapfeed.converse(SmbDissector(), chunks, state, port)


def alerts(obs: list[Observation]) -> list[tuple[str, Any]]:
    det, ctx = RemoteExecDetector(), Context()
    for o in obs:
        det.on_observation(ctx, o)
    return sorted((a.id, a.evidence.get("operation") or a.evidence.get("file")) for a in ctx.alerts)


PSEXEC_ALERTS = sorted([(STAGING, "PSEXESVC.exe"), (REMOTE_EXEC, "CreateServiceW")])


def _index(chunks: list[Chunk], data: bytes) -> int:
    return next(i for i, (_, seg) in enumerate(chunks) if seg == data)


def test_a_whole_message_lost_between_messages_costs_only_itself() -> None:
    """(a) The binary's CLOSE request lost: the next segment begins a message; trees, the pipe and the calls go on."""
    whole = s.psexec()
    chunks = segments(whole)
    close = w.direct(w.close(90, s.FILE_ID, s.ADMIN, s.SID))
    state: dict[str, Any] = {}
    obs = converse(lose(chunks, _index(chunks, close)), state)
    assert s.rpc_of(obs) == s.SVCCTL_CALLS
    assert alerts(obs) == PSEXEC_ALERTS
    assert state["resynced"] == 1 and not state.get("closed_c2s")
    # the answer to the lost request arrives and is matched to nothing; the other direction lost nothing
    assert [o.kind for o in obs if o.proto == "smb"] == [o.kind for o in s.converse(whole) if o.proto == "smb"]


@pytest.mark.parametrize("where", [1, 300, 1500, 2170])
def test_a_segment_lost_inside_the_service_binarys_write_resyncs_at_the_next_write_inside_data(where: int) -> None:
    """(b) 3 MiB of PSEXESVC.exe in 1 MiB WRITEs cut into 1448-byte segments (each next WRITE header begins inside a
    segment): a segment of data lost, the rest of its WRITE is data; the next WRITE is found where its header
    validates fully, skipped on its header, and svcctl after the copy is read."""
    chunks: list[Chunk] = list(s.big_copy_then_psexec("write", 3 << 20))
    lost = 8 + where  # past the logon, tree and open: the copy's segments
    assert chunks[lost][0] and chunks[lost][1] == b"\x90" * 1448
    state: dict[str, Any] = {}
    obs = converse(lose(chunks, lost), state)
    assert alerts(obs) == PSEXEC_ALERTS
    assert s.rpc_of(obs) == s.SVCCTL_CALLS and state["resynced"] == 1


def copy_then_psexec(writes: int, size: int) -> list[Chunk]:
    """PsExec whose binary goes in ``writes`` WRITEs of ``size`` bytes, the client's bytes of the copy cut into
    1448-byte segments as one stream (so each next WRITE's header begins inside a segment), then svcctl."""
    chunks: list[Chunk] = list(s.logon() + s.tree(4, "\\\\SRV\\ADMIN$", s.ADMIN, w.SHARE_DISK) + s.opened(
        5, "PSEXESVC.exe", s.ADMIN, s.FILE_ID, disposition=w.FILE_OVERWRITE_IF, action=w.FILE_CREATED))
    stream = b"".join(w.direct(w.write(6 + i, s.FILE_ID, b"\x90" * size, s.ADMIN, s.SID, offset=size * i))
                      for i in range(writes))
    chunks += [(True, stream[i : i + 1448]) for i in range(0, len(stream), 1448)]
    chunks += [(False, w.direct(w.write_response(6 + i, size, s.ADMIN, s.SID))) for i in range(writes)]
    return chunks + segments(s.svcctl_session(s.over_transceive(s.svcctl_pdus()))[4:])


@pytest.mark.parametrize(("writes", "size", "where"), [(4, 1 << 20, 100), (4, 1 << 20, 1000), (4, 1 << 20, 2800),
                                                      (40, 65536, 7), (40, 65536, 900), (40, 60000, 1500)])
def test_a_segment_lost_inside_a_write_finds_the_next_write_header_inside_a_segment(writes: int, size: int,
                                                                                   where: int) -> None:
    """(b) The hole inside a WRITE of the copy, the next WRITE header in the middle of a segment: found there by its
    full validation, that WRITE and the ones after it skipped on their headers, svcctl read."""
    chunks = copy_then_psexec(writes, size)
    lost = 8 + where
    assert chunks[lost][0] and chunks[lost][1] == b"\x90" * 1448
    state: dict[str, Any] = {}
    obs = converse(lose(chunks, lost), state)
    assert alerts(obs) == PSEXEC_ALERTS
    assert s.rpc_of(obs) == s.SVCCTL_CALLS and state["resynced"] == 1


def _svcctl_with_a_long_create(stub: int) -> list[tuple[bool, bytes]]:
    pdus = s.svcctl_pdus()
    pdus[2] = (rpc.request(0, 12, b"\x41" * stub, call_id=3), pdus[2][1])
    return s.svcctl_session(s.over_transceive(pdus))


def test_a_segment_lost_inside_an_svcctl_call_drops_that_call_and_reads_the_next() -> None:
    """(c) CreateServiceW's IOCTL spans three segments and the middle one is lost: that call is dropped (its answer
    names nothing: the request was never read), StartServiceW after it is whole and raises remote_exec."""
    whole = _svcctl_with_a_long_create(3000)
    chunks = segments(whole)
    create = next(i for i, (_, seg) in enumerate(chunks) if seg and b"\x41" * 1400 in seg)
    obs = converse(lose(chunks, create + 1))
    calls = [call for call in s.rpc_of(obs) if call[0] in ("request", "response")]
    assert calls == [("request", "10.0.0.1", "svcctl", "svcctl", "OpenSCManagerW", ()),
                     ("response", "10.0.0.2", "svcctl", "svcctl", "OpenSCManagerW", ()),
                     ("request", "10.0.0.1", "svcctl", "svcctl", "StartServiceW", ()),
                     ("response", "10.0.0.2", "svcctl", "svcctl", "StartServiceW", ())]
    assert alerts(obs) == [(REMOTE_EXEC, "StartServiceW")]


def test_a_call_whose_middle_fragment_was_lost_is_dropped_not_counted_whole() -> None:
    """CreateServiceW in three DCE/RPC fragments, each in its own pipe WRITE; the middle WRITE lost: the last fragment
    completes no call (its first was forgotten at the gap), the next call is read."""
    first = rpc.request(0, 12, b"\x41" * 100, call_id=3, flags=0x01)
    middle = rpc.request(0, 12, b"\x42" * 100, call_id=3, flags=0x00)
    last = rpc.request(0, 12, b"\x43" * 100, call_id=3, flags=0x02)
    calls = s.svcctl_pdus()
    chunks: list[Chunk] = list(s.svcctl_session(s.over_write_read(calls[:2])))
    lost = w.direct(w.write(30, s.PIPE_ID, middle, s.IPC, s.SID))
    for mid, frag in ((28, first), (30, middle), (32, last)):
        chunks += [(True, w.direct(w.write(mid, s.PIPE_ID, frag, s.IPC, s.SID))),
                   (False, w.direct(w.write_response(mid, len(frag), s.IPC, s.SID)))]
    chunks += s.over_write_read(calls[3:], mid=40)
    got = [c for c in s.rpc_of(converse(lose(chunks, _index(chunks, lost)))) if c[0] == "request"]
    assert [c[4] for c in got] == ["OpenSCManagerW", "StartServiceW"]


def test_psexec_over_smb1_with_a_lost_segment_between_messages_raises_remote_exec() -> None:
    chunks = segments(s1.psexec_session(blocks=4, size=4000))
    lost = next(i for i, (up, seg) in enumerate(chunks) if up and seg and seg[8] == 0x04)  # the binary's CLOSE
    obs = converse(lose(chunks, lost))
    assert alerts(obs) == PSEXEC_ALERTS


def test_psexec_over_smb1_with_a_segment_lost_inside_a_write_andx_raises_remote_exec() -> None:
    chunks = segments(s1.psexec_session(blocks=4, size=4000))
    lost = next(i for i, (up, seg) in enumerate(chunks) if up and seg == b"\x90" * 1448)
    obs = converse(lose(chunks, lost))
    assert alerts(obs) == PSEXEC_ALERTS


def test_the_negotiated_sizes_bound_what_a_resync_accepts() -> None:
    """After NEGOTIATE (MaxWriteSize 8 MiB in smbbuild's response), a header claiming more is no message."""
    state: dict[str, Any] = {}
    converse(s.logon(), state)
    assert state["max_message"] == smbresync.negotiated_limit(b.negotiate_response())
    bogus = b"\x00" + (state["max_message"] + 1).to_bytes(3, "big") + w.write(9, s.FILE_ID, b"", 1, s.SID)[:66]
    real = w.direct(w.tree_connect(9, "\\\\SRV\\IPC$", s.SID))
    obs = converse([(True, GAP), (True, bogus), (True, real)], state)
    assert [o.kind for o in obs] == ["tree_connect"]


def test_past_max_resync_scan_bytes_without_a_message_the_direction_closes(monkeypatch: Any) -> None:
    monkeypatch.setattr(smb, "MAX_RESYNC_SCAN", 10_000)
    state: dict[str, Any] = {}
    converse(s.logon(), state)
    converse([(True, GAP), *[(True, b"\x90" * 1448)] * 6], state)
    assert "lost_c2s" in state and not state.get("closed_c2s")
    converse([(True, b"\x90" * 1448)] * 2, state)
    assert state["closed_c2s"] and not state.get("done")
    assert [o.kind for o in converse([(False, w.direct(w.tree_connect_response(9, 1, s.SID, 2)))], state)] == []


def test_a_gap_keeps_the_session_and_the_other_direction() -> None:
    state: dict[str, Any] = {}
    converse(s.svcctl_session([]), state)
    SmbDissector().gap(state, True)
    assert not state.get("closed_c2s") and not state.get("done") and state["smb2"].pipes
    assert converse([(False, b.direct(b.negotiate_response()))], state)[0].kind == "negotiate_response"


@pytest.mark.parametrize(("strict", "body_size", "ok"), [(False, 49, True), (False, 50, True), (True, 49, True),
                                                          (True, 50, False)])
def test_inside_data_a_header_counts_only_with_its_commands_body_structure_size(strict: bool, body_size: int,
                                                                                ok: bool) -> None:
    message = bytearray(w.direct(w.write(9, s.FILE_ID, b"x", 1, s.SID)))
    message[4 + 64 : 4 + 66] = body_size.to_bytes(2, "little")
    assert smbresync.message_at(message, 0, nbss=False, to_server=True, limit=1 << 20, strict=strict) is ok
    # a request's header seen in the server's direction is never one
    assert not smbresync.message_at(message, 0, nbss=False, to_server=False, limit=1 << 20, strict=False)


def test_a_fake_header_inside_data_is_not_taken_and_the_real_one_after_it_is() -> None:
    """File data that holds \\x00..\\xfeSMB with a wrong body StructureSize, then a real TREE_CONNECT, in one segment
    after the hole."""
    fake = bytearray(w.direct(w.write(9, s.FILE_ID, b"x", 1, s.SID)))
    fake[4 + 64] = 50
    real = w.direct(w.tree_connect(10, "\\\\SRV\\IPC$", s.SID))
    state: dict[str, Any] = {}
    converse(s.logon(), state)
    obs = converse([(True, GAP), (True, b"\x90" * 100 + bytes(fake) + b"\x90" * 20 + real)], state)
    assert [o.kind for o in obs] == ["tree_connect"]


def test_a_header_cut_between_two_segments_after_a_hole_is_found() -> None:
    real = w.direct(w.tree_connect(10, "\\\\SRV\\IPC$", s.SID))
    for cut in (3, 6, 40, 69):
        state: dict[str, Any] = {}
        converse(s.logon(), state)
        data = b"\x90" * 50 + real
        obs = converse([(True, GAP), (True, data[: 50 + cut]), (True, data[50 + cut :])], state)
        assert [o.kind for o in obs] == ["tree_connect"], cut


def test_smb1_and_transform_headers_validate_fully() -> None:
    close = b.direct(m.message(m.close(s1.FILE_FID), mid=90, tid=s1.ADMIN))
    assert smbresync.message_at(close, 0, nbss=False, to_server=True, limit=1 << 20, strict=True)
    assert not smbresync.message_at(close, 0, nbss=False, to_server=False, limit=1 << 20, strict=True)
    cut = bytearray(close)
    cut[4 + 32] = 200  # WordCount past the message
    assert not smbresync.message_at(cut, 0, nbss=False, to_server=True, limit=1 << 20, strict=True)
    transform = b"\x00\x00\x00\x3c\xfdSMB" + bytes(32) + (8).to_bytes(4, "little") + b"\x00\x00\x01\x00" + bytes(8)
    assert smbresync.message_at(transform, 0, nbss=False, to_server=True, limit=1 << 20, strict=True)
    assert smbresync.message_at(transform[:20], 0, nbss=False, to_server=True, limit=1 << 20, strict=True) is None


@settings(max_examples=200)
@given(junk=st.lists(st.binary(min_size=1, max_size=3000), min_size=1, max_size=8), to_server=st.booleans())
def test_junk_after_a_gap_never_raises_nor_makes_a_message(junk: list[bytes], to_server: bool) -> None:
    """Whatever follows a hole: no exception, no Observation from it (junk holding no protocol id: any message a
    match could make would be one of the bytes), and a whole message after it at a segment start is read."""
    junk = [j.replace(b"SMB", b"SMb") for j in junk]
    state: dict[str, Any] = {}
    converse(s.svcctl_session([]), state)
    assert converse([(to_server, GAP), *((to_server, j) for j in junk)], state) == []
    if state.get("closed_" + ("c2s" if to_server else "s2c")):
        return
    message = w.direct(w.tree_connect(9, "\\\\SRV\\IPC$", s.SID)) if to_server else \
        w.direct(w.tree_connect_response(9, 3, s.SID, w.SHARE_PIPE))
    made = converse([(to_server, message)], state)
    assert [o.kind for o in made] == (["tree_connect"] if to_server else [])
    assert state["smb2"].pipes


def _chunks_as_given(chunks: list[tuple[bool, bytes]]) -> list[Chunk]:
    return [(up, data) for up, data in chunks]


@settings(max_examples=100)
@given(where=st.integers(0, 10_000), size=st.integers(40, 3000))
def test_any_lost_segment_of_psexec_keeps_the_contract(where: int, size: int) -> None:
    """PsExec cut into segments of any size, any one lost: no exception, every request read names what it was sent
    as, and the svcctl calls whose segments all arrived are read."""
    chunks = segments(_svcctl_with_a_long_create(2000), size)
    where %= len(chunks)
    obs = converse(lose(chunks, where))
    sent = {"OpenSCManagerW", "CreateServiceW", "StartServiceW"}
    assert {c[4] for c in s.rpc_of(obs) if c[0] == "request"} <= sent


def test_a_lost_answer_is_no_refusal() -> None:
    """CreateServiceW's answer lost (a hole in the server's direction): no fault or refusal is made of its absence,
    the call stays a request that raised remote_exec, and StartServiceW's answer after it is read."""
    whole = s.svcctl_session(s.over_transceive(s.svcctl_pdus()))
    chunks = segments(whole)
    answer = w.direct(w.transceive_response(22, s.PIPE_ID, s.svcctl_pdus()[2][1], s.IPC, s.SID))
    obs = converse(lose(chunks, _index(chunks, answer)))
    got = [c for c in s.rpc_of(obs) if c[0] in ("request", "response", "fault")]
    assert got == [c for c in s.SVCCTL_CALLS if c[0] == "request" or (c[0] == "response" and c[4] != "CreateServiceW")]
    assert not [o for o in obs if o.proto == "dcerpc" and o.kind == "fault"]
    assert alerts(obs) == [(REMOTE_EXEC, "CreateServiceW")]


def test_a_super_packet_after_a_hole_is_read_whole_whatever_its_size() -> None:
    """One 200 KiB delivery (GRO/TSO) after the hole: the rest of the lost WRITE, a TREE_CONNECT, a 128 KiB WRITE
    (skipped on its header) and a CLOSE; more than the buffer's bound, read as if it came in segments."""
    state: dict[str, Any] = {}
    converse(s.logon() + s.tree(4, "\\\\SRV\\ADMIN$", s.ADMIN, w.SHARE_DISK) + s.opened(
        5, "PSEXESVC.exe", s.ADMIN, s.FILE_ID, disposition=w.FILE_OVERWRITE_IF, action=w.FILE_CREATED), state)
    data = (b"\x90" * 3000 + w.direct(w.tree_connect(7, "\\\\SRV\\IPC$", s.SID))
            + w.direct(w.write(8, s.FILE_ID, b"\x90" * (128 << 10), s.ADMIN, s.SID))
            + w.direct(w.close(9, s.FILE_ID, s.ADMIN, s.SID)))
    assert len(data) > SmbDissector.max_buffer
    before = state["messages_c2s"]
    obs = converse([(True, GAP), (True, data)], state)
    assert [o.kind for o in obs] == ["tree_connect"] and not state.get("closed_c2s") and not state.get("c2s")
    assert state["messages_c2s"] == before + 2  # and the CLOSE after the skipped WRITE


def test_psexec_over_smb1_on_netbios_139_with_a_segment_lost_inside_a_write_andx() -> None:
    """On tcp/139 (RFC 1002 §4.3.1 SESSION MESSAGE headers: a message under 64 KiB is framed as on Direct TCP) after
    the SESSION REQUEST: the hole inside the binary's WRITE_ANDX, svcctl after it read."""
    chunks: list[Chunk] = [(True, b.session_request("SRV", "HMI")), (False, b"\x82\0\0\0")]
    chunks += segments(s1.psexec_session(blocks=4, size=4000))
    lost = next(i for i, (up, seg) in enumerate(chunks) if up and seg == b"\x90" * 1448)
    state: dict[str, Any] = {}
    obs = converse(lose(chunks, lost), state, port=139)
    assert alerts(obs) == PSEXEC_ALERTS and state["resynced"] == 1
    assert obs[0].kind == "session_request"


def test_fake_headers_judged_after_a_hole_are_charged_against_max_followed_bytes(monkeypatch: Any) -> None:
    """Data holding a would-be header every 8 bytes (hostile): each position judged is charged as a header read
    (PEEK bytes), so the flow is left at MAX_FOLLOWED_BYTES (lowered here) however much of it follows."""
    monkeypatch.setattr(smb, "MAX_FOLLOWED_BYTES", 1 << 20)
    state: dict[str, Any] = {}
    converse(s.logon() + s.tree(4, "\\\\SRV\\ADMIN$", s.ADMIN, w.SHARE_DISK), state)
    fake = (b"\x00\x00\x00\x40\xfeSMB" * 200)[:1448]
    converse([(True, GAP), *[(True, fake)] * 100], state)
    assert state["done"] and state["parsed"] >= 1 << 20
    assert state["lost_c2s"] < 100 * 1448  # left before the data ended


@pytest.mark.parametrize("segment", [1, 7, 100, 1448, 65536])
def test_what_a_direction_keeps_while_it_looks_is_a_candidates_bytes_at_most(segment: int) -> None:
    """However the data after a hole is cut, the direction keeps only what a candidate still needs (the last 7 bytes
    of data that holds none; an SMB1 header's words and ByteCount at most) and the segment starts within it."""
    state: dict[str, Any] = {}
    converse(s.logon() + s.tree(4, "\\\\SRV\\ADMIN$", s.ADMIN, w.SHARE_DISK), state)
    close = b.direct(m.message(m.close(s1.FILE_FID), mid=90, tid=s1.ADMIN))
    data = (b"\x90" * 3000 + close[:30]) * 3 + b"\x90" * 3000 + close[:38]  # SMB1 headers cut short, one at the end
    kept = []
    converse([(True, GAP)], state)
    for i in range(0, len(data), segment):
        converse([(True, data[i : i + segment])], state)
        kept.append((len(state.get("c2s", b"")), len(state.get("starts_c2s", []))))
    assert max(k for k, _ in kept) <= 4 + 32 + 3 + 510 and max(n for _, n in kept) <= 4 + 32 + 3 + 510
    assert kept[-1][0] == 38  # the last header waits for its WordCount and ByteCount


@pytest.mark.parametrize("fake", ["frames", "parses_not"])
def test_a_false_match_at_a_segment_start_resumes_the_search(fake: str) -> None:
    """A segment after the hole begins with what looks like a message: an ECHO followed by bytes that frame nothing, or
    a TREE_CONNECT whose path points outside it. The direction is not closed: the search resumes past it and the real
    TREE_CONNECT after it is read (RESYNC_CONFIRM), the false match counted."""
    echo = w.direct(w.header(0x000D, 30, session_id=s.SID) + b"\x04\x00\x00\x00")
    bogus = bytearray(w.direct(w.tree_connect(31, "\\\\SRV\\IPC$", s.SID)))
    bogus[4 + 64 + 4 : 4 + 64 + 6] = (0xFFF0).to_bytes(2, "little")  # PathOffset past the message
    head = echo + b"\x90" * 40 if fake == "frames" else bytes(bogus)
    real = w.direct(w.tree_connect(32, "\\\\SRV\\IPC$", s.SID))
    state: dict[str, Any] = {}
    converse(s.logon(), state)
    obs = converse([(True, GAP), (True, head + b"\x90" * 300 + real)], state)
    assert [o.kind for o in obs] == ["tree_connect"] and obs[0].fields["share"] == "IPC$"
    assert state["false_resyncs"] == 1 and not state.get("closed_c2s")
    converse([(True, w.direct(w.tree_connect(33, "\\\\SRV\\C$", s.SID)))], state)
    assert "fresh_c2s" not in state
