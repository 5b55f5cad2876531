"""SSH past a lost segment (issues #3/#4): the hole costs its direction what it was in, not the flow; before its
identification string the direction reads on from the next line or segment that is one (dissect/ssh.banner_at),
before its KEXINIT from the next segment that begins one (dissect/ssh.kexinit_at), the other direction as before.
Built connections go through the default engine with segments left out (tests/engine/losscheck.session) or straight
to the dissector (tests/dissect/gapfeed.converse)."""

from __future__ import annotations

import json
import random
import struct
from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.ssh import MAX_BANNER, SshDissector, banner_at, kexinit_at
from iotwarden.lab import proto_app
from iotwarden.model import Observation
from tests.dissect.gapfeed import GAP, Chunk, converse, lose, segments
from tests.engine.losscheck import assert_loss_adds_nothing, gaps_among_junk, segment_count, segments_of, session

PORT = 22
RNG = random.Random(22)
CLIENT_KEX, SERVER_KEX = proto_app.ssh_kexinit(RNG), proto_app.ssh_kexinit(RNG)
# the client's KEXDH_INIT-sized packet, then encrypted bytes both ways (RFC 4253 §7-8)
EXCHANGE = [(False, b"SSH-2.0-dropbear_2022.83\r\n"), (True, b"SSH-2.0-OpenSSH_9.6 Ubuntu-3\r\n"),
            (False, SERVER_KEX), (True, CLIENT_KEX),
            (True, struct.pack("!IB", 44, 6) + b"\x1e" + RNG.randbytes(43)),
            (False, RNG.randbytes(600)), (True, RNG.randbytes(300))]
SEGMENT = 48


def _keys(observations: list[Observation]) -> Counter[tuple[Any, ...]]:
    return Counter((o.kind, json.dumps(o.fields, sort_keys=True)) for o in observations if o.proto == "ssh")


def _read(observations: list[Observation]) -> list[tuple[str, str]]:
    return sorted((o.kind, o.fields["role"]) for o in observations if o.proto == "ssh")


ALL = [("banner", "client"), ("banner", "server"), ("kexinit", "client"), ("kexinit", "server")]


def test_a_whole_connection_reads_both_banners_and_kexinits() -> None:
    assert _read(session(EXCHANGE, PORT, segment=SEGMENT)) == ALL


def test_a_lost_banner_costs_only_that_banner() -> None:
    whole = _keys(session(EXCHANGE, PORT, segment=SEGMENT))
    cut = segments(EXCHANGE, SEGMENT)
    for index, role in ((0, "server"), (1, "client")):
        for lost in segments_of(EXCHANGE, index, SEGMENT):
            for lossy in (session(EXCHANGE, PORT, (lost,), segment=SEGMENT),
                          converse(SshDissector(), lose(cut, lost), None, PORT)):
                assert not _keys(lossy) - whole, lost
                assert _read(lossy) == [r for r in ALL if r != ("banner", role)], lost


def test_a_hole_in_a_kexinit_costs_only_that_kexinit() -> None:
    whole = _keys(session(EXCHANGE, PORT, segment=SEGMENT))
    cut = segments(EXCHANGE, SEGMENT)
    for index, role in ((2, "server"), (3, "client")):
        for lost in segments_of(EXCHANGE, index, SEGMENT):
            lossy = converse(SshDissector(), lose(cut, lost), None, PORT)
            assert not _keys(lossy) - whole, lost
            assert _read(lossy) == [r for r in ALL if r != ("kexinit", role)], lost


def test_lines_before_the_banner_cut_by_a_hole_are_skipped() -> None:
    chunks: list[Chunk] = [(False, b"Welcome to the appliance\r\nAuthorised "), (False, GAP),
                           (False, b"only\r\nSSH-9.9-x\r\nSSH-2.0-dropbear_2022.83\r\n"), (False, SERVER_KEX)]
    got = converse(SshDissector(), chunks, None, PORT)
    assert [(o.kind, o.fields.get("software")) for o in got] == [("banner", "dropbear_2022.83"), ("kexinit", None)]


def test_past_a_hole_look_alikes_are_not_taken() -> None:
    # a KEXINIT only at a segment start; a banner line's tail, a packet of another type, encrypted bytes are none
    fake = struct.pack("!IB", 28, 6) + b"\x14" + b"\x00" * 27  # byte 20 but no name-lists
    chunks: list[Chunk] = [(True, b"SSH-2.0-a\r\n"), (True, GAP), (True, RNG.randbytes(40) + CLIENT_KEX),
                           (True, fake), (True, b"\x00\x00\x00\x0c\x0a\x15" + b"\x00" * 10)]
    assert [o.kind for o in converse(SshDissector(), chunks, None, PORT)] == ["banner"]
    chunks = [(True, GAP), (True, b"-2.0-OpenSSH_9.6\r\n"), (True, CLIENT_KEX)]  # the banner's tail: no banner
    assert [o.kind for o in converse(SshDissector(), chunks, None, PORT)] == ["kexinit"]


def test_banner_at_and_kexinit_at_validate_harder_than_in_sync() -> None:
    assert banner_at(bytearray(b"SSH-2.0-OpenSSH_9.6 Ubuntu\r\n"), 0) is True
    assert banner_at(bytearray(b"SSH-2.0-OpenSSH"), 0) is None  # not ended yet
    assert banner_at(bytearray(b"SSH-2.0-" + b"x" * MAX_BANNER), 0) is False  # over its limit
    assert banner_at(bytearray(b"SSH-3.0-x\r\n"), 0) is False  # no such protoversion
    assert banner_at(bytearray(b"SSH-2.0-\r\n"), 0) is False  # no softwareversion
    kex = bytearray(CLIENT_KEX)
    assert kexinit_at(kex, 0) is True
    assert kexinit_at(kex[:50], 0) is None
    assert kexinit_at(kex + b"\x00", 1) is False
    bad = bytearray(kex)
    bad[-bad[4] - 1] = 9  # the reserved uint32 not 0
    assert kexinit_at(bad, 0) is False
    assert kexinit_at(bytearray(struct.pack("!IB", 29, 6) + b"\x14" + b"\x00" * 28), 0) is False  # not 8-aligned


def test_a_gap_after_a_direction_s_kexinit_changes_nothing_and_a_candidate_waits_within_max_buffer() -> None:
    d = SshDissector()
    state: dict[str, Any] = {}
    converse(d, [(True, b"SSH-2.0-a\r\n"), (True, CLIENT_KEX)], state, PORT)
    d.gap(state, True)
    assert not state.get("resync_c2s")
    state = {}
    d.gap(state, True)
    big = struct.pack("!IB", 35000 - 4, 8) + b"\x14"  # a KEXINIT header within MAX_PACKET (8-aligned), not whole
    assert converse(d, [(True, big + b"\x00" * 30000)], state, PORT) == []
    assert state["c2s"].startswith(big) and len(state["c2s"]) <= d.max_buffer
    assert converse(d, [(True, b"\x00" * 10000)], state, PORT) == []  # whole: no name-lists, dropped
    assert not state["c2s"] and state["resync_c2s"]


def test_every_single_lost_segment_reads_nothing_the_whole_connection_lacks() -> None:
    cut = segments(EXCHANGE, SEGMENT)
    assert_loss_adds_nothing(_keys, EXCHANGE, PORT, segment=SEGMENT,
                             in_place=lambda lost: converse(SshDissector(), lose(cut, lost), None, PORT))


@settings(max_examples=25, deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=segment_count(EXCHANGE, SEGMENT) - 1), max_size=3))
def test_fuzz_any_segments_lost_no_message_is_read_that_the_whole_connection_does_not_hold(lost: set[int]) -> None:
    assert_loss_adds_nothing(_keys, EXCHANGE, PORT, [tuple(lost)], segment=SEGMENT)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=300), st.booleans(), st.booleans()), max_size=12))
def test_fuzz_gaps_among_arbitrary_bytes_raise_only_parse_errors_and_stay_bounded(
        chunks: list[tuple[bytes, bool, bool]]) -> None:
    gaps_among_junk(SshDissector(), chunks, PORT)
