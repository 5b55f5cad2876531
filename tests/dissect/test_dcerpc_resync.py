"""DCE/RPC over TCP after a lost segment (dissect/dcerpc.py ``gap``, :func:`~iotwarden.dissect.dcerpc.resync`): the
next PDU is found at a segment start or, inside data, only where its header and body validate against the flow's
contexts; the presentation contexts survive; a call with a fragment in the hole is dropped; junk never raises nor
makes a PDU. End to end from captures with a lost segment: DCSync over ncacn_ip_tcp and PsExec over SMB2."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.detect.remote_exec import DCSYNC, REMOTE_EXEC, STAGING
from iotwarden.dissect import dcerpc
from iotwarden.dissect.base import Packet
from iotwarden.dissect.dcerpc import DcerpcDissector
from iotwarden.model import Observation
from tests.detect.runner import detect
from tests.dissect import gapfeed
from tests.dissect.dcerpc_pdus import DRSUAPI, bind, bind_ack, request, response, write_sessions
from tests.dissect.gapfeed import GAP, Chunk, lose, segments
from tests.dissect.test_smbresync import copy_then_psexec

WORKSTATION, DC1 = "10.2.0.50", "10.2.0.10"


def feed(chunks: list[Chunk], state: dict[str, Any] | None = None) -> list[Observation]:
    return gapfeed.converse(DcerpcDissector(), chunks, state, 49667)


def calls(obs: list[Observation]) -> list[tuple[str, Any, Any]]:
    return [(o.kind, o.fields.get("operation"), o.fields.get("fragments")) for o in obs
            if o.kind in ("request", "response")]


def interleaved(pairs: list[tuple[bytes, bytes]], size: int) -> list[Chunk]:
    """The client's PDUs as one stream cut into ``size``-byte segments (a PDU's header often inside a segment), each
    answer sent once the segment that ends its request was."""
    stream = b"".join(client for client, _ in pairs)
    ends, total = [], 0
    for client, _ in pairs:
        total += len(client)
        ends.append(total)
    out: list[Chunk] = []
    answered = 0
    for at in range(0, len(stream), size):
        out.append((True, stream[at : at + size]))
        while answered < len(pairs) and ends[answered] <= at + size:
            answer = pairs[answered][1]
            out += [(False, answer[i : i + size]) for i in range(0, len(answer), size)]
            answered += 1
    return out


def drsuapi(size: int = 1000) -> list[Chunk]:
    """A DCSync over ncacn_ip_tcp: bind drsuapi, DRSBind with a long stub, DRSCrackNames, DRSGetNCChanges
    ([MS-DRSR] §4.1.10, opnum 3), each answered at length."""
    return interleaved([(bind([(0, DRSUAPI, 4)]), bind_ack("49667", [0])),
                        (request(0, 0, b"\x10" * 3000, call_id=2), response(0, b"\x20" * 6000, call_id=2)),
                        (request(0, 12, b"\x30" * 5000, call_id=3), response(0, b"\x40" * 3000, call_id=3)),
                        (request(0, 3, b"\x50" * 400, call_id=4), response(0, b"\x60" * 9000, call_id=4))], size)


WHOLE = [("request", "DRSBind", 1), ("response", "DRSBind", None), ("request", "DRSCrackNames", 1),
         ("response", "DRSCrackNames", None), ("request", "DRSGetNCChanges", 1), ("response", "DRSGetNCChanges", None)]


def test_the_session_whole_names_every_call() -> None:
    assert sorted(calls(feed(drsuapi()))) == sorted(WHOLE)


@pytest.mark.parametrize("size", [1000, 1448, 777])
def test_a_segment_lost_inside_a_request_drops_that_call_and_finds_the_next_inside_a_segment(size: int) -> None:
    """The hole inside DRSCrackNames' request: the next request's header lies inside a segment and is taken only
    as a request on a bound context; DRSGetNCChanges is read, CrackNames' answer names the call it was made for."""
    chunks = drsuapi(size)
    where = next(i for i, (up, seg) in enumerate(chunks) if up and seg == b"\x30" * size)
    state: dict[str, Any] = {}
    got = calls(feed(lose(chunks, where), state))
    assert sorted(got) == sorted(c for c in WHOLE if c[1] != "DRSCrackNames")  # its answer names no call it saw
    assert "lost_c2s" not in state and state["contexts"] == {0: "drsuapi"}


@pytest.mark.parametrize("size", [1000, 1448])
def test_a_segment_lost_inside_an_answer_keeps_the_calls_after_it(size: int) -> None:
    chunks = drsuapi(size)
    where = next(i for i, (up, seg) in enumerate(chunks) if not up and seg and b"\x20" * size == seg)
    got = calls(feed(lose(chunks, where)))
    assert sorted(got) == sorted(c for c in WHOLE if c != ("response", "DRSBind", None))  # the answer the hole was in


def test_a_call_whose_middle_fragment_was_lost_is_dropped() -> None:
    chunks: list[Chunk] = [(True, bind([(0, DRSUAPI, 4)])), (False, bind_ack("49667", [0])),
                           (True, request(0, 0, b"\x10" * 100, call_id=2, flags=0x01)), (True, GAP),
                           (True, request(0, 0, b"\x10" * 100, call_id=2, flags=0x02)),
                           (True, request(0, 3, b"\x50" * 100, call_id=3))]
    assert calls(feed(chunks)) == [("request", "DRSGetNCChanges", 1)]


def test_a_fake_header_inside_data_naming_no_bound_context_is_not_taken() -> None:
    fake = request(7, 3, b"\x00" * 8, call_id=9)  # a request on context 7, never bound
    real = request(0, 3, b"\x50" * 100, call_id=4)
    state: dict[str, Any] = {}
    feed([(True, bind([(0, DRSUAPI, 4)])), (False, bind_ack("49667", [0]))], state)
    got = calls(feed([(True, GAP), (True, b"\x99" * 50 + fake + b"\x99" * 10 + real)], state))
    assert got == [("request", "DRSGetNCChanges", 1)]


def test_past_max_resync_scan_bytes_without_a_pdu_the_flow_is_done(monkeypatch: Any) -> None:
    monkeypatch.setattr(dcerpc, "MAX_RESYNC_SCAN", 5000)
    state: dict[str, Any] = {}
    feed([(True, bind([(0, DRSUAPI, 4)])), (True, GAP), *[(True, b"\x99" * 1000)] * 5], state)
    assert not state.get("done")
    feed([(True, b"\x99" * 1000)], state)
    assert state["done"]


def test_a_pipe_after_a_gap_reads_again_from_a_message_that_begins_a_pdu() -> None:
    """Over an SMB pipe the reader drops what does not begin a PDU (the rest of one cut by the hole)."""
    from iotwarden.dissect import smb2files

    pipe = smb2files.Pipe("svcctl")
    pkt = Packet(ts=1.0, payload=b"", src_ip="10.0.0.1", src_port=50000, dst_ip="10.0.0.2", dst_port=445,
                 ip_proto=6, to_server=True)
    out: list[Observation] = []
    smb2files.feed_pipe(pkt, pipe, bind([(0, DRSUAPI, 4)]), out)
    partial = request(0, 3, b"\x50" * 100, call_id=4)
    smb2files.feed_pipe(pkt, pipe, partial[:40], out)
    dcerpc.lose(pipe.rpc, True)
    smb2files.feed_pipe(pkt, pipe, partial[40:], out)
    assert [o.kind for o in out] == ["bind"] and pipe.rpc["lost_c2s"] == len(partial) - 40
    smb2files.feed_pipe(pkt, pipe, partial, out)
    assert [o.kind for o in out] == ["bind", "request"] and "lost_c2s" not in pipe.rpc


@settings(max_examples=200)
@given(junk=st.lists(st.binary(min_size=1, max_size=3000), min_size=1, max_size=6), to_server=st.booleans())
def test_junk_after_a_gap_never_raises_nor_makes_a_pdu(junk: list[bytes], to_server: bool) -> None:
    """Junk without a version byte 5 cannot hold a header: nothing is made of it, nothing raises, and a whole PDU at
    the next segment start is read."""
    junk = [j.replace(b"\x05", b"\x06") for j in junk]
    state: dict[str, Any] = {}
    feed([(True, bind([(0, DRSUAPI, 4)])), (False, bind_ack("49667", [0]))], state)
    assert feed([(to_server, GAP), *((to_server, j) for j in junk)], state) == []
    if state.get("done"):
        return
    pdu = request(0, 3, call_id=7) if to_server else response(0, call_id=7)
    assert [o.kind for o in feed([(to_server, pdu)], state)] == (["request"] if to_server else [])


@settings(max_examples=100)
@given(where=st.integers(0, 1000), size=st.integers(20, 3000))
def test_any_lost_segment_keeps_the_contract(where: int, size: int) -> None:
    """Segments of any size, any one lost: each request or answer made is one that was sent (its call id, opnum and
    kind), at most once each."""
    chunks = drsuapi(size)
    made = [(o.kind, o.fields["call_id"], o.fields.get("opnum")) for o in feed(lose(chunks, where % len(chunks)))
            if o.kind in ("request", "response")]
    sent = {("request", 2, 0), ("request", 3, 12), ("request", 4, 3), ("response", 2, None), ("response", 3, None),
            ("response", 4, None)}
    assert set(made) <= sent and len(made) == len(set(made))


def _lossy_pcap(path: Path, client: str, server: str, *, sport: int, chunks: list[Chunk],
                lost: int | frozenset[int]) -> None:
    """A capture of ``chunks`` in which segment ``lost`` (or each of them) never made it (its sequence numbers are a
    hole): the pcap record of that segment cut out of the file write_sessions wrote."""
    data = [(up, seg or b"") for up, seg in chunks]
    write_sessions(str(path), [(client, server, 50123, sport, data)])
    raw = path.read_bytes()
    cut = {3 + where for where in ((lost,) if isinstance(lost, int) else lost)}  # past the handshake
    at, record, kept = 24, 0, [raw[:24]]  # past the file header
    while at < len(raw):
        end = at + 16 + struct.unpack_from("=I", raw, at + 8)[0]
        if record not in cut:
            kept.append(raw[at:end])
        at, record = end, record + 1
    path.write_bytes(b"".join(kept))


def test_dcsync_with_a_lost_segment_end_to_end_from_packets(tmp_path: Path) -> None:
    chunks = drsuapi(1000)
    where = next(i for i, (up, seg) in enumerate(chunks) if up and seg and seg.startswith(b"\x30" * 16))
    path = tmp_path / "dcsync_loss.pcap"
    _lossy_pcap(path, WORKSTATION, DC1, sport=49667, chunks=chunks, lost=where)
    alerts = [(a.id, a.src_ip, a.dst_ip) for a in detect([path]).alerts if a.id == DCSYNC]
    assert alerts == [(DCSYNC, WORKSTATION, DC1)]


@pytest.mark.parametrize("where", [30, 1000])
def test_psexec_with_a_segment_lost_inside_the_binary_end_to_end_from_packets(tmp_path: Path, where: int) -> None:
    chunks = copy_then_psexec(8, 1 << 20)
    path = tmp_path / "psexec_loss.pcap"
    _lossy_pcap(path, WORKSTATION, "10.2.0.20", sport=445, chunks=chunks, lost=8 + where)
    got = sorted(a.id for a in detect([path]).alerts if a.id in (REMOTE_EXEC, STAGING))
    assert got == [STAGING, REMOTE_EXEC]


def test_psexec_with_a_segment_lost_inside_an_svcctl_call_end_to_end_from_packets(tmp_path: Path) -> None:
    from tests.dissect.test_smbresync import _svcctl_with_a_long_create

    chunks = segments(_svcctl_with_a_long_create(3000))
    create = next(i for i, (_, seg) in enumerate(chunks) if seg and b"\x41" * 1400 in seg)
    path = tmp_path / "svcctl_loss.pcap"
    _lossy_pcap(path, WORKSTATION, "10.2.0.20", sport=445, chunks=chunks, lost=create + 1)
    alerts = [a for a in detect([path]).alerts if a.id == REMOTE_EXEC]
    assert [a.evidence["operation"] for a in alerts] == ["StartServiceW"]


def test_a_super_packet_after_a_hole_is_read_whole_whatever_its_size() -> None:
    """One delivery of more than a fragment's bound after the hole (GRO/TSO): every PDU in it is read."""
    state: dict[str, Any] = {}
    feed([(True, bind([(0, DRSUAPI, 4)])), (False, bind_ack("49667", [0]))], state)
    pdus = b"".join(request(0, 3, b"\x50" * 30000, call_id=10 + i) for i in range(3))
    got = calls(feed([(True, GAP), (True, b"\x99" * 500 + pdus)], state))
    assert got == [("request", "DRSGetNCChanges", 1)] * 3 and not state.get("done")
